"""Static checks of generated Lean code that need no Lean toolchain."""

from __future__ import annotations

import re

_IMPORT_MATHLIB = re.compile(r"^\s*import\s+Mathlib(?![.\w])", re.MULTILINE)
_THEOREM = re.compile(
    r"^[ \t]*(?:@\[[^\]]*\][ \t]*)?(?:(?:private|protected|noncomputable|nonrec)\s+)*"
    r"(theorem|lemma)\s+(\S+)",
    re.MULTILINE,
)
# A line that starts the next top-level command, which ends the theorem before it.
_NEXT_COMMAND = re.compile(
    r"^(?:@\[|(?:private|protected|noncomputable)\s|def\s|theorem\s|lemma\s|structure\s|"
    r"class\s|instance\s|abbrev\s|inductive\s|example\s|variable\s|open\s|namespace\s|"
    r"section\s|end\b|#)",
    re.MULTILINE,
)
_SORRY_PROOF = re.compile(r":=\s*(?:by\s+)?sorry\s*\Z")
_SORRY = re.compile(r"\bsorry\b")
FORBIDDEN_WORDS = ("axiom", "admit", "native_decide")


def strip_comments(code: str) -> str:
    """Return the code with line comments, nested block comments and doc comments removed.

    String literals are kept as they are, so a `--` inside a string does not start a
    comment. Removed comments become one space, or their newlines, to keep line starts.
    """
    output: list[str] = []
    index = 0
    length = len(code)
    while index < length:
        if code.startswith("/-", index):
            index = _skip_block_comment(code, index, output)
        elif code.startswith("--", index):
            newline = code.find("\n", index)
            index = length if newline < 0 else newline
        elif code[index] == '"':
            index = _copy_string(code, index, output)
        else:
            output.append(code[index])
            index += 1
    return "".join(output)


def _skip_block_comment(code: str, index: int, output: list[str]) -> int:
    depth = 0
    while index < len(code):
        if code.startswith("/-", index):
            depth += 1
            index += 2
        elif code.startswith("-/", index):
            depth -= 1
            index += 2
            if depth == 0:
                break
        else:
            if code[index] == "\n":
                output.append("\n")
            index += 1
    output.append(" ")
    return index


def _copy_string(code: str, index: int, output: list[str]) -> int:
    end = index + 1
    while end < len(code) and code[end] != '"':
        end += 2 if code[end] == "\\" else 1
    output.append(code[index : end + 1])
    return end + 1


def structural_problems(code: str) -> list[str]:
    """List the ways the code breaks the target conventions, or an empty list.

    The conventions: the file imports Mathlib, declares exactly one `theorem` or `lemma`,
    proves it with `sorry` and uses `sorry` nowhere else, and never uses `axiom`, `admit`
    or `native_decide`. These are textual checks. Only Lean itself can tell whether the
    code compiles.
    """
    body = strip_comments(code)
    problems: list[str] = []

    if not _IMPORT_MATHLIB.search(body):
        problems.append("missing `import Mathlib`")

    theorems = list(_THEOREM.finditer(body))
    if len(theorems) != 1:
        names = ", ".join(match.group(2) for match in theorems) or "none"
        problems.append(f"expected exactly one theorem or lemma, found {len(theorems)} ({names})")
    if len(theorems) == 1:
        problems.extend(_proof_problems(body, theorems[0]))

    for word in FORBIDDEN_WORDS:
        if re.search(rf"\b{word}\b", body):
            problems.append(f"uses forbidden `{word}`")
    return problems


def _proof_problems(body: str, theorem: re.Match[str]) -> list[str]:
    following = _NEXT_COMMAND.search(body, theorem.end())
    end = following.start() if following else len(body)
    declaration = body[theorem.start() : end].rstrip()

    problems = []
    if not _SORRY_PROOF.search(declaration):
        problems.append(f"the proof of {theorem.group(2)} is not exactly `sorry`")
    sorry_count = len(_SORRY.findall(body))
    if sorry_count > 1:
        problems.append(f"`sorry` occurs {sorry_count} times; only the theorem's proof may use it")
    return problems

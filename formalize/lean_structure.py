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

# A local declaration that the target may add: its keyword and written name.
_LOCAL_DECLARATION = re.compile(
    r"^[ \t]*(?:@\[[^\]]*\][ \t]*)?(?:(?:private|protected|noncomputable|nonrec|partial)\s+)*"
    r"(def|abbrev|structure|class|inductive)\s+([^\s:({\[]+)",
    re.MULTILINE,
)
_SCOPE = re.compile(r"^[ \t]*(namespace|section|end)\b[ \t]*([^\s]*)", re.MULTILINE)
# One component of a Lean name: a letter or '_' first, then letters, digits, '_', '\'',
# '!', '?' or subscripts. Lean also accepts «any text» components, which this rejects.
_NAME_COMPONENT = r"[^\W\d][\w'!?\u2080-\u209c]*"
_NAME = re.compile(rf"{_NAME_COMPONENT}(?:\.{_NAME_COMPONENT})*")
_ROOT_PREFIX = "_root_."


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


def structural_problems(code: str, local_definitions: list[str] | None = None) -> list[str]:
    """List the ways the code breaks the target conventions, or an empty list.

    The conventions: the file imports Mathlib, declares exactly one `theorem` or `lemma`,
    proves it with `sorry` and uses `sorry` nowhere else, and never uses `axiom`, `admit`
    or `native_decide`. Every declared or listed local definition must exist and be used
    by the theorem, directly or through another local definition, and the theorem,
    definition and namespace names must be well-formed Lean names. These are textual
    checks. Only Lean itself can tell whether the code compiles.
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

    problems.extend(_name_problems(body, theorems))
    if len(theorems) == 1:
        problems.extend(_unused_definitions(body, theorems[0], local_definitions or []))
    return problems


def theorem_name(code: str) -> str | None:
    """Return the fully qualified name of the file's only theorem, or None unless there is exactly one.

    The name is prefixed with the namespaces open at the declaration, so
    `namespace A.B` ... `theorem t` gives "A.B.t", and a `_root_.` prefix drops them.
    """
    body = strip_comments(code)
    theorems = list(_THEOREM.finditer(body))
    if len(theorems) != 1:
        return None
    name = _declared_name(theorems[0].group(2))
    if name.startswith(_ROOT_PREFIX):
        return name[len(_ROOT_PREFIX) :]
    return ".".join([*_namespaces_at(body, theorems[0].start()), name])


def _declared_name(token: str) -> str:
    """Cut a declaration's name token at the first character that cannot be part of a name."""
    return re.split(r"[\s:({\[⦃]", token, maxsplit=1)[0]


def _namespaces_at(body: str, position: int) -> list[str]:
    """Return the namespace components open at `position`, outermost first."""
    stack: list[tuple[str, list[str]]] = []  # (keyword, components) for namespace and section
    for match in _SCOPE.finditer(body, 0, position):
        keyword, name = match.group(1), match.group(2)
        if keyword in ("namespace", "section"):
            stack.append((keyword, name.split(".") if keyword == "namespace" and name else []))
        elif stack:
            stack.pop()
    return [component for keyword, components in stack if keyword == "namespace" for component in components]


def _name_problems(body: str, theorems: list[re.Match[str]]) -> list[str]:
    problems = []
    for match in theorems:
        name = _declared_name(match.group(2))
        if name.startswith(_ROOT_PREFIX):
            name = name[len(_ROOT_PREFIX) :]
        if not _NAME.fullmatch(name):
            problems.append(f"the theorem name {match.group(2)!r} is not a well-formed Lean name")
    for match in _LOCAL_DECLARATION.finditer(body):
        if not _NAME.fullmatch(_declared_name(match.group(2))):
            problems.append(f"the {match.group(1)} name {match.group(2)!r} is not a well-formed Lean name")

    opened: list[str] = []
    for match in _SCOPE.finditer(body):
        keyword, name = match.group(1), match.group(2)
        if keyword == "namespace":
            if not _NAME.fullmatch(name):
                problems.append(f"the namespace name {name!r} is not a well-formed Lean name")
            opened.append(name)
        elif keyword == "section":
            opened.append(name)
        elif not opened:
            problems.append(f"`end {name}` closes no open namespace or section")
        else:
            expected = opened.pop()
            if name != expected:
                problems.append(f"`end {name}` does not match the open `{expected}`; write `end {expected}`")
    for name in opened:
        problems.append(f"namespace or section `{name}` is never closed with `end {name}`")
    return problems


def _unused_definitions(body: str, theorem: re.Match[str], listed: list[str]) -> list[str]:
    """List local definitions that are missing or that the theorem never reaches."""
    spans = _declaration_spans(body)
    declared = {name: text for _, _, name, text in spans if name is not None}
    problems = [
        f"local definition `{name}` is listed in local_definitions but not declared in lean_code"
        for name in listed
        if name not in declared and not any(d.endswith("." + name) for d in declared)
    ]

    theorem_text = next(text for start, end, _, text in spans if start <= theorem.start() < end)
    reached: set[str] = set()
    frontier = [theorem_text]
    while frontier:
        text = frontier.pop()
        for name, definition in declared.items():
            if name not in reached and _mentions(text, name):
                reached.add(name)
                frontier.append(definition)
    for name in declared:
        if name not in reached:
            problems.append(f"local definition `{name}` is never used by the theorem")
    return problems


def _declaration_spans(body: str) -> list[tuple[int, int, str | None, str]]:
    """Split the code into top-level commands: (start, end, local definition name or None, text)."""
    starts = [0] + [match.start() for match in _NEXT_COMMAND.finditer(body)] + [len(body)]
    spans: list[tuple[int, int, str | None, str]] = []
    for start, end in zip(starts, starts[1:]):
        text = body[start:end]
        match = _LOCAL_DECLARATION.match(text)
        spans.append((start, end, _declared_name(match.group(2)) if match else None, text))
    return spans


def _mentions(text: str, name: str) -> bool:
    """Return whether `text` uses `name`, alone or as the last part of a qualified name."""
    short = name.rsplit(".", 1)[-1]
    return bool(re.search(rf"(?<![\w'])(?:{re.escape(name)}|{re.escape(short)})(?![\w'])", text))


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

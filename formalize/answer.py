"""Parse a language model's answer into an informal statement and Lean code."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from kg.errors import LlmError

# A Markdown code fence: the info string (language) and the body.
_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)```", re.DOTALL)
_LEAN_LANGUAGES = {"lean", "lean4"}
_JSON_LANGUAGES = {"json", ""}
# Local declarations the lean-fence fallback reports as local definitions.
_LOCAL_DECLARATION = re.compile(
    r"^\s*(?:noncomputable\s+)?(?:def|structure|abbrev|class|inductive)\s+([^\s:({\[]+)",
    re.MULTILINE,
)
RAW_ANSWER_LIMIT = 500

# The JSON schema of an answer, sent as structured output where the endpoint supports it.
# Strict structured output requires every property to be listed as required.
ANSWER_SCHEMA: dict = {
    "type": "object",
    "properties": {
        "informal_statement": {"type": "string"},
        "lean_code": {"type": "string"},
        "local_definitions": {"type": "array", "items": {"type": "string"}},
        "assumptions": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["informal_statement", "lean_code", "local_definitions", "assumptions"],
    "additionalProperties": False,
}


class AnswerParseError(LlmError):
    """An error for a model answer that contains neither the answer JSON object nor a Lean code block.

    `reason` is the last problem found, such as "missing lean_code".
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass
class ParsedAnswer:
    """The fields of an answer, and which of the accepted forms it came in."""

    informal_statement: str
    lean_code: str
    local_definitions: list[str] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    source_format: str = "json"  # "json", "json fence" or "lean fence"


def parse_answer(text: str) -> ParsedAnswer:
    """Parse an answer in the first form that fits.

    The forms are tried in this order: the whole text as a JSON object, a ```json fence
    (or an unlabelled fence) containing one, the span from the first `{` to the last `}`,
    and finally a ```lean fence, in which case the text around the fence becomes the
    informal statement. Raises AnswerParseError quoting the start of the answer when none fits.
    """
    stripped = text.strip()
    problems: list[str] = []

    for source_format, candidate in _labelled_json_candidates(stripped):
        try:
            return _from_json(candidate, source_format)
        except ValueError as error:
            problems.append(str(error))

    parsed = _from_lean_fence(stripped)
    if parsed is not None:
        return parsed

    reason = problems[-1] if problems else "empty answer"
    raise AnswerParseError(
        f"The model's answer could not be parsed ({reason}). Expected a JSON object with "
        f"informal_statement and lean_code, or a ```lean code block. "
        f"Answer started with: {_truncate(stripped)!r}",
        reason,
    )


def json_candidates(text: str) -> list[str]:
    """Return the texts that may hold the answer's JSON object, most likely first.

    They are the whole text, the body of each ```json or unlabelled fence, and the
    span from the first `{` to the last `}`.
    """
    return [candidate for _, candidate in _labelled_json_candidates(text.strip())]


def _labelled_json_candidates(stripped: str) -> list[tuple[str, str]]:
    candidates = [("json", stripped)]
    for language, body in _fences(stripped):
        if language in _JSON_LANGUAGES:
            candidates.append(("json fence", body))
    first, last = stripped.find("{"), stripped.rfind("}")
    if 0 <= first < last:
        candidates.append(("json", stripped[first : last + 1]))
    return candidates


def _fences(text: str) -> list[tuple[str, str]]:
    return [(match.group(1).lower(), match.group(2)) for match in _FENCE.finditer(text)]


def _from_json(candidate: str, source_format: str) -> ParsedAnswer:
    """Build a ParsedAnswer from JSON text, or raise ValueError saying what is wrong."""
    try:
        data = json.loads(candidate)
    except json.JSONDecodeError as error:
        raise ValueError(f"invalid JSON: {error.msg} at line {error.lineno}") from error
    if not isinstance(data, dict):
        raise ValueError(f"JSON value is a {type(data).__name__}, not an object")

    lean_code = data.get("lean_code")
    if not isinstance(lean_code, str) or not lean_code.strip():
        raise ValueError("JSON object has no non-empty string lean_code")
    informal = data.get("informal_statement", "")
    if not isinstance(informal, str):
        raise ValueError("informal_statement is not a string")

    return ParsedAnswer(
        informal_statement=informal.strip(),
        lean_code=_unfence_lean(lean_code),
        local_definitions=_string_list(data, "local_definitions"),
        assumptions=_string_list(data, "assumptions"),
        source_format=source_format,
    )


def _string_list(data: dict, key: str) -> list[str]:
    value = data.get(key, [])
    if isinstance(value, str):
        return [value] if value.strip() else []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"{key} is not a list of strings")
    return [item.strip() for item in value if item.strip()]


def _unfence_lean(code: str) -> str:
    """Return the body of a ```lean fence when the model wrapped lean_code in one."""
    for language, body in _fences(code):
        if language in _LEAN_LANGUAGES:
            return body.strip() + "\n"
    return code.strip() + "\n"


def _from_lean_fence(text: str) -> ParsedAnswer | None:
    match = next((m for m in _FENCE.finditer(text) if m.group(1).lower() in _LEAN_LANGUAGES), None)
    if match is None:
        return None
    lean_code = match.group(2).strip()
    if not lean_code:
        return None

    informal = (text[: match.start()] + "\n" + text[match.end() :]).strip()
    return ParsedAnswer(
        informal_statement=informal,
        lean_code=lean_code + "\n",
        local_definitions=_LOCAL_DECLARATION.findall(lean_code),
        assumptions=[],
        source_format="lean fence",
    )


def _truncate(text: str) -> str:
    return text if len(text) <= RAW_ANSWER_LIMIT else text[:RAW_ANSWER_LIMIT] + "..."

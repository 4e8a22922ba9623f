"""The semantic review: a second model call reads the Lean target back and judges its faithfulness."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from formalize.answer import json_candidates
from kg.errors import LlmError

FAITHFUL = "faithful"
WEAKER = "weaker"
STRONGER = "stronger"
DIFFERENT = "different"
VERDICTS: tuple[str, ...] = (FAITHFUL, WEAKER, STRONGER, DIFFERENT)

REVIEW_SCHEMA: dict = {
    "type": "object",
    "properties": {
        "back_translation": {"type": "string"},
        "verdict": {"type": "string", "enum": list(VERDICTS)},
        "reasons": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["back_translation", "verdict", "reasons"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class Review:
    """The reviewer's English reading of the Lean target, its verdict and the reasons for it."""

    back_translation: str
    verdict: str  # one of VERDICTS
    reasons: list[str] = field(default_factory=list)

    def report(self) -> str:
        """Return the review as the text of a check record."""
        reasons = "\n".join(f"- {reason}" for reason in self.reasons) or "- none given"
        return f"Verdict: {self.verdict}\nBack-translation: {self.back_translation}\nReasons:\n{reasons}"


def parse_review(text: str) -> Review:
    """Parse a review answer: a JSON object, bare or in a fence. Raises LlmError when none fits."""
    problem = "empty answer"
    for candidate in json_candidates(text):
        try:
            data = json.loads(candidate)
        except json.JSONDecodeError as error:
            problem = f"invalid JSON: {error.msg} at line {error.lineno}"
            continue
        if not isinstance(data, dict):
            problem = f"JSON value is a {type(data).__name__}, not an object"
            continue
        verdict = str(data.get("verdict", "")).strip().lower()
        if verdict not in VERDICTS:
            problem = f"verdict {data.get('verdict')!r} is not one of {', '.join(VERDICTS)}"
            continue
        reasons = data.get("reasons", [])
        if isinstance(reasons, str):
            reasons = [reasons]
        if not isinstance(reasons, list):
            problem = "reasons is not a list of strings"
            continue
        return Review(
            back_translation=str(data.get("back_translation", "")).strip(),
            verdict=verdict,
            reasons=[str(reason).strip() for reason in reasons if str(reason).strip()],
        )
    raise LlmError(f"The semantic review answer could not be parsed ({problem}): {text.strip()[:300]!r}")

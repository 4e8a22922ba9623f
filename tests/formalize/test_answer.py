from __future__ import annotations

import json

import pytest

from formalize.answer import RAW_ANSWER_LIMIT, parse_answer
from kg.errors import LlmError

LEAN_CODE = """import Mathlib

namespace ConvexSets.Theorem1_3

theorem inter_convex {E : Type*} [AddCommGroup E] [Module ℝ E] (S : Set (Set E))
    (h : ∀ s ∈ S, Convex ℝ s) : Convex ℝ (⋂₀ S) := by
  sorry

end ConvexSets.Theorem1_3
"""

ANSWER = {
    "informal_statement": "The intersection of any family of convex sets is convex.",
    "lean_code": LEAN_CODE,
    "local_definitions": [],
    "assumptions": ["The vector space is over the real numbers."],
}


def test_parse_plain_json_object():
    parsed = parse_answer(json.dumps(ANSWER))

    assert parsed.source_format == "json"
    assert parsed.informal_statement == ANSWER["informal_statement"]
    assert parsed.lean_code == LEAN_CODE
    assert parsed.local_definitions == []
    assert parsed.assumptions == ["The vector space is over the real numbers."]


def test_parse_json_in_fence_with_prose():
    text = "Here is the formalization.\n\n```json\n" + json.dumps(ANSWER, indent=2) + "\n```\nDone."

    parsed = parse_answer(text)

    assert parsed.source_format == "json fence"
    assert parsed.lean_code == LEAN_CODE
    assert parsed.assumptions == ANSWER["assumptions"]


def test_parse_json_after_prose_without_fence():
    text = "Sure! " + json.dumps(ANSWER) + " Hope this helps."

    parsed = parse_answer(text)

    assert parsed.lean_code == LEAN_CODE


def test_parse_unwraps_lean_fence_inside_lean_code():
    answer = dict(ANSWER, lean_code="```lean\n" + LEAN_CODE + "```")

    parsed = parse_answer(json.dumps(answer))

    assert parsed.lean_code == LEAN_CODE


def test_parse_lean_fence_fallback():
    text = (
        "The intersection of convex sets is convex.\n\n"
        "```lean4\nimport Mathlib\n\n/-- A cone. -/\ndef IsCone (s : Set ℝ) : Prop := True\n"
        "theorem t : True := sorry\n```\n"
        "This uses Mathlib's `Convex`."
    )

    parsed = parse_answer(text)

    assert parsed.source_format == "lean fence"
    assert parsed.lean_code.startswith("import Mathlib")
    assert parsed.lean_code.endswith("theorem t : True := sorry\n")
    assert "intersection of convex sets is convex" in parsed.informal_statement
    assert "This uses Mathlib" in parsed.informal_statement
    assert "```" not in parsed.informal_statement
    assert parsed.local_definitions == ["IsCone"]
    assert parsed.assumptions == []


def test_parse_incomplete_json_uses_lean_fence():
    text = '{"informal_statement": "x"}\n```lean\ntheorem t : True := sorry\n```'

    parsed = parse_answer(text)

    assert parsed.source_format == "lean fence"
    assert parsed.lean_code == "theorem t : True := sorry\n"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "I cannot formalize this statement.",
        '{"informal_statement": "only prose"}',
        '{"lean_code": 42}',
        '{"lean_code": "theorem t : True := sorry", "assumptions": [1, 2]}',
        "[1, 2, 3]",
        "```python\nprint('no lean here')\n```",
    ],
)
def test_parse_garbage_raises_llm_error(text: str):
    with pytest.raises(LlmError, match="could not be parsed"):
        parse_answer(text)


def test_parse_error_quotes_truncated_answer():
    text = "nonsense " * 200

    with pytest.raises(LlmError) as raised:
        parse_answer(text)

    message = str(raised.value)
    assert "Answer started with: 'nonsense nonsense" in message
    assert len(message) < RAW_ANSWER_LIMIT + 400

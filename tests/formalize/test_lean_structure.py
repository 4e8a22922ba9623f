from __future__ import annotations

import pytest

from formalize.lean_structure import strip_comments, structural_problems

GOOD = """import Mathlib

open Set

namespace ConvexSets.Theorem1_3

/-- A set is `midpoint closed` if it contains the midpoint of any two of its points.
This doc comment mentions theorem, axiom and sorry, which must not count. -/
def MidpointClosed (s : Set ℝ) : Prop :=
  ∀ x ∈ s, ∀ y ∈ s, (x + y) / 2 ∈ s

-- a line comment: lemma extra : True := sorry
theorem midpoint_closed_inter (s t : Set ℝ) (hs : MidpointClosed s) (ht : MidpointClosed t) :
    MidpointClosed (s ∩ t) := by
  sorry

end ConvexSets.Theorem1_3
"""


def test_structure_accepts_conventional_target():
    assert structural_problems(GOOD) == []


def test_structure_accepts_term_mode_lemma():
    code = "import Mathlib\n\nlemma one_add_one : 1 + 1 = 2 := sorry\n"

    assert structural_problems(code) == []


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (GOOD.replace("import Mathlib", "import Mathlib.Tactic.Ring\nimport Std"), "missing `import Mathlib`"),
        (GOOD.replace("theorem midpoint_closed_inter", "def midpoint_closed_inter"), "found 0"),
        (GOOD + "\ntheorem second : True := sorry\n", "found 2 (midpoint_closed_inter, second)"),
        (GOOD.replace("  sorry\n", "  simp [MidpointClosed]\n"), "is not exactly `sorry`"),
        (GOOD.replace("  sorry\n", "  sorry\n  done\n"), "is not exactly `sorry`"),
        (GOOD.replace("(x + y) / 2 ∈ s", "sorry"), "`sorry` occurs 2 times"),
        (GOOD.replace("open Set", "axiom choice_for_free : False"), "uses forbidden `axiom`"),
        (GOOD.replace("  sorry\n", "  admit\n"), "uses forbidden `admit`"),
        (GOOD.replace("def MidpointClosed", "example : 2 + 2 = 4 := by native_decide\n\ndef MidpointClosed"),
         "uses forbidden `native_decide`"),
    ],
)
def test_structure_reports_problem(code: str, expected: str):
    problems = structural_problems(code)

    assert any(expected in problem for problem in problems), problems


def test_strip_comments_nesting_and_strings():
    code = 'a /- outer /- inner -/ still comment -/ b -- tail\nc "-- not a comment" d'

    stripped = strip_comments(code)

    assert "outer" not in stripped
    assert "still comment" not in stripped
    assert "tail" not in stripped
    assert stripped.startswith("a ")
    assert '"-- not a comment"' in stripped
    assert stripped.count("\n") == 1

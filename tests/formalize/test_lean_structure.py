from __future__ import annotations

import pytest

from formalize.lean_structure import strip_comments, structural_problems, theorem_name

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
        (GOOD.replace("-- a line comment", "def Unused : ℕ := 3\n\n-- a line comment"),
         "local definition `Unused` is never used by the theorem"),
        (GOOD.replace("(hs : MidpointClosed s) (ht : MidpointClosed t) :\n    MidpointClosed (s ∩ t)",
                      ": (s ∩ t) ⊆ s"),
         "local definition `MidpointClosed` is never used by the theorem"),
        (GOOD.replace("theorem midpoint_closed_inter", "theorem 2nd_try"), "theorem name '2nd_try' is not a well-formed"),
        (GOOD.replace("def MidpointClosed", "def Midpoint-Closed"), "def name 'Midpoint-Closed' is not a well-formed"),
        (GOOD.replace("end ConvexSets.Theorem1_3", "end ConvexSets"), "`end ConvexSets` does not match"),
        (GOOD.replace("end ConvexSets.Theorem1_3", ""), "is never closed"),
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


def test_local_definition_used_through_another():
    code = GOOD.replace(
        "def MidpointClosed",
        "def Midpoint (x y : ℝ) : ℝ := (x + y) / 2\n\ndef MidpointClosed",
    ).replace("(x + y) / 2 ∈ s", "Midpoint x y ∈ s")

    assert structural_problems(code, ["Midpoint", "MidpointClosed"]) == []


def test_listed_definition_must_be_declared():
    problems = structural_problems(GOOD, ["MidpointClosed", "ConvexHull"])

    assert problems == ["local definition `ConvexHull` is listed in local_definitions but not declared in lean_code"]


def test_theorem_name_is_qualified():
    assert theorem_name(GOOD) == "ConvexSets.Theorem1_3.midpoint_closed_inter"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("import Mathlib\ntheorem top_level : True := sorry\n", "top_level"),
        ("namespace A\nsection S\nnamespace B\nlemma x.y : True := sorry\nend B\nend S\nend A\n", "A.B.x.y"),
        ("namespace A\nend A\nnamespace C\ntheorem t : True := sorry\nend C\n", "C.t"),
        ("namespace A\ntheorem _root_.Real.t : True := sorry\nend A\n", "Real.t"),
        ("namespace A\ntheorem t(x : ℕ) : x = x := sorry\nend A\n", "A.t"),
        ("theorem a : True := sorry\ntheorem b : True := sorry\n", None),
    ],
)
def test_theorem_name_cases(code, expected):
    assert theorem_name(code) == expected

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from formalize.lean_project import (
    COMPILED,
    FAILED,
    NOT_CHECKED,
    LeanProject,
    bundled_lean_template,
    module_component,
    target_file_name,
)
from kg.errors import LeanCheckError
from tests.formalize.conftest import BOOK_ID, sample_book

GOOD_CODE = "import Mathlib\n\nnamespace T\n\ntheorem t : 1 + 1 = 2 := by\n  sorry\n\nend T\n"

needs_lake = pytest.mark.skipif(shutil.which("lake") is None, reason="no Lean toolchain: `lake` is not on PATH")


@pytest.fixture
def project(tmp_path: Path) -> LeanProject:
    return LeanProject(tmp_path / "workspace" / "lean", bundled_lean_template())


@pytest.fixture
def no_lake(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hide any Lean toolchain, as on a machine without Lean."""
    monkeypatch.setattr(shutil, "which", lambda name, *args, **kwargs: None)


def test_bundled_template_is_complete():
    template = bundled_lean_template()

    assert (template / "lakefile.toml").is_file()
    assert (template / "lean-toolchain").is_file()
    assert (template / "Lemmagraph.lean").is_file()
    assert (template / "Lemmagraph" / "Targets" / ".gitkeep").is_file()


def test_template_mathlib_matches_toolchain():
    import tomllib

    template = bundled_lean_template()
    lakefile = tomllib.loads((template / "lakefile.toml").read_text())
    toolchain = (template / "lean-toolchain").read_text().strip()

    assert lakefile["name"] == "lemmagraph_targets"
    (mathlib,) = [require for require in lakefile["require"] if require["name"] == "mathlib"]
    assert mathlib["git"] == "https://github.com/leanprover-community/mathlib4.git"
    assert toolchain == f"leanprover/lean4:{mathlib['rev']}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("convex-sets", "ConvexSets"), ("oor", "Oor"), ("2024.notes_v2", "X2024NotesV2"), ("---", "X")],
)
def test_module_component_is_lean_identifier(text: str, expected: str):
    assert module_component(text) == expected


def test_target_file_names():
    definition, lemma, _ = sample_book().entities
    unnumbered = type(lemma)(**{**vars(lemma), "kind": "remark", "number": None, "order": 17})
    lettered = type(lemma)(**{**vars(lemma), "number": "A.3(b)"})

    assert target_file_name(definition) == "Definition1_1.lean"
    assert target_file_name(lemma) == "Lemma1_2.lean"
    assert target_file_name(unnumbered) == "Remark17.lean"
    assert target_file_name(lettered) == "LemmaA_3_b.lean"


def test_write_target_copies_template_and_writes_file(project: LeanProject):
    lemma = sample_book().entities[1]

    path = project.write_target(BOOK_ID, lemma, GOOD_CODE)

    assert path == project.root / "Lemmagraph" / "Targets" / "ConvexSets" / "Lemma1_2.lean"
    assert path.read_text(encoding="utf-8") == GOOD_CODE
    assert (project.root / "lakefile.toml").is_file()
    assert (project.root / "lean-toolchain").is_file()


def test_write_target_keeps_workspace_edits(project: LeanProject):
    lemma = sample_book().entities[1]
    project.ensure()
    lakefile = project.root / "lakefile.toml"
    lakefile.write_text("# edited by the user\n", encoding="utf-8")

    project.write_target(BOOK_ID, lemma, GOOD_CODE)

    assert lakefile.read_text(encoding="utf-8") == "# edited by the user\n"


def test_write_target_overwrites_previous_attempt(project: LeanProject):
    lemma = sample_book().entities[1]
    project.write_target(BOOK_ID, lemma, "first attempt\n")

    path = project.write_target(BOOK_ID, lemma, GOOD_CODE)

    assert path.read_text(encoding="utf-8") == GOOD_CODE


def test_missing_template_raises(tmp_path: Path):
    project = LeanProject(tmp_path / "lean", tmp_path / "no-template")

    with pytest.raises(LeanCheckError, match="has no lakefile.toml"):
        project.ensure()


def test_check_without_lake_is_not_checked(project: LeanProject, no_lake: None):
    path = project.write_target(BOOK_ID, sample_book().entities[1], GOOD_CODE)

    check = project.check(path)

    assert check.status == NOT_CHECKED
    assert "no Lean toolchain (`lake`) was found on PATH" in check.output
    assert "Structural check passed." in check.output
    assert check.problems == []
    assert not check.ok


def test_check_records_structural_problems(project: LeanProject, no_lake: None):
    code = GOOD_CODE.replace("namespace T", "axiom magic : False\n\nnamespace T")
    path = project.write_target(BOOK_ID, sample_book().entities[1], code)

    check = project.check(path)

    assert check.status == NOT_CHECKED
    assert check.problems == ["uses forbidden `axiom`"]
    assert "Structural check failed:\n- uses forbidden `axiom`" in check.output


def test_check_skips_without_mathlib(project: LeanProject, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(shutil, "which", lambda name, *args, **kwargs: "/opt/elan/bin/lake")
    path = project.write_target(BOOK_ID, sample_book().entities[1], GOOD_CODE)

    check = project.check(path)

    assert check.status == NOT_CHECKED
    assert "lake update" in check.output
    assert "lake exe cache get" in check.output


@pytest.mark.lean
@needs_lake
def test_check_compiles_with_lake(project: LeanProject):
    if not (project.ensure() / ".lake" / "packages" / "mathlib").is_dir():
        pytest.skip(f"Mathlib is not fetched in {project.root}; this test needs a prepared Lean project")
    good = project.write_target(BOOK_ID, sample_book().entities[1], GOOD_CODE)
    broken = project.write_target(BOOK_ID, sample_book().entities[2], GOOD_CODE.replace("1 + 1 = 2", "1 + = 2"))

    good_check = project.check(good)
    broken_check = project.check(broken)

    assert good_check.status == COMPILED, good_check.output
    assert broken_check.status == FAILED
    assert good.with_suffix(".check.log").is_file()


@pytest.fixture
def prepared_project(project: LeanProject) -> LeanProject:
    """The project with the folder that `lake update` creates for Mathlib."""
    (project.ensure() / ".lake" / "packages" / "mathlib").mkdir(parents=True)
    return project


def test_check_runs_lake_env_lean(prepared_project: LeanProject, fake_lake: Path):
    path = prepared_project.write_target(BOOK_ID, sample_book().entities[1], GOOD_CODE)

    check = prepared_project.check(path)

    assert check.status == COMPILED
    assert check.ok
    assert "declaration uses 'sorry'" in check.output
    arguments, working_dir = (fake_lake / "lake-call.txt").read_text().splitlines()
    assert arguments == f"env lean {path.resolve()}"
    assert Path(working_dir).resolve() == prepared_project.root.resolve()
    assert "declaration uses 'sorry'" in path.with_suffix(".check.log").read_text()


def test_check_reports_lean_errors(prepared_project: LeanProject, fake_lake: Path):
    path = prepared_project.write_target(BOOK_ID, sample_book().entities[1], GOOD_CODE + "-- BROKEN\n")

    check = prepared_project.check(path)

    assert check.status == FAILED
    assert "exit status 1" in check.output
    assert "unexpected token" in check.output
    assert "unexpected token" in path.with_suffix(".check.log").read_text()


def test_check_times_out(prepared_project: LeanProject, fake_lake: Path):
    prepared_project.timeout_seconds = 0.5
    path = prepared_project.write_target(BOOK_ID, sample_book().entities[1], GOOD_CODE + "-- SLOW\n")

    check = prepared_project.check(path)

    assert check.status == FAILED
    assert "timed out after 0.5 s" in check.output

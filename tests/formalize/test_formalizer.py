from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from formalize.formalizer import CHECKED, DRAFT, FAILED, Formalizer, target_status
from formalize.lean_project import COMPILED, NOT_CHECKED, LeanCheck, LeanProject, bundled_lean_template
from formalize.lean_project import FAILED as LEAN_FAILED
from formalize.llm import LlmClient, LlmSettings
from formalize.prompt import PromptBuilder
from kg.errors import LlmError
from kg.store import GraphStore
from tests.formalize.conftest import sample_book, theorem_context
from tests.formalize.fake_openai import FakeOpenAI

try:
    from kg.ladybug_store import LadybugStore
except ImportError as error:  # the embedded store is written in parallel with this package
    LadybugStore = None
    LADYBUG_IMPORT_ERROR = str(error)
else:
    LADYBUG_IMPORT_ERROR = ""

pytestmark = pytest.mark.skipif(
    LadybugStore is None, reason=f"kg.ladybug_store is not importable: {LADYBUG_IMPORT_ERROR}"
)

LEAN_CODE = """import Mathlib

namespace ConvexSets.Theorem1_3

theorem sInter_convex {E : Type*} [AddCommGroup E] [Module ℝ E] (S : Set (Set E))
    (h : ∀ s ∈ S, Convex ℝ s) : Convex ℝ (⋂₀ S) := by
  sorry

end ConvexSets.Theorem1_3
"""

ANSWER = {
    "informal_statement": "The intersection of any family of convex subsets of a real vector space is convex.",
    "lean_code": LEAN_CODE,
    "local_definitions": [],
    "assumptions": ["Convexity uses Mathlib's `Convex ℝ`."],
}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[GraphStore]:
    graph_store = LadybugStore(tmp_path / "graph.lbdb")
    graph_store.write_book(sample_book())
    try:
        yield graph_store
    finally:
        graph_store.close()


def build_formalizer(store: GraphStore, server: FakeOpenAI, lean_dir: Path) -> Formalizer:
    settings = LlmSettings(
        base_url=server.base_url, api_key="test-key", model="fake-model", timeout_seconds=5.0, max_retries=0
    )
    lean = LeanProject(lean_dir, bundled_lean_template())
    return Formalizer(store, LlmClient(settings), lean, PromptBuilder())


@pytest.fixture
def formalizer(store: GraphStore, fake_openai: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Formalizer:
    # Hide any Lean toolchain so that every result is a draft, whatever machine runs the test.
    monkeypatch.setattr(shutil, "which", lambda name, *args, **kwargs: None)
    return build_formalizer(store, fake_openai, tmp_path / "lean")


def test_formalizer_stores_draft_target(formalizer: Formalizer, store: GraphStore, fake_openai: FakeOpenAI):
    fake_openai.push_answer(json.dumps(ANSWER), model="fake-model-v1", prompt_tokens=900, completion_tokens=120)
    context = theorem_context(sample_book())

    target = formalizer.run(context)

    assert target.status == DRAFT
    assert target.entity_id == "convex-sets:theorem:1.3"
    assert target.book_id == "convex-sets"
    assert target.informal_statement == ANSWER["informal_statement"]
    assert target.lean_code == LEAN_CODE
    assert target.context_ids == ["convex-sets:definition:1.1", "convex-sets:lemma:1.2"]
    assert target.model == "fake-model-v1"
    assert target.prompt_tokens == 900
    assert target.completion_tokens == 120
    assert target.lean_path == "Lemmagraph/Targets/ConvexSets/Theorem1_3.lean"
    assert (formalizer.lean.root / target.lean_path).read_text(encoding="utf-8") == LEAN_CODE
    assert "no Lean toolchain (`lake`) was found on PATH" in target.check_output
    assert "Convexity uses Mathlib's `Convex ℝ`." in target.check_output


def test_formalizer_target_round_trips(formalizer: Formalizer, store: GraphStore, fake_openai: FakeOpenAI):
    fake_openai.push_answer(json.dumps(ANSWER))

    target = formalizer.run(theorem_context(sample_book()))

    (stored,) = store.targets("convex-sets:theorem:1.3")
    assert stored.id == target.id
    assert stored.status == DRAFT
    assert stored.lean_code == LEAN_CODE
    assert stored.context_ids == target.context_ids
    assert stored.check_output == target.check_output


def test_formalizer_sends_context_in_reading_order(formalizer: Formalizer, fake_openai: FakeOpenAI):
    fake_openai.push_answer(json.dumps(ANSWER))

    formalizer.run(theorem_context(sample_book()))

    (request,) = fake_openai.requests
    user = request.body["messages"][1]["content"]
    assert user.index("## Definition 1.1") < user.index("## Lemma 1.2") < user.index("## Theorem 1.3")


def test_formalizer_attempts_get_distinct_ids(formalizer: Formalizer, store: GraphStore, fake_openai: FakeOpenAI):
    fake_openai.push_answer(json.dumps(ANSWER))
    fake_openai.push_answer(json.dumps(ANSWER))
    context = theorem_context(sample_book())

    first = formalizer.run(context)
    second = formalizer.run(context)

    assert first.id != second.id
    assert first.id.startswith("convex-sets:theorem:1.3:target:")
    assert [target.id for target in store.targets("convex-sets:theorem:1.3")] == [first.id, second.id]


def test_formalizer_stores_unparsed_as_failed(formalizer: Formalizer, store: GraphStore, fake_openai: FakeOpenAI):
    raw = "I am sorry, but I cannot write Lean code for this statement."
    fake_openai.push_answer(raw)

    with pytest.raises(LlmError, match="could not be parsed"):
        formalizer.run(theorem_context(sample_book()))

    (stored,) = store.targets("convex-sets:theorem:1.3")
    assert stored.status == FAILED
    assert stored.lean_code == ""
    assert stored.check_output.endswith(f"Raw answer:\n{raw}")
    assert stored.context_ids == ["convex-sets:definition:1.1", "convex-sets:lemma:1.2"]


def test_formalizer_fails_target_with_axiom(formalizer: Formalizer, store: GraphStore, fake_openai: FakeOpenAI):
    cheating = dict(ANSWER, lean_code=LEAN_CODE.replace("namespace", "axiom everything : False\n\nnamespace", 1))
    fake_openai.push_answer(json.dumps(cheating))

    target = formalizer.run(theorem_context(sample_book()))

    assert target.status == FAILED
    assert "uses forbidden `axiom`" in target.check_output
    assert store.targets("convex-sets:theorem:1.3")[0].status == FAILED


def test_formalizer_request_failure_stores_nothing(formalizer: Formalizer, store: GraphStore, fake_openai: FakeOpenAI):
    fake_openai.push(500, {"error": {"message": "model crashed", "type": "server_error"}})

    with pytest.raises(LlmError, match="HTTP 500"):
        formalizer.run(theorem_context(sample_book()))

    assert store.targets("convex-sets:theorem:1.3") == []


def test_formalizer_marks_compiled_target_checked(
    store: GraphStore, fake_openai: FakeOpenAI, fake_lake: Path, tmp_path: Path
):
    formalizer = build_formalizer(store, fake_openai, tmp_path / "lean")
    (formalizer.lean.ensure() / ".lake" / "packages" / "mathlib").mkdir(parents=True)
    fake_openai.push_answer(json.dumps(ANSWER))

    target = formalizer.run(theorem_context(sample_book()))

    assert target.status == CHECKED
    assert "Lean check passed." in target.check_output
    assert (fake_lake / "lake-call.txt").read_text().startswith("env lean ")


def test_formalizer_marks_lean_error_failed(store: GraphStore, fake_openai: FakeOpenAI, fake_lake: Path, tmp_path: Path):
    formalizer = build_formalizer(store, fake_openai, tmp_path / "lean")
    (formalizer.lean.ensure() / ".lake" / "packages" / "mathlib").mkdir(parents=True)
    fake_openai.push_answer(json.dumps(dict(ANSWER, lean_code=LEAN_CODE + "-- BROKEN\n")))

    target = formalizer.run(theorem_context(sample_book()))

    assert target.status == FAILED
    assert "unexpected token" in target.check_output


@pytest.mark.parametrize(
    ("check", "expected"),
    [
        (LeanCheck(COMPILED, "ok"), CHECKED),
        (LeanCheck(NOT_CHECKED, "no lake"), DRAFT),
        (LeanCheck(LEAN_FAILED, "error"), FAILED),
        (LeanCheck(COMPILED, "ok", problems=["uses forbidden `axiom`"]), FAILED),
        (LeanCheck(NOT_CHECKED, "no lake", problems=["found 2"]), FAILED),
    ],
)
def test_target_status_from_check(check: LeanCheck, expected: str):
    assert target_status(check) == expected

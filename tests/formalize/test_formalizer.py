from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from formalize.checks import is_rejection
from formalize.formalizer import CHECKED, DRAFT, FAILED, Formalizer, formalization_prompt
from formalize.lean_project import LeanProject, bundled_lean_template
from formalize.llm import LlmClient, LlmSettings
from formalize.llm_cache import ResponseCache
from formalize.pricing import ModelPrice
from formalize.prompt import PromptBuilder
from kg.errors import LlmError
from kg.models import CheckRecord
from kg.store import GraphStore
from retrieval.models import Dependency, DependencyContext
from tests.formalize.conftest import sample_book, theorem_context
from tests.formalize.fake_openai import FakeOpenAI, RecordedRequest, chat_completion

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

THEOREM_ID = "convex-sets:theorem:1.3"
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
FAITHFUL = {
    "back_translation": "If every set in S is convex over ℝ, the intersection of S is convex.",
    "verdict": "faithful",
    "reasons": ["Same hypotheses and conclusion as Theorem 1.3."],
}
WEAKER = {
    "back_translation": "The intersection of two convex sets is convex.",
    "verdict": "weaker",
    "reasons": ["Only two sets instead of any family."],
}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[GraphStore]:
    graph_store = LadybugStore(tmp_path / "graph.lbdb")
    graph_store.write_book(sample_book())
    try:
        yield graph_store
    finally:
        graph_store.close()


def build_formalizer(
    store: GraphStore,
    server: FakeOpenAI,
    lean_dir: Path,
    cache_dir: Path | None = None,
    builder: PromptBuilder | None = None,
    **options,
) -> Formalizer:
    settings = LlmSettings(
        base_url=server.base_url, api_key="test-key", model="fake-model", timeout_seconds=5.0, max_retries=0
    )
    cache = ResponseCache(cache_dir) if cache_dir else None
    lean = LeanProject(lean_dir, bundled_lean_template())
    return Formalizer(store, LlmClient(settings, cache=cache), lean, builder or PromptBuilder(), **options)


@pytest.fixture
def no_lake(monkeypatch: pytest.MonkeyPatch) -> None:
    # Hide any Lean toolchain so that every passing result is a draft, whatever machine runs the test.
    monkeypatch.setattr(shutil, "which", lambda name, *args, **kwargs: None)


@pytest.fixture
def formalizer(store: GraphStore, fake_openai: FakeOpenAI, tmp_path: Path, no_lake: None) -> Formalizer:
    return build_formalizer(store, fake_openai, tmp_path / "lean")


def push_json(server: FakeOpenAI, data: dict, **completion) -> None:
    server.push_answer(json.dumps(data), **completion)


def check_names(checks: list[CheckRecord], round_number: int) -> list[tuple[str, str]]:
    return [(check.name, check.status) for check in checks if check.round == round_number]


def is_review(request: RecordedRequest) -> bool:
    return "You review Lean 4 statements" in request.body["messages"][0]["content"]


# --- one round -------------------------------------------------------------------


def test_valid_answer_stored_as_draft(formalizer: Formalizer, store: GraphStore, fake_openai: FakeOpenAI):
    push_json(fake_openai, ANSWER, model="fake-model-v1", prompt_tokens=900, completion_tokens=120)
    push_json(fake_openai, FAITHFUL, model="fake-model-v1", prompt_tokens=300, completion_tokens=50)

    target = formalizer.run(theorem_context(sample_book()))

    assert target.status == DRAFT
    assert target.status_reason.startswith("Not compiled: no Lean toolchain")
    assert target.entity_id == THEOREM_ID
    assert target.informal_statement == ANSWER["informal_statement"]
    assert target.lean_code == LEAN_CODE
    assert target.assumptions == ANSWER["assumptions"]
    assert target.context_ids == ["convex-sets:definition:1.1", "convex-sets:lemma:1.2"]
    assert target.dropped_context_ids == []
    assert target.model == "fake-model-v1"
    assert target.prompt_tokens == 1200
    assert target.completion_tokens == 170
    assert target.repair_rounds == 0
    assert target.raw_answer == json.dumps(ANSWER)
    assert target.lean_path == "Lemmagraph/Targets/ConvexSets/Theorem1_3.lean"
    assert (formalizer.lean.root / target.lean_path).read_text(encoding="utf-8") == LEAN_CODE
    assert check_names(target.checks, 0) == [
        ("parse", "passed"),
        ("structure", "passed"),
        ("compile", "skipped"),
        ("semantic review", "passed"),
    ]
    assert "Not compiled" in target.checks[2].output


def test_target_round_trips_through_store(formalizer: Formalizer, store: GraphStore, fake_openai: FakeOpenAI):
    push_json(fake_openai, ANSWER)
    push_json(fake_openai, FAITHFUL)

    target = formalizer.run(theorem_context(sample_book()))

    (stored,) = store.targets(THEOREM_ID)
    assert stored == target


def test_semantic_review_verdict_stored(formalizer: Formalizer, store: GraphStore, fake_openai: FakeOpenAI):
    push_json(fake_openai, ANSWER)
    push_json(fake_openai, FAITHFUL)

    formalizer.run(theorem_context(sample_book()))

    (stored,) = store.targets(THEOREM_ID)
    assert stored.verdict == "faithful"
    review = stored.checks[-1]
    assert review.name == "semantic review"
    assert "Back-translation: If every set in S is convex" in review.output
    review_request = fake_openai.requests[1]
    assert is_review(review_request)
    review_prompt = review_request.body["messages"][1]["content"]
    assert "any family of convex sets is convex" in review_prompt, "the review sees the original item"
    assert ANSWER["informal_statement"] in review_prompt
    assert "theorem sInter_convex" in review_prompt
    assert review_request.body["response_format"]["json_schema"]["name"] == "semantic_review"


def test_weaker_verdict_fails_without_repairs(store: GraphStore, fake_openai: FakeOpenAI, tmp_path: Path, no_lake):
    formalizer = build_formalizer(store, fake_openai, tmp_path / "lean", repair_rounds=0)
    push_json(fake_openai, ANSWER)
    push_json(fake_openai, WEAKER)

    target = formalizer.run(theorem_context(sample_book()))

    assert target.status == FAILED
    assert target.verdict == "weaker"
    assert target.status_reason.startswith("the semantic review check failed: Verdict: weaker")
    assert len(fake_openai.requests) == 2


def test_weaker_verdict_repaired(formalizer: Formalizer, fake_openai: FakeOpenAI):
    push_json(fake_openai, ANSWER)
    push_json(fake_openai, WEAKER)
    push_json(fake_openai, ANSWER)
    push_json(fake_openai, FAITHFUL)

    target = formalizer.run(theorem_context(sample_book()))

    assert target.status == DRAFT
    assert target.verdict == "faithful"
    assert target.repair_rounds == 1
    repair_request = fake_openai.requests[2]
    assert "Only two sets instead of any family." in repair_request.body["messages"][-1]["content"]


def test_review_turned_off_is_skipped(store: GraphStore, fake_openai: FakeOpenAI, tmp_path: Path, no_lake):
    formalizer = build_formalizer(store, fake_openai, tmp_path / "lean", semantic_review=False)
    push_json(fake_openai, ANSWER)

    target = formalizer.run(theorem_context(sample_book()))

    assert target.status == DRAFT
    assert target.verdict == ""
    assert target.checks[-1] == CheckRecord("semantic review", "skipped", "Semantic review is turned off.", 0)
    assert len(fake_openai.requests) == 1


def test_unreadable_review_fails_without_repair(formalizer: Formalizer, fake_openai: FakeOpenAI):
    push_json(fake_openai, ANSWER)
    fake_openai.push_answer("Looks fine to me.")

    target = formalizer.run(theorem_context(sample_book()))

    assert target.status == FAILED
    assert "semantic review" in target.status_reason
    assert "Looks fine to me." in target.checks[-1].output
    assert len(fake_openai.requests) == 2, "an unreadable review is not the formalizer's error to repair"


# --- repair rounds ---------------------------------------------------------------


def test_invalid_json_then_valid_is_repaired(formalizer: Formalizer, store: GraphStore, fake_openai: FakeOpenAI):
    fake_openai.push_answer('{"informal_statement": "oops", "lean_code": ')
    push_json(fake_openai, ANSWER)
    push_json(fake_openai, FAITHFUL)

    target = formalizer.run(theorem_context(sample_book()))

    assert target.status == DRAFT
    assert target.repair_rounds == 1
    assert check_names(target.checks, 0) == [("parse", "failed")]
    assert check_names(target.checks, 1)[0] == ("parse", "passed")
    repair_messages = fake_openai.requests[1].body["messages"]
    assert [message["role"] for message in repair_messages] == ["system", "user", "assistant", "user"]
    assert repair_messages[2]["content"] == '{"informal_statement": "oops", "lean_code": '
    assert "could not be parsed" in repair_messages[3]["content"]
    assert store.targets(THEOREM_ID)[0].repair_rounds == 1


def test_structure_failure_is_repaired(formalizer: Formalizer, fake_openai: FakeOpenAI):
    cheating = dict(ANSWER, lean_code=LEAN_CODE.replace("namespace", "axiom everything : False\n\nnamespace", 1))
    push_json(fake_openai, cheating)
    push_json(fake_openai, ANSWER)
    push_json(fake_openai, FAITHFUL)

    target = formalizer.run(theorem_context(sample_book()))

    assert target.status == DRAFT
    assert target.repair_rounds == 1
    assert target.lean_code == LEAN_CODE
    assert check_names(target.checks, 0) == [
        ("parse", "passed"),
        ("structure", "failed"),
        ("compile", "skipped"),
        ("semantic review", "skipped"),
    ]
    assert "uses forbidden `axiom`" in target.checks[1].output
    repair_prompt = fake_openai.requests[1].body["messages"][-1]["content"]
    assert "structure check failed" in repair_prompt
    assert "uses forbidden `axiom`" in repair_prompt
    assert not is_review(fake_openai.requests[1]), "no review of a target that failed its structure"


def test_unused_local_definition_fails_structure(formalizer: Formalizer, fake_openai: FakeOpenAI):
    unused = dict(
        ANSWER,
        lean_code=LEAN_CODE.replace("theorem", "def Midpoint (x y : ℝ) : ℝ := (x + y) / 2\n\ntheorem", 1),
        local_definitions=["Midpoint"],
    )
    for _ in range(3):
        push_json(fake_openai, unused)

    target = formalizer.run(theorem_context(sample_book()))

    assert target.status == FAILED
    assert target.repair_rounds == 2
    assert "local definition `Midpoint` is never used by the theorem" in target.status_reason
    assert len(fake_openai.requests) == 3


def test_answer_that_never_parses_is_stored_failed(formalizer: Formalizer, store: GraphStore, fake_openai: FakeOpenAI):
    raw = "I am sorry, but I cannot write Lean code for this statement."
    for _ in range(3):
        fake_openai.push_answer(raw)

    target = formalizer.run(theorem_context(sample_book()))

    (stored,) = store.targets(THEOREM_ID)
    assert stored.status == FAILED
    assert stored.status_reason.startswith("the answer could not be parsed")
    assert stored.raw_answer == raw
    assert stored.lean_code == ""
    assert stored.repair_rounds == 2
    assert [check.name for check in stored.checks] == ["parse", "parse", "parse"]
    assert stored.context_ids == ["convex-sets:definition:1.1", "convex-sets:lemma:1.2"]
    assert target.id == stored.id


def test_repair_rounds_are_bounded(store: GraphStore, fake_openai: FakeOpenAI, tmp_path: Path, no_lake):
    formalizer = build_formalizer(store, fake_openai, tmp_path / "lean", repair_rounds=1)
    for _ in range(2):
        fake_openai.push_answer("not an answer")

    target = formalizer.run(theorem_context(sample_book()))

    assert target.repair_rounds == 1
    assert len(fake_openai.requests) == 2
    assert fake_openai.pending == 0


# --- requests, cache and cost -------------------------------------------------------


def test_first_request_failure_stores_nothing(formalizer: Formalizer, store: GraphStore, fake_openai: FakeOpenAI):
    fake_openai.push(500, {"error": {"message": "model crashed", "type": "server_error"}})

    with pytest.raises(LlmError, match="HTTP 500"):
        formalizer.run(theorem_context(sample_book()))

    assert store.targets(THEOREM_ID) == []


def test_first_request_timeout_stores_nothing(store: GraphStore, fake_openai: FakeOpenAI, tmp_path: Path, no_lake):
    settings = LlmSettings(
        base_url=fake_openai.base_url, api_key=None, model="fake-model", timeout_seconds=0.3, max_retries=0
    )
    formalizer = Formalizer(
        store, LlmClient(settings), LeanProject(tmp_path / "lean", bundled_lean_template()), PromptBuilder()
    )
    fake_openai.push(200, chat_completion(json.dumps(ANSWER)), delay_seconds=10.0)

    with pytest.raises(LlmError, match="timed out"):
        formalizer.run(theorem_context(sample_book()))

    assert store.targets(THEOREM_ID) == []


def test_repair_request_failure_stores_failed_attempt(formalizer: Formalizer, store: GraphStore, fake_openai: FakeOpenAI):
    fake_openai.push_answer("not an answer")
    fake_openai.push(503, {"error": {"message": "overloaded", "type": "server_error"}})

    with pytest.raises(LlmError, match="HTTP 503"):
        formalizer.run(theorem_context(sample_book()))

    (stored,) = store.targets(THEOREM_ID)
    assert stored.status == FAILED
    assert "a request to the model failed" in stored.status_reason
    assert stored.raw_answer == "not an answer"


def test_rerun_reads_cache_and_sends_nothing(store: GraphStore, fake_openai: FakeOpenAI, tmp_path: Path, no_lake):
    prices = {"fake-model": ModelPrice(input_usd_per_million=2.0, output_usd_per_million=10.0)}
    push_json(fake_openai, ANSWER, prompt_tokens=1000, completion_tokens=100)
    push_json(fake_openai, FAITHFUL, prompt_tokens=500, completion_tokens=50)
    context = theorem_context(sample_book())

    first = build_formalizer(store, fake_openai, tmp_path / "lean", tmp_path / "cache", prices=prices).run(context)
    requests_after_first = len(fake_openai.requests)
    second = build_formalizer(store, fake_openai, tmp_path / "lean", tmp_path / "cache", prices=prices).run(context)

    assert requests_after_first == 2
    assert len(fake_openai.requests) == 2, "the rerun must not send any request"
    assert first.cost_usd == pytest.approx((1500 * 2.0 + 150 * 10.0) / 1_000_000)
    assert first.cached_calls == 0
    assert second.cost_usd == 0.0
    assert second.cached_calls == 2
    assert second.lean_code == first.lean_code
    assert second.verdict == "faithful"
    assert [target.id for target in store.targets(THEOREM_ID)] == [first.id, second.id]


def test_unknown_price_records_zero(formalizer: Formalizer, fake_openai: FakeOpenAI):
    push_json(fake_openai, ANSWER)
    push_json(fake_openai, FAITHFUL)

    target = formalizer.run(theorem_context(sample_book()))

    assert target.price_known is False
    assert target.cost_usd == 0.0


def test_answer_requested_with_json_schema(formalizer: Formalizer, fake_openai: FakeOpenAI):
    push_json(fake_openai, ANSWER)
    push_json(fake_openai, FAITHFUL)

    formalizer.run(theorem_context(sample_book()))

    response_format = fake_openai.requests[0].body["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["schema"]["required"] == [
        "informal_statement",
        "lean_code",
        "local_definitions",
        "assumptions",
    ]


# --- prompt context -------------------------------------------------------------


def test_context_sent_in_dependency_order(formalizer: Formalizer, fake_openai: FakeOpenAI):
    push_json(fake_openai, ANSWER)
    push_json(fake_openai, FAITHFUL)

    formalizer.run(theorem_context(sample_book()))

    user = fake_openai.requests[0].body["messages"][1]["content"]
    assert user.index("## Definition 1.1") < user.index("## Lemma 1.2") < user.index("## Theorem 1.3")


def test_context_cut_to_window_records_dropped(store: GraphStore, fake_openai: FakeOpenAI, tmp_path: Path, no_lake):
    graph = sample_book()
    definition, lemma, theorem = graph.entities
    definition.text = "A set is convex when it contains every segment between its points. " * 60
    context = DependencyContext(
        target=theorem,
        dependencies=[Dependency(entity=lemma, score=0.9), Dependency(entity=definition, score=0.4)],
    )
    builder = PromptBuilder(context_window=1600, answer_reserve=400)
    formalizer = build_formalizer(store, fake_openai, tmp_path / "lean", builder=builder)
    push_json(fake_openai, ANSWER)
    push_json(fake_openai, FAITHFUL)

    target = formalizer.run(context)

    assert target.dropped_context_ids == ["convex-sets:definition:1.1"]
    assert target.context_ids == ["convex-sets:lemma:1.2"]
    user = fake_openai.requests[0].body["messages"][1]["content"]
    assert "## Lemma 1.2" in user
    assert "## Definition 1.1" not in user
    assert len(user) + len(fake_openai.requests[0].body["messages"][0]["content"]) <= 1200 * 4
    assert store.targets(THEOREM_ID)[0].dropped_context_ids == ["convex-sets:definition:1.1"]


def test_prompt_shows_lean_of_formalized_context(formalizer: Formalizer, store: GraphStore, fake_openai: FakeOpenAI):
    lemma_code = "import Mathlib\n\ntheorem inter_convex_two : True := sorry\n"
    lemma_context = DependencyContext(
        target=sample_book().entities[1], dependencies=[Dependency(sample_book().entities[0], 0.9)]
    )
    push_json(fake_openai, dict(ANSWER, lean_code=lemma_code))
    push_json(fake_openai, FAITHFUL)
    formalizer.run(lemma_context)

    prompt = formalization_prompt(store, PromptBuilder(), theorem_context(sample_book()))

    assert "Already formalized in Lean (status draft)" in prompt.user
    assert "theorem inter_convex_two : True := sorry" in prompt.user
    lemma_at = prompt.user.index("## Lemma 1.2")
    assert prompt.user.index("theorem inter_convex_two") > lemma_at
    assert prompt.user.index("theorem inter_convex_two") < prompt.user.index("## Theorem 1.3")


def test_prompt_hides_lean_of_failed_context(formalizer: Formalizer, store: GraphStore, fake_openai: FakeOpenAI):
    lemma_context = DependencyContext(target=sample_book().entities[1])
    for _ in range(3):
        fake_openai.push_answer("```lean\nimport Mathlib\naxiom bad : False\n```")
    formalizer.run(lemma_context)
    assert store.targets("convex-sets:lemma:1.2")[0].status == FAILED

    prompt = formalization_prompt(store, PromptBuilder(), theorem_context(sample_book()))

    assert "Already formalized" not in prompt.user
    assert "axiom bad" not in prompt.user


# --- Lean toolchain ---------------------------------------------------------------


def test_compiled_target_is_checked(store: GraphStore, fake_openai: FakeOpenAI, fake_lake: Path, tmp_path: Path):
    formalizer = build_formalizer(store, fake_openai, tmp_path / "lean")
    (formalizer.lean.ensure() / ".lake" / "packages" / "mathlib").mkdir(parents=True)
    push_json(fake_openai, ANSWER)
    push_json(fake_openai, FAITHFUL)

    target = formalizer.run(theorem_context(sample_book()))

    assert target.status == CHECKED
    assert target.status_reason == ""
    assert check_names(target.checks, 0)[2] == ("compile", "passed")
    assert "Lean check passed." in target.checks[2].output
    assert (fake_lake / "lake-call.txt").read_text().startswith("env lean ")
    assert (formalizer.lean.root / target.lean_path).with_suffix(".check.log").is_file()


def test_lean_error_is_fed_back(store: GraphStore, fake_openai: FakeOpenAI, fake_lake: Path, tmp_path: Path):
    formalizer = build_formalizer(store, fake_openai, tmp_path / "lean")
    (formalizer.lean.ensure() / ".lake" / "packages" / "mathlib").mkdir(parents=True)
    push_json(fake_openai, dict(ANSWER, lean_code=LEAN_CODE + "-- BROKEN\n"))
    push_json(fake_openai, ANSWER)
    push_json(fake_openai, FAITHFUL)

    target = formalizer.run(theorem_context(sample_book()))

    assert target.status == CHECKED
    assert check_names(target.checks, 0)[2] == ("compile", "failed")
    assert "unexpected token" in target.checks[2].output
    assert "unexpected token" in fake_openai.requests[1].body["messages"][-1]["content"]


def test_failed_attempt_rerun_sends_requests(store: GraphStore, fake_openai: FakeOpenAI, tmp_path: Path, no_lake):
    context = theorem_context(sample_book())
    fake_openai.push_answer("I cannot do this.")
    push_json(fake_openai, ANSWER)
    push_json(fake_openai, FAITHFUL)

    first = build_formalizer(store, fake_openai, tmp_path / "lean", tmp_path / "cache", repair_rounds=0).run(context)
    second = build_formalizer(store, fake_openai, tmp_path / "lean", tmp_path / "cache", repair_rounds=0).run(context)

    assert first.status == FAILED
    assert second.status == DRAFT
    assert second.cached_calls == 0, "no answer of the failed attempt is replayed"
    assert len(fake_openai.requests) == 3


def test_rejected_attempt_evicts_review_answer(store: GraphStore, fake_openai: FakeOpenAI, tmp_path: Path, no_lake):
    context = theorem_context(sample_book())
    push_json(fake_openai, ANSWER)
    push_json(fake_openai, WEAKER)
    push_json(fake_openai, ANSWER)
    push_json(fake_openai, FAITHFUL)

    first = build_formalizer(store, fake_openai, tmp_path / "lean", tmp_path / "cache", repair_rounds=0).run(context)
    second = build_formalizer(store, fake_openai, tmp_path / "lean", tmp_path / "cache", repair_rounds=0).run(context)

    assert first.status == FAILED
    assert second.status == DRAFT
    assert len(fake_openai.requests) == 4


def test_failed_review_request_keeps_answer_for_retry(
    store: GraphStore, fake_openai: FakeOpenAI, tmp_path: Path, no_lake
):
    context = theorem_context(sample_book())
    push_json(fake_openai, ANSWER)
    fake_openai.push(500, {"error": {"message": "overloaded", "type": "server_error"}})
    push_json(fake_openai, FAITHFUL)

    first = build_formalizer(store, fake_openai, tmp_path / "lean", tmp_path / "cache", repair_rounds=0).run(context)
    second = build_formalizer(store, fake_openai, tmp_path / "lean", tmp_path / "cache", repair_rounds=0).run(context)

    assert first.status == FAILED
    assert "The review request failed" in first.check_output
    assert second.status == DRAFT
    assert second.cached_calls == 1, "the unjudged formalization answer is read back"
    assert len(fake_openai.requests) == 3, "only the review is sent again"


def test_parse_failure_reason_not_repeated(formalizer: Formalizer, fake_openai: FakeOpenAI):
    fake_openai.push_answer("I cannot do this.")
    fake_openai.push_answer("I cannot do this.")
    fake_openai.push_answer("I cannot do this.")

    target = formalizer.run(theorem_context(sample_book()))

    assert target.status_reason.startswith("the answer could not be parsed (")
    assert target.status_reason.lower().count("could not be parsed") == 1


# --- which stored attempts are rejections ------------------------------------------

CHEATING = dict(ANSWER, lean_code=LEAN_CODE.replace("namespace", "axiom everything : False\n\nnamespace", 1))
SERVER_ERROR = {"error": {"message": "overloaded", "type": "server_error"}}


@pytest.mark.parametrize(
    ("replies", "repair_rounds", "rejection"),
    [
        ([ANSWER, WEAKER], 0, True),
        ([CHEATING], 0, True),
        (["I cannot do this."], 0, True),
        ([ANSWER, FAITHFUL], 0, False),
        ([ANSWER, 500], 0, False),
        ([ANSWER, "Looks fine to me."], 0, False),
        (["not an answer", 503], 1, False),
    ],
    ids=["weaker verdict", "structure failed", "unparsable answer", "accepted", "review request failed",
         "unreadable review", "repair request failed"],
)
def test_rejection_only_for_judged_answers(
    store: GraphStore, fake_openai: FakeOpenAI, tmp_path: Path, no_lake, replies, repair_rounds, rejection
):
    for reply in replies:
        if isinstance(reply, int):
            fake_openai.push(reply, SERVER_ERROR)
        elif isinstance(reply, str):
            fake_openai.push_answer(reply)
        else:
            push_json(fake_openai, reply)
    formalizer = build_formalizer(store, fake_openai, tmp_path / "lean", repair_rounds=repair_rounds)

    try:
        formalizer.run(theorem_context(sample_book()))
    except LlmError:
        pass  # a failed repair request raises after storing the attempt

    (stored,) = store.targets(THEOREM_ID)
    assert is_rejection(stored) is rejection

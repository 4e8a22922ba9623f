from __future__ import annotations

from pathlib import Path

import pytest

from formalize.prompt import TRUNCATION_MARK, PromptBuilder
from kg.models import LeanTarget
from retrieval.models import ClosureContext, Dependency, DependencyContext, Requirement
from tests.formalize.conftest import sample_book, theorem_context


def test_prompt_orders_context_then_target():
    context = theorem_context(sample_book())

    user = PromptBuilder().build(context).user

    definition_at = user.find("Definition 1.1")
    lemma_at = user.find("Lemma 1.2")
    target_heading_at = user.find("# Target item")
    theorem_at = user.find("Theorem 1.3")
    answer_format_at = user.find("# Answer format")
    assert definition_at >= 0
    assert definition_at < lemma_at, "context items must follow reading order, not score order"
    assert lemma_at < target_heading_at
    assert target_heading_at < theorem_at
    assert theorem_at < answer_format_at


def test_prompt_item_fields():
    context = theorem_context(sample_book())

    user = PromptBuilder().build(context).user

    assert "## Definition 1.1\n\nTitle: Convex set\nPage: 3" in user
    assert "## Lemma 1.2\n\nTitle: (none)" in user
    assert "(1 - t)x + ty lies in C" in user
    assert "## Theorem 1.3\n\nTitle: Intersections" in user
    assert "any family of convex sets is convex" in user


def test_prompt_states_answer_format_keys():
    prompt = PromptBuilder().build(theorem_context(sample_book()))

    answer_format = prompt.user[prompt.user.index("# Answer format") :]
    for key in ("informal_statement", "lean_code", "local_definitions", "assumptions"):
        assert key in answer_format
        assert key in prompt.system


def test_system_prompt_states_lean_conventions():
    system = PromptBuilder().build(theorem_context(sample_book())).system

    assert "import Mathlib" in system
    assert "namespace" in system
    assert "doc comment" in system
    assert "exactly one `theorem`" in system
    assert "sorry" in system
    assert "native_decide" in system


def test_prompt_without_dependencies_says_so():
    graph = sample_book()
    context = DependencyContext(target=graph.entities[0])

    user = PromptBuilder().build(context).user

    assert "No context items were recovered" in user
    assert "## Definition 1.1" in user


def test_prompt_messages_and_render_match():
    prompt = PromptBuilder().build(theorem_context(sample_book()))

    messages = prompt.messages()
    rendered = prompt.render()

    assert [message["role"] for message in messages] == ["system", "user"]
    assert messages[0]["content"] == prompt.system
    assert messages[1]["content"] == prompt.user
    assert rendered.index(prompt.system) < rendered.index(prompt.user)
    assert "--- system ---" in rendered
    assert "--- user ---" in rendered


def test_prompt_truncates_long_items():
    graph = sample_book()
    graph.entities[1].text = "word " * 500
    context = theorem_context(graph)

    user = PromptBuilder(max_item_chars=100).build(context).user

    assert TRUNCATION_MARK.strip() in user
    assert "word " * 100 not in user


def test_prompt_keeps_dollar_signs_in_item_text():
    graph = sample_book()
    graph.entities[0].text = "Let $C \\subseteq \\mathbb{R}^n$ cost $5."
    context = theorem_context(graph)

    user = PromptBuilder().build(context).user

    assert "Let $C \\subseteq \\mathbb{R}^n$ cost $5." in user


def test_prompt_builder_reports_missing_template_dir(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="system.md"):
        PromptBuilder(template_dir=tmp_path)


def long_definition_context(definition_score: float) -> DependencyContext:
    graph = sample_book()
    definition, lemma, theorem = graph.entities
    definition.text = "A set is convex when it contains every segment between its points. " * 60
    return DependencyContext(
        target=theorem,
        dependencies=[Dependency(lemma, 0.9), Dependency(definition, definition_score)],
    )


def test_prompt_fits_window_by_dropping_lowest_score():
    context = long_definition_context(definition_score=0.4)
    builder = PromptBuilder(context_window=1600, answer_reserve=400)

    prompt = builder.build(context)

    assert prompt.dropped_ids == ("convex-sets:definition:1.1",)
    assert prompt.context_ids == ("convex-sets:lemma:1.2",)
    assert prompt.estimated_tokens <= builder.prompt_budget
    assert "## Definition 1.1" not in prompt.user


def test_prompt_keeps_everything_in_large_window():
    prompt = PromptBuilder().build(long_definition_context(definition_score=0.4))

    assert prompt.dropped_ids == ()
    assert prompt.context_ids == ("convex-sets:definition:1.1", "convex-sets:lemma:1.2")


def test_prompt_drop_respects_closure_needs():
    graph = sample_book()
    definition, lemma, theorem = graph.entities
    lemma.text = "The intersection of two convex sets is convex. " * 60
    # The lemma scored higher, but the definition is needed by the target itself and
    # by the lemma, so the closure raises the definition's need to the target's.
    context = ClosureContext(
        target=theorem,
        dependencies=[Dependency(definition, 0.1), Dependency(lemma, 0.5)],
        requirements=[Requirement(lemma.id, definition.id, "citation")],
    )
    builder = PromptBuilder(context_window=1600, answer_reserve=400)

    prompt = builder.build(context)

    assert prompt.dropped_ids == ("convex-sets:lemma:1.2",)
    assert prompt.context_ids == ("convex-sets:definition:1.1",)


def test_prompt_drops_least_needed_in_closure():
    graph = sample_book()
    definition, lemma, theorem = graph.entities
    definition.text = "A set is convex when it contains every segment between its points. " * 60
    lemma.text = "The intersection of two convex sets is convex. " * 60
    # Without the requirement the definition (0.1) would go first. The lemma needs it,
    # so it inherits 0.5, and of two equal needs the later item (the lemma) goes first.
    context = ClosureContext(
        target=theorem,
        dependencies=[Dependency(definition, 0.1), Dependency(lemma, 0.5)],
        requirements=[Requirement(lemma.id, definition.id, "citation")],
    )

    prompt = PromptBuilder(context_window=1600, answer_reserve=400).build(context)

    assert prompt.dropped_ids[0] == "convex-sets:lemma:1.2"


def test_prompt_lists_closure_cuts_as_dropped():
    graph = sample_book()
    definition, lemma, theorem = graph.entities
    context = ClosureContext(
        target=theorem,
        dependencies=[Dependency(lemma, 0.9)],
        dropped=[Dependency(definition, 0.2)],
    )

    prompt = PromptBuilder().build(context)

    assert prompt.dropped_ids == ("convex-sets:definition:1.1",)
    assert prompt.context_ids == ("convex-sets:lemma:1.2",)


def test_prompt_follows_closure_order():
    graph = sample_book()
    definition, lemma, theorem = graph.entities
    # A closure may put an item printed later first when the other one uses it.
    context = ClosureContext(target=theorem, dependencies=[Dependency(lemma, 0.9), Dependency(definition, 0.7)])

    user = PromptBuilder().build(context).user

    assert user.index("## Lemma 1.2") < user.index("## Definition 1.1")


def test_small_window_gets_smaller_reserve():
    builder = PromptBuilder(context_window=2000)

    assert builder.answer_reserve == 500
    assert builder.prompt_budget == 1500


def test_prompt_shows_given_lean_code():
    graph = sample_book()
    context = theorem_context(graph)
    target = LeanTarget(
        id="t", entity_id=graph.entities[0].id, book_id="convex-sets", informal_statement="",
        lean_code="def IsConvexSet (s : Set ℝ) : Prop := Convex ℝ s\n", status="checked",
        check_output="", model="m", created_at="2024",
    )

    user = PromptBuilder().build(context, {graph.entities[0].id: target}).user

    assert "Already formalized in Lean (status checked):\n\n```lean\ndef IsConvexSet" in user
    assert user.index("def IsConvexSet") < user.index("## Lemma 1.2")


def test_repair_messages_continue_conversation():
    builder = PromptBuilder()
    prompt = builder.build(theorem_context(sample_book()))

    messages = builder.repair_messages(prompt, "my answer", "structure check failed:\n- uses forbidden `axiom`")

    assert messages[:2] == prompt.messages()
    assert messages[2] == {"role": "assistant", "content": "my answer"}
    assert messages[3]["role"] == "user"
    assert "uses forbidden `axiom`" in messages[3]["content"]
    assert "informal_statement" in messages[3]["content"]


def test_review_messages_show_item_and_target():
    graph = sample_book()

    messages = PromptBuilder().review_messages(graph.entities[2], "Any intersection is convex.", "theorem t : True := sorry")

    system, user = messages[0]["content"], messages[1]["content"]
    for verdict in ("faithful", "weaker", "stronger", "different"):
        assert verdict in system
    assert "## Theorem 1.3" in user
    assert "any family of convex sets is convex" in user
    assert "Any intersection is convex." in user
    assert "```lean\ntheorem t : True := sorry\n```" in user

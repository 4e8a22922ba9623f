from __future__ import annotations

from pathlib import Path

import pytest

from formalize.prompt import TRUNCATION_MARK, PromptBuilder
from retrieval.models import DependencyContext
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

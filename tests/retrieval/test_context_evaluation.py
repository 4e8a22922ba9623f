"""Context evaluation: the metric code on known contexts, and a small gold file for the chain book."""

import json

import pytest

from retrieval.closure import DEFAULT_SIMILARITY_FLOOR
from retrieval.context_evaluation import SourceContext, evaluate_context, score_contexts


def test_scores_on_known_contexts():
    # Source A: 4 context items, 3 needed at any depth, 1 of its 2 direct targets.
    # Source B: 1 context item, its only direct target.
    first = SourceContext("lemma", ["x", "y", "z", "noise"], 40, direct={"x", "w"}, needed={"x", "y", "z", "w"})
    second = SourceContext("exercise", ["v"], 10, direct={"v"}, needed={"v"})

    scores = score_contexts([first, second])

    assert scores.sources == 2
    assert scores.precision == pytest.approx(4 / 5)
    assert scores.direct_precision == pytest.approx(2 / 5)
    assert scores.recall == pytest.approx((1 / 2 + 1) / 2)
    assert scores.mean_items == pytest.approx(5 / 2)
    assert scores.mean_tokens == pytest.approx(25)


def test_empty_context_scores_zero():
    scores = score_contexts([SourceContext("lemma", [], 0, direct={"x"}, needed={"x"})])

    assert scores.precision == 0.0
    assert scores.recall == 0.0
    assert scores.mean_items == 0.0


def test_no_sources_score_zero():
    assert score_contexts([]).sources == 0


@pytest.fixture
def chain_gold(tmp_path):
    """Gold for the chain book: the exercise needs the lemma and Definition 1.5, the lemma Definition 1.2."""
    gold = {
        "items": [
            {"id": "def-convex", "kind": "definition", "number": "1.1"},
            {"id": "def-function", "kind": "definition", "number": "1.2"},
            {"id": "lem-sum", "kind": "lemma", "number": "1.3"},
            {"id": "def-general", "kind": "definition", "number": "1.5"},
            {"id": "ex-three", "kind": "exercise", "number": "1.6"},
            {"id": "thm-lost", "kind": "theorem", "number": "9.9"},
        ],
        "edges": [
            {"src": "ex-three", "dst": "lem-sum", "via": "ref"},
            {"src": "ex-three", "dst": "def-general", "via": "uses"},
            {"src": "lem-sum", "dst": "def-function", "via": "ref"},
            {"src": "def-function", "dst": "def-convex", "via": "uses"},
            {"src": "thm-lost", "dst": "def-convex", "via": "ref"},
        ],
    }
    path = tmp_path / "gold.json"
    path.write_text(json.dumps(gold), encoding="utf-8")
    return path


def test_chain_book_context_evaluation(chain_workspace, chain_gold):
    store, vectors = chain_workspace

    evaluation = evaluate_context(store, vectors, "chain", chain_gold)

    assert evaluation.gold_sources == 4
    assert evaluation.skipped_sources == ["thm-lost"]
    assert [run.similarity_floor for run in evaluation.runs] == [0.0, DEFAULT_SIMILARITY_FLOOR]
    unfloored, floored = (run.groups["all"] for run in evaluation.runs)
    # The exercise's context contains Definitions 1.1, 1.2, 1.5 and Lemma 1.3, all needed
    # through gold edges, and without a floor the bakery as well. The lemma's contains
    # Definitions 1.1 and 1.2, and Definition 1.2's contains Definition 1.1.
    assert floored.sources == 3
    assert floored.precision == pytest.approx(1.0)
    assert floored.direct_precision == pytest.approx(4 / 7)
    assert floored.recall == pytest.approx(1.0)
    assert floored.mean_items == pytest.approx(7 / 3)
    assert unfloored.precision == pytest.approx(7 / 8)
    assert unfloored.recall == pytest.approx(1.0)
    assert unfloored.mean_items == pytest.approx(8 / 3)
    assert unfloored.mean_tokens > floored.mean_tokens


def test_chain_context_groups_by_source_kind(chain_workspace, chain_gold):
    store, vectors = chain_workspace

    evaluation = evaluate_context(store, vectors, "chain", chain_gold, similarity_floors=[0.0])

    assert len(evaluation.runs) == 1
    groups = evaluation.runs[0].groups
    assert set(groups) == {"all", "definition", "exercise", "lemma"}
    assert groups["exercise"].precision == pytest.approx(4 / 5)
    assert groups["lemma"].precision == pytest.approx(1.0)


def test_missing_gold_target_counts_as_miss(chain_workspace, tmp_path):
    store, vectors = chain_workspace
    gold = tmp_path / "gold.json"
    gold.write_text(json.dumps({
        "items": [{"id": "l", "kind": "lemma", "number": "1.3"}, {"id": "e", "kind": "exercise", "number": "1.6"}],
        "edges": [{"src": "e", "dst": "l", "via": "ref"}, {"src": "e", "dst": "unprinted", "via": "uses"}],
    }), encoding="utf-8")

    evaluation = evaluate_context(store, vectors, "chain", gold, similarity_floors=[0.0])

    assert evaluation.runs[0].groups["all"].recall == pytest.approx(0.5)

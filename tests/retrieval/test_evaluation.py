"""Dependency evaluation: the metric code on known rankings, and a tiny gold file for the chain book."""

import json

import pytest

from kg.errors import LemmagraphError
from kg.models import Entity
from retrieval.evaluation import evaluate_dependencies, match_gold_items, read_gold, score_rankings, GoldItem


def test_scores_on_known_rankings():
    # Source A: gold targets x (rank 2) and y (rank 12): recall@5 1/2, @10 1/2, @20 1, RR 1/2.
    # Source B: gold target z at rank 1: recall 1 everywhere, RR 1.
    ranking_a = ["n1", "x", *[f"f{i}" for i in range(9)], "y"]
    pairs = [(ranking_a, {"x", "y"}), (["z", "q"], {"z"})]

    scores = score_rankings(pairs)

    assert scores.sources == 2
    assert scores.edges == 3
    assert scores.recall[5] == pytest.approx((0.5 + 1.0) / 2)
    assert scores.recall[10] == pytest.approx((0.5 + 1.0) / 2)
    assert scores.recall[20] == pytest.approx(1.0)
    assert scores.mrr == pytest.approx((0.5 + 1.0) / 2)
    assert scores.precision_at_10 == pytest.approx((1 / 10 + 1 / 10) / 2)


def test_missing_target_scores_zero():
    scores = score_rankings([(["a", "b"], {"missing:gold-id"})])

    assert scores.recall[20] == 0.0
    assert scores.mrr == 0.0


def test_empty_pairs_score_zero():
    assert score_rankings([]).sources == 0


def test_gold_matched_by_kind_number_in_order():
    first = Entity("b:example:4.1", "b", "example", "4.1", None, "", 1, 0)
    second = Entity("b:example:4.1~2", "b", "example", "4.1", None, "", 2, 1)
    gold = [GoldItem("g1", "example", "4.1"), GoldItem("g2", "example", "4.1"), GoldItem("g3", "lemma", None)]

    matched = match_gold_items(gold, [second, first])

    assert matched == {"g1": first, "g2": second}


def test_invalid_gold_names_the_file(tmp_path):
    path = tmp_path / "gold.json"
    path.write_text('{"items": []}', encoding="utf-8")

    with pytest.raises(LemmagraphError, match="invalid gold file"):
        read_gold(path)


@pytest.fixture
def chain_gold(tmp_path):
    """Gold for the chain book: the exercise cites the lemma and uses Definition 1.5 unseen."""
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
            {"src": "lem-sum", "dst": "thm-lost", "via": "uses"},
            {"src": "thm-lost", "dst": "def-convex", "via": "ref"},
        ],
    }
    path = tmp_path / "gold.json"
    path.write_text(json.dumps(gold), encoding="utf-8")
    return path


def test_chain_book_evaluation(chain_workspace, chain_gold):
    store, vectors = chain_workspace

    evaluation = evaluate_dependencies(store, vectors, "chain", chain_gold)

    assert evaluation.gold_sources == 3
    assert evaluation.skipped_sources == ["thm-lost"]
    assert evaluation.unmatched_targets == ["thm-lost"]
    fused = evaluation.variants["fused"]
    # Both ref edges are citations, ranked first: recall 1 and MRR 1.
    assert fused["ref"].sources == 2
    assert fused["ref"].recall[5] == 1.0
    assert fused["ref"].mrr == 1.0
    # uses: the exercise finds Definition 1.5 by its term; the lemma's target is not stored.
    assert fused["uses"].recall[20] == pytest.approx(0.5)
    assert set(fused) >= {"ref", "uses", "any", "ref/exercise", "ref/lemma"}


def test_chain_ablations_differ(chain_workspace, chain_gold):
    store, vectors = chain_workspace

    variants = evaluate_dependencies(store, vectors, "chain", chain_gold).variants

    assert set(variants) == {"fused", "citations", "vectors", "terms"}
    assert variants["citations"]["ref"].recall[5] == 1.0
    assert variants["terms"]["ref"].recall[20] == 0.0
    assert variants["terms"]["uses/exercise"].recall[5] == 1.0

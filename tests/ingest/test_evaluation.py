from __future__ import annotations

import json
from pathlib import Path

import pytest

from kg.errors import LemmagraphError
from kg.models import Book, BookGraph, Entity, Reference
from ingest.evaluation import evaluate_extraction


def _entity(kind: str, number: str | None, page: int, order: int) -> Entity:
    identifier = f"b:{kind}:{number or f'u{order}'}"
    return Entity(identifier, "b", kind, number, None, "text", page, order)


@pytest.fixture
def gold_path(tmp_path: Path) -> Path:
    gold = {
        "items": [
            {"id": "def", "kind": "definition", "number": "1.1", "page": 1},
            {"id": "lem", "kind": "lemma", "number": "1.2", "page": 2},
            {"id": "thm", "kind": "theorem", "number": "1.3", "page": 3},
            {"id": "alg", "kind": "algorithm", "number": None, "page": 4},
        ],
        "edges": [
            {"src": "lem", "dst": "def", "via": "ref"},
            {"src": "thm", "dst": "lem", "via": "ref"},
            {"src": "thm", "dst": "def", "via": "uses"},
        ],
    }
    path = tmp_path / "gold.json"
    path.write_text(json.dumps(gold))
    return path


def test_scores_items_and_edges(gold_path: Path) -> None:
    entities = [
        _entity("definition", "1.1", 1, 0),
        _entity("lemma", "1.2", 3, 1),
        _entity("remark", "1.4", 3, 2),
        _entity("algorithm", None, 5, 3),
    ]
    references = [
        Reference("b:lemma:1.2", "b:definition:1.1", "Definition 1.1", 3),
        Reference("b:remark:1.4", "b:lemma:1.2", "Lemma 1.2", 3),
    ]
    graph = BookGraph(Book("b", "B", "b.pdf", 5, "0"), entities, references)

    report = evaluate_extraction(graph, gold_path)

    assert (report.items.true_positives, report.items.predicted, report.items.gold) == (2, 4, 4)
    assert report.items.f1 == pytest.approx(0.5)
    assert report.items_by_kind["lemma"].recall == 1.0
    assert report.items_by_kind["theorem"].recall == 0.0
    assert report.items_by_kind["algorithm"].recall == 0.0
    assert report.page_accuracy == pytest.approx(0.5)
    assert (report.references.true_positives, report.references.predicted, report.references.gold) == (1, 2, 2)
    assert report.missed_items == ["Theorem 1.3 (page 3)", "Algorithm (unnumbered) (page 4)"]
    assert report.spurious_items == ["Remark 1.4 (page 3)", "Algorithm (unnumbered) (page 5)"]
    assert report.missed_edges == ["Theorem 1.3 -> Lemma 1.2 (page 3)"]
    assert report.spurious_edges == ["Remark 1.4 -> Lemma 1.2 (page 3)"]


def test_unnumbered_gold_item_matches_same_page(gold_path: Path) -> None:
    graph = BookGraph(Book("b", "B", "b.pdf", 5, "0"), [_entity("algorithm", None, 4, 0)])

    report = evaluate_extraction(graph, gold_path)

    assert report.items_by_kind["algorithm"].true_positives == 1


def test_report_serialises_to_json(gold_path: Path) -> None:
    graph = BookGraph(Book("b", "B", "b.pdf", 5, "0"), [_entity("definition", "1.1", 1, 0)])

    data = json.loads(json.dumps(evaluate_extraction(graph, gold_path).to_dict()))

    assert data["items"]["precision"] == 1.0
    assert data["items"]["recall"] == 0.25
    assert data["references"]["gold"] == 2


def test_invalid_gold_file_rejected(tmp_path: Path) -> None:
    path = tmp_path / "gold.json"
    path.write_text("[]")
    graph = BookGraph(Book("b", "B", "b.pdf", 1, "0"))

    with pytest.raises(LemmagraphError, match="gold"):
        evaluate_extraction(graph, path)

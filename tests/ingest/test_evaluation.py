from __future__ import annotations

import json
from pathlib import Path

import pytest

from kg.errors import LemmagraphError
from kg.models import Book, BookGraph, Entity, Reference
from ingest.evaluation import evaluate_extraction, normalize_title


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


def test_normalize_title_drops_latex_markup() -> None:
    assert normalize_title(r"Production Planning (\(T = 10\))") == normalize_title("Production Planning (𝑇= 10)")
    assert normalize_title(r"\emph{Source--Sink} Flow") == normalize_title("source–sink flow")
    assert normalize_title(r"Balog-Szemer\'edi-Gowers") == normalize_title("Balog-Szemerédi-Gowers")
    assert normalize_title(r"$\tau$-minimizer") == normalize_title("𝜏-minimizer")
    assert normalize_title(r"$\phi$-minimizers exist") == normalize_title("𝜙-minimizers exist")
    assert normalize_title(r"Entropy of $Z_2$") == normalize_title("Entropy of 𝑍2")
    assert normalize_title(r"PFR with \texorpdfstring{$C=9$}{C=9}") == normalize_title("PFR with 𝐶= 9")
    assert normalize_title("Constructing good variables, I'") == normalize_title("Constructing good variables, I’")
    assert normalize_title("Production Planning") != normalize_title("Production Planning ⋆⋆A small factory")


def test_scores_titles_of_matched_items(tmp_path: Path) -> None:
    gold = {
        "items": [
            {"id": "e1", "kind": "example", "number": "1.1", "page": 1, "title": r"Diet (\(T = 2\))"},
            {"id": "e2", "kind": "example", "number": "1.2", "page": 1, "title": "Camping Trip"},
            {"id": "e3", "kind": "example", "number": "1.3", "page": 1, "title": ""},
            {"id": "a1", "kind": "algorithm", "number": None, "page": 2, "title": "Recipe: RHS Ranging"},
            {"id": "a2", "kind": "algorithm", "number": "1", "page": 2, "title": "H"},
            {"id": "e4", "kind": "example", "number": "1.4", "page": 3, "title": "Never Found"},
        ],
        "edges": [],
    }
    path = tmp_path / "gold.json"
    path.write_text(json.dumps(gold))
    entities = [
        Entity("b:e1", "b", "example", "1.1", "Diet (T = 2)", "text", 1, 0),
        Entity("b:e2", "b", "example", "1.2", "Camping", "text", 1, 1),
        Entity("b:e3", "b", "example", "1.3", "Stray", "text", 1, 2),
        Entity("b:a1", "b", "algorithm", None, "RHS Ranging", "text", 2, 3),
        Entity("b:a2", "b", "algorithm", "1", None, "text", 2, 4),
    ]

    report = evaluate_extraction(BookGraph(Book("b", "B", "b.pdf", 3, "0"), entities), path)

    assert report.titled_items == 3
    assert report.title_accuracy == pytest.approx(2 / 3)
    assert report.wrong_titles == ["Example 1.2: stored 'Camping', gold 'Camping Trip'"]
    assert report.spurious_titles == ["Example 1.3: stored 'Stray', gold untitled"]
    assert report.to_dict()["title_accuracy"] == pytest.approx(0.6667)

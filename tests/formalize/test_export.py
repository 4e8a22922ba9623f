from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from formalize.export import export_json
from kg.errors import NotFoundError
from kg.store import GraphStore
from tests.formalize.conftest import sample_book

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


@pytest.fixture
def store(tmp_path: Path) -> Iterator[GraphStore]:
    graph_store = LadybugStore(tmp_path / "graph.lbdb")
    graph_store.write_book(sample_book())
    try:
        yield graph_store
    finally:
        graph_store.close()


def test_export_json_has_exact_shape(store: GraphStore):
    exported = export_json(store, "convex-sets")

    assert list(exported) == ["book", "entities", "edges"]
    assert exported["book"] == {
        "id": "convex-sets",
        "title": "Convex Sets",
        "source_path": "/books/convex-sets.pdf",
        "page_count": 40,
        "sha256": "0" * 64,
        "ingested_at": "2024-05-01T10:00:00+00:00",
    }
    assert exported["entities"][1] == {
        "id": "convex-sets:lemma:1.2",
        "kind": "lemma",
        "number": "1.2",
        "title": None,
        "page": 4,
        "text": "The intersection of two convex sets is convex (Definition 1.1).",
    }
    assert [entity["id"] for entity in exported["entities"]] == [
        "convex-sets:definition:1.1",
        "convex-sets:lemma:1.2",
        "convex-sets:theorem:1.3",
    ]


def test_export_json_lists_reference_edges(store: GraphStore):
    edges = export_json(store, "convex-sets")["edges"]

    assert {"source": "convex-sets:lemma:1.2", "target": "convex-sets:definition:1.1", "type": "REFERENCES"} in edges
    assert {"source": "convex-sets:theorem:1.3", "target": "convex-sets:lemma:1.2", "type": "REFERENCES"} in edges
    assert all(set(edge) == {"source", "target", "type"} for edge in edges)


def test_export_json_is_serializable(store: GraphStore):
    text = json.dumps(export_json(store, "convex-sets"))

    assert json.loads(text)["book"]["id"] == "convex-sets"


def test_export_json_unknown_book_raises(store: GraphStore):
    with pytest.raises(NotFoundError, match="no-such-book"):
        export_json(store, "no-such-book")

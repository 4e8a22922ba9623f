"""Export a stored book graph as plain JSON-ready data."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from kg.store import GraphStore


def export_json(store: GraphStore, book_id: str) -> dict[str, Any]:
    """Return the book, its items in reading order and its edges, ready for `json.dumps`.

    Raises NotFoundError from the store when the book does not exist.
    """
    summary = store.book(book_id)
    entities = [
        {
            "id": entity.id,
            "kind": entity.kind,
            "number": entity.number,
            "title": entity.title,
            "page": entity.page,
            "text": entity.text,
        }
        for entity in store.entities(book_id)
    ]
    edges = [
        {"source": edge.source, "target": edge.target, "type": edge.type}
        for edge in store.edges(book_id)
    ]
    return {"book": asdict(summary.book), "entities": entities, "edges": edges}

"""Export a stored book graph as JSON, or its formalized exercises as benchmark records."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from formalize.lean_structure import theorem_name
from formalize.targets import preferred_target
from kg.models import Entity, LeanTarget
from kg.store import GraphStore

EXERCISE = "exercise"


def export_json(store: GraphStore, book_id: str) -> dict[str, Any]:
    """Return the book, its items and sections in reading order and its edges, ready for `json.dumps`.

    CITES_SECTION edges go from an item id to a section id of `sections`.
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
    sections = [asdict(section) for section in store.sections(book_id)]
    return {"book": asdict(summary.book), "entities": entities, "edges": edges, "sections": sections}


def cam_records(store: GraphStore, book_id: str) -> Iterator[dict[str, Any]]:
    """Yield one benchmark record per exercise of the book that has a Lean target, in reading order.

    Each record contains the exercise as printed, the recovered context its prompt used
    (kind, number, text) in prompt order, the normalized informal theorem, the Lean
    target and every check. The target is the latest checked attempt, else the latest
    draft, else the latest attempt. Raises NotFoundError when the book does not exist.
    """
    for entity in store.entities(book_id):
        if entity.kind != EXERCISE:
            continue
        attempts = store.targets(entity.id)
        target = preferred_target(attempts)
        if target is None:
            continue
        yield _cam_record(store, entity, target, len(attempts))


def export_cam_jsonl(store: GraphStore, book_id: str) -> str:
    """Return the book's benchmark records as JSON Lines: one compact JSON object per line."""
    lines = [json.dumps(record, ensure_ascii=False) for record in cam_records(store, book_id)]
    return "".join(line + "\n" for line in lines)


def _cam_record(store: GraphStore, entity: Entity, target: LeanTarget, attempt_count: int) -> dict[str, Any]:
    return {
        "id": entity.id,
        "book_id": entity.book_id,
        "kind": entity.kind,
        "number": entity.number,
        "title": entity.title,
        "page": entity.page,
        "exercise": entity.text,
        "context": [_context_item(store, context_id) for context_id in target.context_ids],
        "dropped_context_ids": list(target.dropped_context_ids),
        "informal_statement": target.informal_statement,
        "lean_code": target.lean_code,
        "lean_theorem": theorem_name(target.lean_code) if target.lean_code else None,
        "local_definitions": list(target.local_definitions),
        "assumptions": list(target.assumptions),
        "status": target.status,
        "status_reason": target.status_reason,
        "verdict": target.verdict or None,
        "checks": [asdict(check) for check in target.checks],
        "repair_rounds": target.repair_rounds,
        "target_id": target.id,
        "created_at": target.created_at,
        "attempts": attempt_count,
        "model": target.model,
        "prompt_tokens": target.prompt_tokens,
        "completion_tokens": target.completion_tokens,
        "cost_usd": target.cost_usd if target.price_known else None,
    }


def _context_item(store: GraphStore, entity_id: str) -> dict[str, Any]:
    # Context edges disappear with their items, so every stored context id exists.
    item = store.entity(entity_id)
    return {"id": item.id, "kind": item.kind, "number": item.number, "text": item.text}

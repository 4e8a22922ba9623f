"""Conversions between typed models and store rows, and the input checks both stores share.

The embedded and Neo4j stores read and write the same properties, so one set of
conversions keeps their records and error messages identical.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from kg.errors import GraphStoreError, NotFoundError
from kg.models import (
    DEFINES,
    MENTIONS,
    Book,
    BookGraph,
    BookSummary,
    Entity,
    LeanTarget,
    Reference,
    Section,
    SectionReference,
    Term,
    TermLink,
    checks_from_json,
    checks_to_json,
    strings_from_json,
    strings_to_json,
)

LIST_BOOKS_HINT = "run `lemmagraph books` to list the stored books"


# --- Input checks -------------------------------------------------------------


def check_book_graph(graph: BookGraph) -> None:
    """Raise `GraphStoreError` when the graph's records do not fit together.

    Without this check, an edge to an unknown id would be skipped silently by
    the MATCH in the batch insert.
    """
    book_id = graph.book.id
    entity_ids = _unique_ids("item", [entity.id for entity in graph.entities], book_id)
    term_ids = _unique_ids("term", [term.id for term in graph.terms], book_id)

    for entity in graph.entities:
        if entity.book_id != book_id:
            raise GraphStoreError(f"item {entity.id!r} has book id {entity.book_id!r}, expected {book_id!r}")
    for term in graph.terms:
        if term.book_id != book_id:
            raise GraphStoreError(f"term {term.id!r} has book id {term.book_id!r}, expected {book_id!r}")
    for ref in graph.references:
        for end in (ref.source_id, ref.target_id):
            if end not in entity_ids:
                raise GraphStoreError(
                    f"reference {ref.surface!r} names item {end!r}, which is not in book {book_id!r}"
                )
    _check_sections(graph, entity_ids)
    for link in graph.term_links:
        if link.type not in (DEFINES, MENTIONS):
            raise GraphStoreError(f"term link type {link.type!r} is invalid; expected {DEFINES} or {MENTIONS}")
        if link.entity_id not in entity_ids:
            raise GraphStoreError(
                f"term link names item {link.entity_id!r}, which is not in book {book_id!r}"
            )
        if link.term_id not in term_ids:
            raise GraphStoreError(
                f"term link names term {link.term_id!r}, which is not in book {book_id!r}"
            )


def _check_sections(graph: BookGraph, entity_ids: set[str]) -> None:
    """Raise `GraphStoreError` when a section, section citation or item names an unknown section."""
    book_id = graph.book.id
    section_ids = _unique_ids("section", [section.id for section in graph.sections], book_id)
    for section in graph.sections:
        if section.book_id != book_id:
            raise GraphStoreError(f"section {section.id!r} has book id {section.book_id!r}, expected {book_id!r}")
        if section.parent_id is not None and section.parent_id not in section_ids:
            raise GraphStoreError(
                f"section {section.id!r} names parent {section.parent_id!r}, which is not in book {book_id!r}"
            )
    for entity in graph.entities:
        if entity.section_id is not None and entity.section_id not in section_ids:
            raise GraphStoreError(
                f"item {entity.id!r} names section {entity.section_id!r}, which is not in book {book_id!r}"
            )
    for ref in graph.section_references:
        if ref.source_id not in entity_ids:
            raise GraphStoreError(
                f"section reference {ref.surface!r} names item {ref.source_id!r}, which is not in book {book_id!r}"
            )
        if ref.section_id not in section_ids:
            raise GraphStoreError(
                f"section reference {ref.surface!r} names section {ref.section_id!r}, "
                f"which is not in book {book_id!r}"
            )


def _unique_ids(noun: str, ids: list[str], book_id: str) -> set[str]:
    counts = Counter(ids)
    duplicates = sorted(item_id for item_id, count in counts.items() if count > 1)
    if duplicates:
        raise GraphStoreError(f"book {book_id!r} has duplicate {noun} ids: {', '.join(duplicates[:5])}")
    return set(counts)


def book_not_found(book_id: str) -> NotFoundError:
    return NotFoundError(f"book {book_id!r} not found; {LIST_BOOKS_HINT}")


def entity_not_found(entity_id: str) -> NotFoundError:
    return NotFoundError(f"item {entity_id!r} not found; {LIST_BOOKS_HINT}")


def check_target_items(target: LeanTarget, book_of: Mapping[str, str]) -> None:
    """Check that a target's item and context items exist, given the book id of each item found.

    Raises NotFoundError for a missing item, GraphStoreError when the target names
    another book than its item's, and then NotFoundError for the first missing context item.
    """
    if target.entity_id not in book_of:
        raise entity_not_found(target.entity_id)
    if target.book_id != book_of[target.entity_id]:
        raise GraphStoreError(
            f"Lean target {target.id!r} has book id {target.book_id!r}, "
            f"but its item {target.entity_id!r} belongs to book {book_of[target.entity_id]!r}"
        )
    for context_id in target.context_ids:
        if context_id not in book_of:
            raise entity_not_found(context_id)


# --- Records to query parameters ----------------------------------------------


def book_parameters(book: Book) -> dict[str, Any]:
    return {
        "book_id": book.id,
        "title": book.title,
        "source_path": book.source_path,
        "page_count": book.page_count,
        "sha256": book.sha256,
        "ingested_at": book.ingested_at,
    }


def entity_row(entity: Entity) -> dict[str, Any]:
    return {
        "id": entity.id,
        "kind": entity.kind,
        "number": entity.number,
        "title": entity.title,
        "text": entity.text,
        "proof": entity.proof,
        "page": entity.page,
        "ord": entity.order,
        "section": entity.section,
        "section_id": entity.section_id,
    }


def section_row(section: Section) -> dict[str, Any]:
    return {
        "id": section.id,
        "number": section.number,
        "title": section.title,
        "level": section.level,
        "page": section.page,
        "parent_id": section.parent_id,
        "ord": section.order,
    }


def section_reference_row(ref: SectionReference, seq: int) -> dict[str, Any]:
    return {
        "source_id": ref.source_id,
        "section_id": ref.section_id,
        "surface": ref.surface,
        "page": ref.page,
        "in_proof": ref.in_proof,
        "seq": seq,
    }


def term_row(term: Term) -> dict[str, Any]:
    return {"id": term.id, "name": term.name, "surface": term.surface}


def reference_row(ref: Reference, seq: int) -> dict[str, Any]:
    return {
        "source_id": ref.source_id,
        "target_id": ref.target_id,
        "surface": ref.surface,
        "page": ref.page,
        "in_proof": ref.in_proof,
        "seq": seq,
    }


def link_row(link: TermLink) -> dict[str, Any]:
    return {"entity_id": link.entity_id, "term_id": link.term_id}


def target_parameters(target: LeanTarget) -> dict[str, Any]:
    return {
        "id": target.id,
        "entity_id": target.entity_id,
        "book_id": target.book_id,
        "informal_statement": target.informal_statement,
        "lean_code": target.lean_code,
        "status": target.status,
        "check_output": target.check_output,
        "model": target.model,
        "created_at": target.created_at,
        "lean_path": target.lean_path,
        "prompt_tokens": target.prompt_tokens,
        "completion_tokens": target.completion_tokens,
        "status_reason": target.status_reason,
        "checks": checks_to_json(target.checks),
        "verdict": target.verdict,
        "raw_answer": target.raw_answer,
        "repair_rounds": target.repair_rounds,
        "dropped_context_ids": strings_to_json(target.dropped_context_ids),
        "local_definitions": strings_to_json(target.local_definitions),
        "assumptions": strings_to_json(target.assumptions),
        "cost_usd": float(target.cost_usd),
        "price_known": target.price_known,
        "cached_calls": target.cached_calls,
    }


# --- Query results to records -------------------------------------------------


def book_from_node(node: dict[str, Any]) -> Book:
    return Book(
        id=node["id"],
        title=node["title"],
        source_path=node["source_path"],
        page_count=node["page_count"],
        sha256=node["sha256"],
        ingested_at=node["ingested_at"],
    )


def summary(book: Book, counts_by_kind: dict[str, int]) -> BookSummary:
    return BookSummary(book=book, entity_count=sum(counts_by_kind.values()), counts_by_kind=counts_by_kind)


def entity_from_node(node: dict[str, Any]) -> Entity:
    return Entity(
        id=node["id"],
        book_id=node["book_id"],
        kind=node["kind"],
        number=node["number"],
        title=node["title"],
        text=node["text"],
        page=node["page"],
        order=node["ord"],
        proof=node["proof"],
        section=node["section"],
        section_id=node["section_id"],
    )


def section_from_node(node: dict[str, Any]) -> Section:
    return Section(
        id=node["id"],
        book_id=node["book_id"],
        number=node["number"],
        title=node["title"],
        level=node["level"],
        page=node["page"],
        parent_id=node["parent_id"],
        order=node["ord"],
    )


def section_reference_from_row(row: list[Any]) -> SectionReference:
    source_id, section_id, surface, page, in_proof = row
    return SectionReference(source_id=source_id, section_id=section_id, surface=surface, page=page, in_proof=in_proof)


def term_from_node(node: dict[str, Any]) -> Term:
    return Term(id=node["id"], book_id=node["book_id"], name=node["name"], surface=node["surface"])


def reference_from_row(row: list[Any]) -> Reference:
    source_id, target_id, surface, page, in_proof = row
    return Reference(source_id=source_id, target_id=target_id, surface=surface, page=page, in_proof=in_proof)


def target_from_node(node: dict[str, Any]) -> LeanTarget:
    return LeanTarget(
        id=node["id"],
        entity_id=node["entity_id"],
        book_id=node["book_id"],
        informal_statement=node["informal_statement"],
        lean_code=node["lean_code"],
        status=node["status"],
        check_output=node["check_output"],
        model=node["model"],
        created_at=node["created_at"],
        lean_path=node["lean_path"],
        prompt_tokens=node["prompt_tokens"],
        completion_tokens=node["completion_tokens"],
        status_reason=node["status_reason"] or "",
        checks=checks_from_json(node["checks"]),
        verdict=node["verdict"] or "",
        raw_answer=node["raw_answer"] or "",
        repair_rounds=node["repair_rounds"] or 0,
        dropped_context_ids=strings_from_json(node["dropped_context_ids"]),
        local_definitions=strings_from_json(node["local_definitions"]),
        assumptions=strings_from_json(node["assumptions"]),
        cost_usd=node["cost_usd"] or 0.0,
        price_known=bool(node["price_known"]),
        cached_calls=node["cached_calls"] or 0,
    )


def content_batches(graph: BookGraph) -> list[tuple[str, list[dict[str, Any]], dict[str, Any]]]:
    """List a book's contents as row batches in write order: (query name, rows, extra parameters).

    Each store's query module defines a constant of every name here in its own
    Cypher dialect, so both stores write the same rows in the same order.
    """
    book_id = graph.book.id
    return [
        ("CREATE_ENTITIES", [entity_row(entity) for entity in graph.entities], {"book_id": book_id}),
        ("CREATE_TERMS", [term_row(term) for term in graph.terms], {"book_id": book_id}),
        ("CREATE_SECTIONS", [section_row(section) for section in graph.sections], {"book_id": book_id}),
        (
            "LINK_SUBSECTIONS",
            [{"id": s.id, "parent_id": s.parent_id} for s in graph.sections if s.parent_id is not None],
            {},
        ),
        (
            "LINK_IN_SECTION",
            [{"id": e.id, "section_id": e.section_id} for e in graph.entities if e.section_id is not None],
            {},
        ),
        (
            "CREATE_SECTION_REFERENCES",
            [section_reference_row(ref, seq) for seq, ref in enumerate(graph.section_references)],
            {},
        ),
        ("CREATE_REFERENCES", [reference_row(ref, seq) for seq, ref in enumerate(graph.references)], {}),
        ("CREATE_DEFINES", [link_row(link) for link in graph.term_links if link.type == DEFINES], {}),
        ("CREATE_MENTIONS", [link_row(link) for link in graph.term_links if link.type == MENTIONS], {}),
    ]

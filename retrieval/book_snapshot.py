"""A per-book, in-memory copy of the parts of the graph that dependency recovery reads often."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from kg.models import DEFINES, MENTIONS, Entity, Reference, Term
from kg.store import GraphStore


@dataclass
class BookSnapshot:
    """A book's items in reading order, its term links, and citations loaded on first use.

    Built from two store calls (`entities` and `edges`), so a retriever that keeps
    one per book serves later requests without scanning the book again.
    Citations and term names are fetched per item when first asked for and kept.
    """

    book_id: str
    entities: list[Entity]
    definers: dict[str, list[Entity]]  # term id -> defining items in reading order
    mentions: dict[str, list[str]]  # item id -> ids of the terms it mentions
    mention_counts: dict[str, int]  # term id -> how many items mention it
    by_id: dict[str, Entity] = field(init=False)
    # (kind, number) -> the items printed with it, in reading order; usually one.
    by_label: dict[tuple[str, str], list[Entity]] = field(init=False)
    _references: dict[str, list[Reference]] = field(default_factory=dict, init=False)
    _terms: dict[str, Term] = field(default_factory=dict, init=False)
    _terms_loaded: set[str] = field(default_factory=set, init=False)

    def __post_init__(self) -> None:
        self.by_id = {entity.id: entity for entity in self.entities}
        self.by_label = {}
        for entity in self.entities:
            if entity.number:
                self.by_label.setdefault((entity.kind, entity.number), []).append(entity)

    @classmethod
    def load(cls, store: GraphStore, book_id: str) -> BookSnapshot:
        entities = store.entities(book_id)
        by_id = {entity.id: entity for entity in entities}
        definers: dict[str, list[Entity]] = {}
        mentions: dict[str, list[str]] = {}
        mention_counts: dict[str, int] = {}
        for edge in store.edges(book_id):
            if edge.type == DEFINES and edge.source in by_id:
                definers.setdefault(edge.target, []).append(by_id[edge.source])
            elif edge.type == MENTIONS:
                mentions.setdefault(edge.source, []).append(edge.target)
                mention_counts[edge.target] = mention_counts.get(edge.target, 0) + 1
        for items in definers.values():
            items.sort(key=lambda entity: entity.order)
        return cls(book_id, entities, definers, mentions, mention_counts)

    def references_from(self, store: GraphStore, entity_id: str) -> list[Reference]:
        """Return the citations an item makes, in order of occurrence."""
        if entity_id not in self._references:
            self._references[entity_id] = store.references_from(entity_id)
        return self._references[entity_id]

    def mentioned_terms(self, store: GraphStore, entity_id: str) -> list[Term]:
        """Return the terms an item mentions, with their printed names."""
        if entity_id not in self._terms_loaded:
            for term in store.terms_mentioned_by(entity_id):
                self._terms[term.id] = term
            self._terms_loaded.add(entity_id)
        return [self._terms[term_id] for term_id in self.mentions.get(entity_id, []) if term_id in self._terms]

    def same_label(self, entity: Entity) -> list[Entity]:
        """Return every item printed with the same kind and number as `entity`, itself included."""
        if not entity.number:
            return [entity]
        return self.by_label.get((entity.kind, entity.number), [entity])

    def definition_in_force(self, term_id: str, before: Entity) -> Entity | None:
        """Return the latest item that defines the term before `before` in reading order.

        A term redefined later in the book thus links each mention to the
        definition the reader has in mind at that point.
        """
        items = self.definers.get(term_id, [])
        position = bisect.bisect_left([entity.order for entity in items], before.order)
        return items[position - 1] if position else None


def chapter_of(entity: Entity) -> str | None:
    """Return the chapter an item belongs to: the first part of its number, else of its section."""
    if entity.number and "." in entity.number:
        return entity.number.split(".", 1)[0]
    if entity.section:
        head = entity.section.strip().split(maxsplit=1)[0] if entity.section.strip() else ""
        if head[:1].isdigit():
            return head.split(".", 1)[0]
    return None

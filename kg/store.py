"""The `GraphStore` interface that every graph backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod

from kg.models import BookGraph, BookSummary, Edge, Entity, LeanTarget, Reference, Section, SectionReference, Term


class GraphStore(ABC):
    """A store of books, their items and sections, the edges between them, and Lean targets.

    Every method that names a missing book or item raises `NotFoundError`; any
    other backend failure raises `GraphStoreError` with the cause chained.
    """

    @abstractmethod
    def write_book(self, graph: BookGraph) -> None:
        """Store a whole book, replacing any earlier version with the same id.

        Lean targets of the earlier version are kept when their item id still exists.
        """

    @abstractmethod
    def delete_book(self, book_id: str) -> None:
        """Remove a book with all its items, sections, terms, edges and Lean targets."""

    @abstractmethod
    def books(self) -> list[BookSummary]:
        """List every stored book with item counts, ordered by id."""

    @abstractmethod
    def book(self, book_id: str) -> BookSummary:
        """Return one book with its item counts."""

    @abstractmethod
    def entities(self, book_id: str) -> list[Entity]:
        """List a book's items in reading order."""

    @abstractmethod
    def entity(self, entity_id: str) -> Entity:
        """Return one item by id."""

    @abstractmethod
    def find_entities(self, book_id: str, number: str, kind: str | None = None) -> list[Entity]:
        """Find the items of a book with this printed number, optionally of one kind."""

    @abstractmethod
    def sections(self, book_id: str) -> list[Section]:
        """List a book's sections in reading order, each after its parent."""

    @abstractmethod
    def references_from(self, entity_id: str) -> list[Reference]:
        """List the explicit citations an item makes, in the order they occur."""

    @abstractmethod
    def references_to(self, entity_id: str) -> list[Reference]:
        """List the explicit citations of an item by other items."""

    @abstractmethod
    def section_references_from(self, entity_id: str) -> list[SectionReference]:
        """List the citations of sections an item makes, in the order they occur."""

    @abstractmethod
    def terms_defined_by(self, entity_id: str) -> list[Term]:
        """List the terms an item defines."""

    @abstractmethod
    def terms_mentioned_by(self, entity_id: str) -> list[Term]:
        """List the terms an item mentions."""

    @abstractmethod
    def definers_of(self, term_id: str) -> list[Entity]:
        """List the items that define a term, in reading order."""

    @abstractmethod
    def edges(self, book_id: str) -> list[Edge]:
        """List every edge from a book's items to items, terms and sections, ordered by type, source, target."""

    @abstractmethod
    def write_target(self, target: LeanTarget) -> None:
        """Store a Lean target attempt linked to its item and its context items."""

    @abstractmethod
    def targets(self, entity_id: str) -> list[LeanTarget]:
        """List the Lean target attempts of an item, oldest first."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection or file handle."""

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

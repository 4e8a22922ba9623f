"""The embedded graph store: one LadybugDB database file in the workspace."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import ladybug

from kg import ladybug_queries as q
from kg.errors import GraphStoreError, NotFoundError
from kg.models import (
    CITES_SECTION,
    DEFINES,
    MENTIONS,
    REFERENCES,
    Book,
    BookGraph,
    BookSummary,
    Edge,
    Entity,
    LeanTarget,
    Reference,
    Section,
    SectionReference,
    Term,
)
from kg.records import (
    content_batches,
    LIST_BOOKS_HINT,
    book_from_node,
    book_not_found,
    book_parameters,
    check_book_graph,
    check_target_items,
    entity_from_node,
    entity_not_found,
    reference_from_row,
    section_from_node,
    section_reference_from_row,
    summary,
    target_from_node,
    target_parameters,
    term_from_node,
)
from kg.store import GraphStore

logger = logging.getLogger(__name__)

T = TypeVar("T")


class LadybugStore(GraphStore):
    """A `GraphStore` kept in one LadybugDB file, created with its schema on first use.

    LadybugDB allows one read-write `Database` per file, so a second process
    that opens the same file gets a `GraphStoreError` until the first one closes it.

    NOTE: LadybugDB 0.22 does not stop a second store on the same file inside
    one process, so open one store per file per process.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._database: ladybug.Database | None = None
        self._connection: ladybug.Connection | None = None
        self._open()
        try:
            for statement in (*q.SCHEMA, *q.MIGRATIONS):
                self._run(statement)
        except GraphStoreError:
            self.close()
            raise

    def _open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._database = ladybug.Database(self.path)
            self._connection = ladybug.Connection(self._database)
        except RuntimeError as exc:
            # LadybugDB 0.22 raises a bare RuntimeError ("Could not set lock on file ...").
            if "lock" in str(exc).lower():
                raise GraphStoreError(
                    f"graph store {self.path} is locked by another process; "
                    "wait for the other lemmagraph command to finish and retry"
                ) from exc
            raise GraphStoreError(f"failed to open graph store {self.path}: {exc}") from exc
        except OSError as exc:
            raise GraphStoreError(f"failed to open graph store {self.path}: {exc}") from exc
        logger.debug("opened graph store %s", self.path)

    # --- Low-level execution ------------------------------------------------

    def _run(self, query: str, parameters: dict[str, Any] | None = None) -> list[list[Any]]:
        """Execute one query and return all its rows."""
        if self._connection is None:
            raise GraphStoreError(f"graph store {self.path} is closed")
        try:
            result = self._connection.execute(query, parameters or {})
            rows = []
            while result.has_next():
                rows.append(result.get_next())
            result.close()
        except RuntimeError as exc:
            raise GraphStoreError(f"graph store query failed on {self.path}: {exc}") from exc
        return rows

    def _run_batch(self, query: str, rows: list[dict[str, Any]], **parameters: Any) -> None:
        """Execute an UNWIND query over `rows`, skipping it when there are none.

        LadybugDB 0.22 cannot infer the element type of an empty list
        parameter, so an empty batch would fail to bind.
        """
        if rows:
            self._run(query, {"rows": rows, **parameters})

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """Run the block in one write transaction and roll it back on any error."""
        self._run(q.BEGIN)
        try:
            yield
            self._run(q.COMMIT)
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        # In LadybugDB 0.22 a failed statement already aborts the transaction,
        # so ROLLBACK then fails with "No active transaction", which is harmless.
        try:
            self._run(q.ROLLBACK)
        except GraphStoreError as exc:
            logger.debug("rollback on %s: %s", self.path, exc)

    # --- Writing books ------------------------------------------------------

    def write_book(self, graph: BookGraph) -> None:
        """Store a whole book in one transaction, replacing any earlier version.

        The book node is written with `complete=false` and flipped to true as
        the last step. The transaction already makes the write atomic, and the
        flag keeps the reader contract the same as for backends that cannot
        write a book in one transaction.
        """
        check_book_graph(graph)
        book_id = graph.book.id
        entity_ids = [entity.id for entity in graph.entities]
        term_ids = [term.id for term in graph.terms]
        self._check_ids_free(q.FOREIGN_ENTITY_IDS, "item", entity_ids, book_id)
        self._check_ids_free(q.FOREIGN_TERM_IDS, "term", term_ids, book_id)
        section_ids = [section.id for section in graph.sections]
        self._check_ids_free(q.FOREIGN_SECTION_IDS, "section", section_ids, book_id)

        with self._transaction():
            old_targets = self._run(q.TARGETS_OF_BOOK, {"book_id": book_id})
            old_context = self._run(q.CONTEXT_INTO_BOOK, {"book_id": book_id})

            self._run(q.MERGE_BOOK_INCOMPLETE, book_parameters(graph.book))
            self._run(q.DELETE_BOOK_ENTITIES, {"book_id": book_id})
            self._run(q.DELETE_BOOK_TERMS, {"book_id": book_id})
            self._run(q.DELETE_BOOK_SECTIONS, {"book_id": book_id})
            self._write_contents(graph)
            self._relink_targets(set(entity_ids), old_targets, old_context)
            self._run(q.MARK_BOOK_COMPLETE, {"book_id": book_id})

        logger.info(
            "wrote book %s: %d items, %d references, %d terms, %d sections, %d section references",
            book_id,
            len(graph.entities),
            len(graph.references),
            len(graph.terms),
            len(graph.sections),
            len(graph.section_references),
        )

    def _check_ids_free(self, query: str, noun: str, ids: list[str], book_id: str) -> None:
        """Raise if one of `ids` already belongs to another book: ids are global keys."""
        if not ids:
            return
        rows = self._run(query, {"ids": ids, "book_id": book_id})
        if rows:
            taken_id, owner = rows[0]
            raise GraphStoreError(
                f"{noun} id {taken_id!r} of book {book_id!r} is already used by book {owner!r}; "
                "ids must be unique across books, so give one of the books another id with --book"
            )

    def _write_contents(self, graph: BookGraph) -> None:
        for query_name, rows, parameters in content_batches(graph):
            self._run_batch(getattr(q, query_name), rows, **parameters)

    def _relink_targets(
        self,
        new_entity_ids: set[str],
        old_targets: list[list[Any]],
        old_context: list[list[Any]],
    ) -> None:
        """Re-attach Lean targets to the new items and drop those whose item is gone."""
        formalizes = []
        dropped: list[str] = []
        for target_id, entity_id in old_targets:
            if entity_id in new_entity_ids:
                formalizes.append({"target_id": target_id, "entity_id": entity_id})
            else:
                dropped.append(target_id)

        if dropped:
            self._run(q.DELETE_TARGETS_BY_ID, {"ids": dropped})
            logger.info(
                "dropped %d Lean targets whose item no longer exists: %s",
                len(dropped),
                ", ".join(dropped[:10]),
            )
        self._run_batch(q.LINK_FORMALIZES, formalizes)

        # Context edges can come from targets of other books, which stay. Only
        # edges to items that no longer exist are lost.
        dropped_ids = set(dropped)
        context = [
            {"target_id": target_id, "entity_id": entity_id, "rank": rank}
            for target_id, entity_id, rank in old_context
            if entity_id in new_entity_ids and target_id not in dropped_ids
        ]
        self._run_batch(q.LINK_CONTEXT, context)

    def delete_book(self, book_id: str) -> None:
        if not self._run(q.BOOK_EXISTS_ANY_STATE, {"book_id": book_id}):
            raise book_not_found(book_id)
        with self._transaction():
            self._run(q.DELETE_BOOK_TARGETS, {"book_id": book_id})
            self._run(q.DELETE_BOOK_ENTITIES, {"book_id": book_id})
            self._run(q.DELETE_BOOK_TERMS, {"book_id": book_id})
            self._run(q.DELETE_BOOK_SECTIONS, {"book_id": book_id})
            self._run(q.DELETE_BOOK_NODE, {"book_id": book_id})
        logger.info("deleted book %s", book_id)

    # --- Reading books and items --------------------------------------------

    def books(self) -> list[BookSummary]:
        rows = self._run(q.COMPLETE_BOOKS_WITH_KIND_COUNTS)
        books: dict[str, Book] = {}
        counts: dict[str, dict[str, int]] = {}
        for node, kind, count in rows:
            book = book_from_node(node)
            books[book.id] = book
            kinds = counts.setdefault(book.id, {})
            if kind is not None:
                kinds[kind] = count
        return [summary(books[book_id], counts[book_id]) for book_id in sorted(books)]

    def book(self, book_id: str) -> BookSummary:
        rows = self._run(q.COMPLETE_BOOK, {"book_id": book_id})
        if not rows:
            raise book_not_found(book_id)
        book = book_from_node(rows[0][0])
        kind_rows = self._run(q.KIND_COUNTS_OF_BOOK, {"book_id": book_id})
        return summary(book, {kind: count for kind, count in kind_rows})

    def entities(self, book_id: str) -> list[Entity]:
        rows = self._run(q.ENTITIES_OF_BOOK, {"book_id": book_id})
        if not rows:
            self._require_book(book_id)
        return [entity_from_node(row[0]) for row in rows]

    def entity(self, entity_id: str) -> Entity:
        rows = self._run(q.ENTITY_BY_ID, {"entity_id": entity_id})
        if not rows:
            raise entity_not_found(entity_id)
        return entity_from_node(rows[0][0])

    def find_entities(self, book_id: str, number: str, kind: str | None = None) -> list[Entity]:
        if kind is None:
            rows = self._run(q.ENTITIES_BY_NUMBER, {"book_id": book_id, "number": number})
        else:
            parameters = {"book_id": book_id, "number": number, "kind": kind}
            rows = self._run(q.ENTITIES_BY_NUMBER_AND_KIND, parameters)
        if not rows:
            self._require_book(book_id)
        return [entity_from_node(row[0]) for row in rows]

    def sections(self, book_id: str) -> list[Section]:
        rows = self._run(q.SECTIONS_OF_BOOK, {"book_id": book_id})
        if not rows:
            self._require_book(book_id)
        return [section_from_node(row[0]) for row in rows]

    # --- Reading edges ------------------------------------------------------

    def references_from(self, entity_id: str) -> list[Reference]:
        return self._entity_rows(q.REFERENCES_FROM, entity_id, reference_from_row)

    def references_to(self, entity_id: str) -> list[Reference]:
        return self._entity_rows(q.REFERENCES_TO, entity_id, reference_from_row)

    def section_references_from(self, entity_id: str) -> list[SectionReference]:
        return self._entity_rows(q.SECTION_REFERENCES_FROM, entity_id, section_reference_from_row)

    def terms_defined_by(self, entity_id: str) -> list[Term]:
        return self._entity_rows(q.TERMS_DEFINED_BY, entity_id, lambda row: term_from_node(row[0]))

    def terms_mentioned_by(self, entity_id: str) -> list[Term]:
        return self._entity_rows(q.TERMS_MENTIONED_BY, entity_id, lambda row: term_from_node(row[0]))

    def definers_of(self, term_id: str) -> list[Entity]:
        rows = self._run(q.DEFINERS_OF, {"term_id": term_id})
        if not rows and not self._run(q.TERM_EXISTS, {"term_id": term_id}):
            raise NotFoundError(f"term {term_id!r} not found; {LIST_BOOKS_HINT}")
        return [entity_from_node(row[0]) for row in rows]

    def edges(self, book_id: str) -> list[Edge]:
        """List the distinct edges from a book's items to items, terms and sections, ordered by type, source, target.

        An item that cites another item several times gives one REFERENCES edge.
        """
        self._require_book(book_id)
        parameters = {"book_id": book_id}
        edges = [
            Edge(source, target, edge_type)
            for edge_type, query in (
                (REFERENCES, q.REFERENCE_EDGES_OF_BOOK),
                (DEFINES, q.DEFINES_EDGES_OF_BOOK),
                (MENTIONS, q.MENTIONS_EDGES_OF_BOOK),
                (CITES_SECTION, q.CITES_SECTION_EDGES_OF_BOOK),
            )
            for source, target in self._run(query, parameters)
        ]
        return sorted(edges, key=lambda edge: (edge.type, edge.source, edge.target))

    def _entity_rows(self, query: str, entity_id: str, convert: Callable[[list[Any]], T]) -> list[T]:
        """Run a query keyed by one item, and check that the item exists when no rows come back."""
        rows = self._run(query, {"entity_id": entity_id})
        if not rows:
            self.entity(entity_id)
        return [convert(row) for row in rows]

    def _require_book(self, book_id: str) -> None:
        if not self._run(q.COMPLETE_BOOK, {"book_id": book_id}):
            raise book_not_found(book_id)

    # --- Lean targets -------------------------------------------------------

    def write_target(self, target: LeanTarget) -> None:
        """Store a Lean target attempt, replacing an earlier one with the same target id.

        The item and every context item must exist, or `NotFoundError` names
        the first missing one. Context edges keep the order of `context_ids`.
        """
        ids = list(dict.fromkeys([target.entity_id, *target.context_ids]))
        check_target_items(target, {row[0]: row[1] for row in self._run(q.ENTITY_BOOKS, {"ids": ids})})

        context = [
            {"target_id": target.id, "entity_id": context_id, "rank": rank}
            for rank, context_id in enumerate(target.context_ids)
        ]
        with self._transaction():
            self._run(q.DELETE_TARGETS_BY_ID, {"ids": [target.id]})
            self._run(q.CREATE_TARGET, target_parameters(target))
            self._run_batch(q.LINK_CONTEXT, context)

    def targets(self, entity_id: str) -> list[LeanTarget]:
        """List the Lean target attempts of an item, oldest `created_at` first."""
        self.entity(entity_id)
        rows = self._run(q.TARGETS_OF_ENTITY, {"entity_id": entity_id})
        targets: dict[str, LeanTarget] = {}
        for node, context_id, _rank in rows:
            target = targets.get(node["id"])
            if target is None:
                target = target_from_node(node)
                targets[target.id] = target
            if context_id is not None:
                target.context_ids.append(context_id)
        return list(targets.values())

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._database is not None:
            self._database.close()
            self._database = None
            logger.debug("closed graph store %s", self.path)

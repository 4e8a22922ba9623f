"""The Neo4j graph store: a Neo4j 5 server, cluster or Aura database reached with the official driver."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import neo4j
from neo4j.exceptions import AuthError, DriverError, Neo4jError, ServiceUnavailable

from kg import neo4j_queries as q
from kg.errors import GraphStoreError, NotFoundError
# NOTE: the input checks and record conversions live in the embedded store's
# module, so importing this module also loads LadybugDB. Sharing them keeps the
# two stores' validation messages and stored fields identical.
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
from kg.store import GraphStore

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Rows written per transaction. Large enough to keep round trips few, small
# enough that one transaction of long item texts stays well under the server's
# default transaction memory limit.
WRITE_BATCH_ROWS = 2000

# Bolt schemes of the official driver: neo4j:// routes across a cluster, "+s" adds
# TLS with a verified certificate and "+ssc" TLS with a self-signed one.
URI_SCHEMES: tuple[str, ...] = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")

START_HINT = 'start the local server with `eval "$(scripts/neo4j-local start)"` or set NEO4J_URI'


class Neo4jStore(GraphStore):
    """A `GraphStore` on a Neo4j 5 server, with its constraints and indexes created on first use.

    A book is written in several transactions of at most `WRITE_BATCH_ROWS`
    rows. Its Book node is marked incomplete first and complete last, readers
    skip incomplete books, and the next `write_book` of the same id replaces an
    incomplete book. So a write that fails halfway, for example because the
    server stopped, leaves no visible partial book, and rerunning it leaves no
    duplicate or orphan nodes.
    """

    def __init__(
        self,
        uri: str,
        username: str | None,
        password: str | None,
        database: str | None = None,
        *,
        retry_seconds: float = 15.0,
    ) -> None:
        """Connect to `uri` and create the schema, or raise `GraphStoreError` saying what to fix.

        `retry_seconds` bounds how long the driver retries a transaction after
        a transient error, such as a cluster leader change or a lost connection.
        """
        self.uri = uri
        self.database = database
        self._username = username or "neo4j"
        auth = (self._username, password) if password is not None else None
        scheme = uri.partition("://")[0]
        if scheme not in URI_SCHEMES:
            raise GraphStoreError(
                f"invalid Neo4j URI {uri!r}: the scheme must be one of {', '.join(URI_SCHEMES)}, "
                "for example bolt://127.0.0.1:7687 or neo4j+s://xxxx.databases.neo4j.io"
            )
        try:
            self._driver: neo4j.Driver | None = neo4j.GraphDatabase.driver(
                uri,
                auth=auth,
                max_transaction_retry_time=retry_seconds,
                connection_timeout=10.0,
                # The server's notices (such as "property key does not exist" on an
                # empty database) are about query style, not failures.
                notifications_min_severity=neo4j.NotificationMinimumSeverity.OFF,
            )
        except (ValueError, DriverError) as exc:
            raise GraphStoreError(f"invalid Neo4j URI {uri!r}: {exc}") from exc
        try:
            self._call(self.driver.verify_connectivity)
            for statement in q.SCHEMA:
                self._call(lambda: self.driver.execute_query(statement, database_=database))
        except GraphStoreError:
            self.close()
            raise
        logger.debug("opened Neo4j graph store %s (database %s)", uri, database or "default")

    @property
    def driver(self) -> neo4j.Driver:
        """The open driver, shared with `Neo4jVectorIndex`."""
        if self._driver is None:
            raise GraphStoreError(f"Neo4j graph store {self.uri} is closed")
        return self._driver

    # --- Low-level execution ------------------------------------------------

    def _call(self, action: Callable[[], T]) -> T:
        """Run one driver call and turn driver errors into `GraphStoreError`."""
        try:
            return action()
        except AuthError as exc:
            raise GraphStoreError(
                f"Neo4j server {self.uri} rejected the credentials of user {self._username!r}: "
                "check NEO4J_USERNAME and NEO4J_PASSWORD (or --neo4j-username and --neo4j-password)"
            ) from exc
        except ServiceUnavailable as exc:
            raise GraphStoreError(f"Neo4j server {self.uri} is not reachable ({exc}); {START_HINT}") from exc
        except (Neo4jError, DriverError) as exc:
            raise GraphStoreError(f"Neo4j query failed on {self.uri}: {exc}") from exc

    def _read(self, query: str, **parameters: Any) -> list[neo4j.Record]:
        """Run one read query in a managed transaction and return all its records."""

        def work(tx: neo4j.ManagedTransaction) -> list[neo4j.Record]:
            return list(tx.run(query, parameters))

        return self._call(lambda: self._session_call(work, write=False))

    def _write(self, work: Callable[[neo4j.ManagedTransaction], T]) -> T:
        """Run `work` in one write transaction, which the driver retries on transient errors."""
        return self._call(lambda: self._session_call(work, write=True))

    def _session_call(self, work: Callable[[neo4j.ManagedTransaction], T], *, write: bool) -> T:
        with self.driver.session(database=self.database) as session:
            if write:
                return session.execute_write(work)
            return session.execute_read(work)

    def _write_one(self, query: str, **parameters: Any) -> None:
        self._write(lambda tx: tx.run(query, parameters).consume())

    def _write_batches(self, query: str, rows: list[dict[str, Any]], **parameters: Any) -> None:
        """Run an UNWIND query over `rows` in transactions of at most `WRITE_BATCH_ROWS` rows."""
        for start in range(0, len(rows), WRITE_BATCH_ROWS):
            batch = rows[start : start + WRITE_BATCH_ROWS]
            self._write_one(query, rows=batch, **parameters)

    def _delete_in_batches(self, query: str, book_id: str) -> None:
        """Run a DETACH DELETE query that removes at most `$limit` nodes until none are left."""

        def work(tx: neo4j.ManagedTransaction) -> int:
            return tx.run(query, {"book_id": book_id, "limit": WRITE_BATCH_ROWS}).single(strict=True)["deleted"]

        while self._write(work) == WRITE_BATCH_ROWS:
            pass

    # --- Writing books ------------------------------------------------------

    def write_book(self, graph: BookGraph) -> None:
        """Store a whole book, replacing any earlier version, in batched transactions.

        The Book node is written with `complete=false` first and flipped to
        true as the last step, so readers never see a half-written book.
        """
        check_book_graph(graph)
        book_id = graph.book.id
        entity_ids = [entity.id for entity in graph.entities]
        term_ids = [term.id for term in graph.terms]
        self._check_ids_free(q.FOREIGN_ENTITY_IDS, "item", entity_ids, book_id)
        self._check_ids_free(q.FOREIGN_TERM_IDS, "term", term_ids, book_id)
        section_ids = [section.id for section in graph.sections]
        self._check_ids_free(q.FOREIGN_SECTION_IDS, "section", section_ids, book_id)

        self._write_one(q.MERGE_BOOK_INCOMPLETE, **book_parameters(graph.book))
        self._delete_in_batches(q.DELETE_BOOK_ENTITIES_BATCH, book_id)
        self._delete_in_batches(q.DELETE_BOOK_TERMS_BATCH, book_id)
        self._delete_in_batches(q.DELETE_BOOK_SECTIONS_BATCH, book_id)
        self._write_contents(graph)
        self._relink_targets(book_id, entity_ids)
        self._write_one(q.MARK_BOOK_COMPLETE, book_id=book_id)

        logger.info(
            "wrote book %s to %s: %d items, %d references, %d terms, %d sections, %d section references",
            book_id,
            self.uri,
            len(graph.entities),
            len(graph.references),
            len(graph.terms),
            len(graph.sections),
            len(graph.section_references),
        )

    def _check_ids_free(self, query: str, noun: str, ids: list[str], book_id: str) -> None:
        """Raise if one of `ids` already belongs to another book: ids are unique across books."""
        if not ids:
            return
        records = self._read(query, ids=ids, book_id=book_id)
        if records:
            raise GraphStoreError(
                f"{noun} id {records[0]['id']!r} of book {book_id!r} is already used by book "
                f"{records[0]['book_id']!r}; ids must be unique across books, so give one of the "
                "books another id with --book"
            )

    def _write_contents(self, graph: BookGraph) -> None:
        for query_name, rows, parameters in content_batches(graph):
            self._write_batches(getattr(q, query_name), rows, **parameters)

    def _relink_targets(self, book_id: str, entity_ids: list[str]) -> None:
        """Re-attach Lean targets to the book's new items and drop those whose item is gone.

        The links are rebuilt from the targets' `entity_id` and `context_ids`
        properties, so this also repairs the links after an interrupted write.
        """
        new_ids = set(entity_ids)
        formalizes = []
        dropped: list[str] = []
        for record in self._read(q.TARGETS_OF_BOOK, book_id=book_id):
            if record["entity_id"] in new_ids:
                formalizes.append({"target_id": record["target_id"], "entity_id": record["entity_id"]})
            else:
                dropped.append(record["target_id"])

        if dropped:
            self._write_one(q.DELETE_TARGETS_BY_ID, ids=dropped)
            logger.info(
                "dropped %d Lean targets whose item no longer exists: %s",
                len(dropped),
                ", ".join(dropped[:10]),
            )
        self._write_batches(q.LINK_FORMALIZES, formalizes)

        # Context edges can come from targets of other books, which stay.
        if entity_ids:
            context = [dict(record) for record in self._read(q.CONTEXT_INTO_IDS, ids=entity_ids)]
            self._write_batches(q.LINK_CONTEXT, context)
        # NOTE: this blanks context ids of items that are missing right now. An
        # item of another book that is being rewritten at the same moment is
        # missing too, so concurrent ingests of two books can lose such edges.
        self._write_one(q.FORGET_MISSING_CONTEXT)

    def delete_book(self, book_id: str) -> None:
        """Remove a book in batched transactions. A delete that fails halfway can be rerun."""
        if not self._read(q.BOOK_EXISTS_ANY_STATE, book_id=book_id):
            raise book_not_found(book_id)
        self._write_one(q.MARK_BOOK_INCOMPLETE, book_id=book_id)
        self._write_one(q.DELETE_BOOK_TARGETS, book_id=book_id)
        self._delete_in_batches(q.DELETE_BOOK_ENTITIES_BATCH, book_id)
        self._delete_in_batches(q.DELETE_BOOK_TERMS_BATCH, book_id)
        self._delete_in_batches(q.DELETE_BOOK_SECTIONS_BATCH, book_id)
        self._write_one(q.FORGET_MISSING_CONTEXT)
        self._write_one(q.DELETE_BOOK_NODE, book_id=book_id)
        logger.info("deleted book %s from %s", book_id, self.uri)

    # --- Reading books and items --------------------------------------------

    def books(self) -> list[BookSummary]:
        books: dict[str, Book] = {}
        counts: dict[str, dict[str, int]] = {}
        for record in self._read(q.COMPLETE_BOOKS_WITH_KIND_COUNTS):
            book = book_from_node(_properties(record["book"]))
            books[book.id] = book
            kinds = counts.setdefault(book.id, {})
            if record["kind"] is not None:
                kinds[record["kind"]] = record["count"]
        return [summary(books[book_id], counts[book_id]) for book_id in sorted(books)]

    def book(self, book_id: str) -> BookSummary:
        records = self._read(q.COMPLETE_BOOK_WITH_KIND_COUNTS, book_id=book_id)
        if not records:
            raise book_not_found(book_id)
        book = book_from_node(_properties(records[0]["book"]))
        return summary(book, {record["kind"]: record["count"] for record in records if record["kind"] is not None})

    def entities(self, book_id: str) -> list[Entity]:
        records = self._read(q.ENTITIES_OF_BOOK, book_id=book_id)
        if not records:
            self._require_book(book_id)
        return [_entity(record) for record in records]

    def entity(self, entity_id: str) -> Entity:
        records = self._read(q.ENTITY_BY_ID, entity_id=entity_id)
        if not records:
            raise entity_not_found(entity_id)
        return _entity(records[0])

    def find_entities(self, book_id: str, number: str, kind: str | None = None) -> list[Entity]:
        if kind is None:
            records = self._read(q.ENTITIES_BY_NUMBER, book_id=book_id, number=number)
        else:
            records = self._read(q.ENTITIES_BY_NUMBER_AND_KIND, book_id=book_id, number=number, kind=kind)
        if not records:
            self._require_book(book_id)
        return [_entity(record) for record in records]

    def sections(self, book_id: str) -> list[Section]:
        records = self._read(q.SECTIONS_OF_BOOK, book_id=book_id)
        if not records:
            self._require_book(book_id)
        return [section_from_node(_properties(record["section"])) for record in records]

    # --- Reading edges ------------------------------------------------------

    def references_from(self, entity_id: str) -> list[Reference]:
        return self._entity_records(q.REFERENCES_FROM, entity_id, "target_id", _reference)

    def references_to(self, entity_id: str) -> list[Reference]:
        return self._entity_records(q.REFERENCES_TO, entity_id, "source_id", _reference)

    def section_references_from(self, entity_id: str) -> list[SectionReference]:
        return self._entity_records(q.SECTION_REFERENCES_FROM, entity_id, "section_id", _section_reference)

    def terms_defined_by(self, entity_id: str) -> list[Term]:
        return self._entity_records(q.TERMS_DEFINED_BY, entity_id, "term", _term)

    def terms_mentioned_by(self, entity_id: str) -> list[Term]:
        return self._entity_records(q.TERMS_MENTIONED_BY, entity_id, "term", _term)

    def definers_of(self, term_id: str) -> list[Entity]:
        records = self._read(q.DEFINERS_OF, term_id=term_id)
        if not records and not self._read(q.TERM_EXISTS, term_id=term_id):
            raise NotFoundError(f"term {term_id!r} not found; {LIST_BOOKS_HINT}")
        return [_entity(record) for record in records]

    def edges(self, book_id: str) -> list[Edge]:
        """List the distinct edges from a book's items to items, terms and sections, ordered by type, source, target.

        An item that cites another item several times gives one REFERENCES edge.
        """
        self._require_book(book_id)
        edges = [
            Edge(record["source"], record["target"], edge_type)
            for edge_type, query in (
                (REFERENCES, q.REFERENCE_EDGES_OF_BOOK),
                (DEFINES, q.DEFINES_EDGES_OF_BOOK),
                (MENTIONS, q.MENTIONS_EDGES_OF_BOOK),
                (CITES_SECTION, q.CITES_SECTION_EDGES_OF_BOOK),
            )
            for record in self._read(query, book_id=book_id)
        ]
        return sorted(edges, key=lambda edge: (edge.type, edge.source, edge.target))

    def _entity_records(
        self, query: str, entity_id: str, edge_column: str, convert: Callable[[neo4j.Record], T]
    ) -> list[T]:
        """Run a query keyed by one item and convert the rows whose `edge_column` is not null.

        The query returns no rows when the item does not exist, which raises
        `NotFoundError`, and one row with null edge columns when it has no edges.
        """
        records = self._read(query, entity_id=entity_id)
        if not records:
            raise entity_not_found(entity_id)
        return [convert(record) for record in records if record[edge_column] is not None]

    def _require_book(self, book_id: str) -> None:
        if not self._read(q.COMPLETE_BOOK, book_id=book_id):
            raise book_not_found(book_id)

    # --- Lean targets -------------------------------------------------------

    def write_target(self, target: LeanTarget) -> None:
        """Store a Lean target attempt, replacing an earlier one with the same target id.

        The item and every context item must exist, or `NotFoundError` names
        the first missing one. Context edges keep the order of `context_ids`.
        """
        ids = list(dict.fromkeys([target.entity_id, *target.context_ids]))
        check_target_items(target, {record[0]: record[1] for record in self._read(q.ENTITY_BOOKS, ids=ids)})

        context = [
            {"target_id": target.id, "entity_id": context_id, "rank": rank}
            for rank, context_id in enumerate(target.context_ids)
        ]

        def work(tx: neo4j.ManagedTransaction) -> None:
            tx.run(q.DELETE_TARGETS_BY_ID, {"ids": [target.id]}).consume()
            properties = target_parameters(target)
            parameters = {"entity_id": target.entity_id, "properties": properties, "context_ids": target.context_ids}
            tx.run(q.CREATE_TARGET, parameters).consume()
            if context:
                tx.run(q.LINK_CONTEXT, {"rows": context}).consume()

        self._write(work)

    def targets(self, entity_id: str) -> list[LeanTarget]:
        """List the Lean target attempts of an item, oldest `created_at` first."""
        self.entity(entity_id)
        targets: dict[str, LeanTarget] = {}
        for record in self._read(q.TARGETS_OF_ENTITY, entity_id=entity_id):
            properties = _properties(record["target"])
            target = targets.get(properties["id"])
            if target is None:
                target = target_from_node(properties)
                targets[target.id] = target
            if record["context_id"] is not None:
                target.context_ids.append(record["context_id"])
        return list(targets.values())

    def close(self) -> None:
        if self._driver is not None:
            self._driver.close()
            self._driver = None
            logger.debug("closed Neo4j graph store %s", self.uri)


# --- Query results to records ---------------------------------------------------


def _properties(node: neo4j.graph.Node) -> defaultdict[str, Any]:
    """Return a node's properties, with None for absent ones: Neo4j does not store null properties."""
    return defaultdict(lambda: None, node.items())


def _entity(record: Mapping[str, Any]) -> Entity:
    return entity_from_node(_properties(record["entity"]))


def _reference(record: neo4j.Record) -> Reference:
    return reference_from_row(record.values())


def _section_reference(record: neo4j.Record) -> SectionReference:
    return section_reference_from_row(record.values())


def _term(record: Mapping[str, Any]) -> Term:
    return term_from_node(_properties(record["term"]))

"""Item embeddings kept on Neo4j's Entity nodes and searched with a Neo4j vector index.

Each item's embedding is the `embedding` property of its `Entity` node, which
the graph store writes. So `write` must run after the store's `write_book`,
and it must run again after every re-ingest, because `write_book` replaces the
Entity nodes. The Book node records that the book's vectors are complete in
`embedding_count` and `embedding_dimension`, even when the book has no items.
`write` sets them last, and `delete` removes them.

One vector index, `entity_embedding` on `:Entity(embedding)` with cosine
similarity, covers every book. Its dimension is fixed by the first `write`;
vectors of another dimension are rejected.

A search whose candidate pool would cover the whole book anyway (dependency
recovery requests 200 neighbours) skips the vector index: it loads the book's
vectors once per `Neo4jVectorIndex` and ranks them exactly in process, as the
FAISS index does. Smaller searches on larger books use the vector index.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import neo4j
import numpy as np
from neo4j.exceptions import DriverError, Neo4jError

from kg.errors import RetrievalError
from retrieval.vector_index import Neighbour, VectorIndex

log = logging.getLogger(__name__)

T = TypeVar("T")

INDEX_NAME = "entity_embedding"
WRITE_BATCH_ROWS = 2000
INDEX_WAIT_SECONDS = 300
MAX_MISSING_IDS_IN_MESSAGE = 5

# The dimension is formatted in as a Python int; every other value is a parameter.
CREATE_VECTOR_INDEX = """
CREATE VECTOR INDEX entity_embedding IF NOT EXISTS
FOR (e:Entity) ON (e.embedding)
OPTIONS {{indexConfig: {{`vector.dimensions`: {dimension}, `vector.similarity_function`: 'cosine'}}}}
"""

INDEX_SCHEMA = """
SHOW INDEXES YIELD name, type, labelsOrTypes, properties, options
WHERE name = $name
RETURN type, labelsOrTypes AS labels, properties,
       options.indexConfig['vector.dimensions'] AS dimension
"""

AWAIT_INDEX = "CALL db.awaitIndex($name, $seconds)"

# Index names cannot be parameters, so each DROP names its index.
DROP_VECTOR_INDEX = "DROP INDEX entity_embedding IF EXISTS"

# The earlier layout kept vectors on separate EntityEmbedding nodes, with an
# EmbeddingSet node per book. `_drop_earlier_layout` removes their schema and nodes.
DROP_EARLIER_LAYOUT_SCHEMA: tuple[str, ...] = (
    "DROP INDEX entity_embedding_book_id IF EXISTS",
    "DROP CONSTRAINT embedding_set_book_id_unique IF EXISTS",
)
DELETE_EARLIER_EMBEDDINGS_BATCH = """
MATCH (n:EntityEmbedding)
WITH n LIMIT $limit
DETACH DELETE n
RETURN count(*) AS deleted
"""
DELETE_EARLIER_SETS_BATCH = """
MATCH (n:EmbeddingSet)
WITH n LIMIT $limit
DETACH DELETE n
RETURN count(*) AS deleted
"""

BOOK_EXISTS = "MATCH (b:Book {id: $book_id}) RETURN b.id AS id"

# An id counts as missing when no Entity node has it or the node belongs to another book.
MISSING_ENTITY_IDS = """
UNWIND $ids AS id
OPTIONAL MATCH (e:Entity {id: id})
WITH id, e
WHERE e IS NULL OR e.book_id <> $book_id
RETURN id
"""

CLEAR_MARKER = """
MATCH (b:Book {id: $book_id})
REMOVE b.embedding_count, b.embedding_dimension
"""

REMOVE_EMBEDDINGS_BATCH = """
MATCH (e:Entity {book_id: $book_id})
WHERE e.embedding IS NOT NULL
WITH e LIMIT $limit
REMOVE e.embedding
RETURN count(*) AS removed
"""

# Neo4j 5.26 describes setNodeVectorProperty as more space efficient than a plain SET.
SET_EMBEDDINGS = """
UNWIND $rows AS r
MATCH (e:Entity {id: r.entity_id})
WHERE e.book_id = $book_id
CALL db.create.setNodeVectorProperty(e, 'embedding', r.embedding)
RETURN count(*) AS written
"""

SET_MARKER = """
MATCH (b:Book {id: $book_id})
SET b.embedding_count = $count, b.embedding_dimension = $dimension
"""

# `stored` guards against a re-ingest whose `write_book` replaced the Entity
# nodes but whose vectors were never written again.
EMBEDDING_STATE = """
MATCH (b:Book {id: $book_id})
WHERE b.embedding_count IS NOT NULL
OPTIONAL MATCH (e:Entity {book_id: $book_id})
WHERE e.embedding IS NOT NULL
RETURN b.embedding_count AS expected, count(e) AS stored
"""

EMBEDDING_OF_ENTITY = """
MATCH (e:Entity {id: $entity_id})
WHERE e.book_id = $book_id
RETURN e.embedding AS embedding
"""

EMBEDDINGS_OF_BOOK = """
MATCH (e:Entity {book_id: $book_id})
WHERE e.embedding IS NOT NULL
RETURN e.id AS entity_id, e.embedding AS embedding
ORDER BY e.ord, e.id
"""

# The sum of every book's recorded count, which is cheaper than scanning all Entity nodes.
EMBEDDING_COUNT = "MATCH (b:Book) RETURN coalesce(sum(b.embedding_count), 0) AS count"

# The index covers every book, so it is asked for `$candidates` neighbours and
# the caller asks again with more when fewer than `$k` belong to the book.
# Neo4j 5.26 quantizes indexed vectors by default, so the index's own score is
# approximate; the candidates are scored again on the stored vectors.
NEAREST_IN_BOOK = """
CALL db.index.vector.queryNodes($name, $candidates, $embedding) YIELD node
WHERE node.book_id = $book_id
WITH node, vector.similarity.cosine(node.embedding, $embedding) AS score
RETURN node.id AS entity_id, score
ORDER BY score DESC
LIMIT $k
"""


class Neo4jVectorIndex(VectorIndex):
    """Item embeddings on `Entity` nodes, searched with the `entity_embedding` vector index.

    NOTE: Neo4j's vector index is approximate (HNSW), unlike the exact FAISS
    index, so a search that uses it can miss a true nearest neighbour in a
    large book. A book's vector count and loaded vectors are cached for the
    life of this object, as the FAISS index caches its files. So a rewrite of
    the book by another process is not seen until a new object is made.
    """

    def __init__(self, driver: neo4j.Driver, database: str | None = None) -> None:
        self._driver = driver
        self._database = database
        self._schema_ready = False
        self._counts: dict[str, int] = {}
        # book id -> (entity ids, their vectors as rows, row of each entity id)
        self._loaded: dict[str, tuple[list[str], np.ndarray, dict[str, int]]] = {}

    # --- Low-level execution ------------------------------------------------

    def _call(self, action: Callable[[], T]) -> T:
        try:
            return action()
        except (Neo4jError, DriverError) as exc:
            raise RetrievalError(f"Neo4j vector index query failed: {exc}") from exc

    def _read(self, query: str, **parameters: Any) -> list[neo4j.Record]:
        def work(tx: neo4j.ManagedTransaction) -> list[neo4j.Record]:
            return list(tx.run(query, parameters))

        return self._call(lambda: self._session_call(work, write=False))

    def _write(self, query: str, **parameters: Any) -> list[neo4j.Record]:
        def work(tx: neo4j.ManagedTransaction) -> list[neo4j.Record]:
            return list(tx.run(query, parameters))

        return self._call(lambda: self._session_call(work, write=True))

    def _session_call(self, work: Callable[[neo4j.ManagedTransaction], T], *, write: bool) -> T:
        with self._driver.session(database=self._database) as session:
            return session.execute_write(work) if write else session.execute_read(work)

    def _write_until_done(self, query: str, column: str, **parameters: Any) -> None:
        """Run a query that changes at most `$limit` nodes until it changes fewer."""
        while self._write(query, limit=WRITE_BATCH_ROWS, **parameters)[0][column] >= WRITE_BATCH_ROWS:
            pass

    # --- Schema ---------------------------------------------------------------

    def _ensure_schema(self, dimension: int) -> None:
        """Create the vector index, replacing one from the earlier layout, and check its dimension."""
        if not self._schema_ready:
            records = self._read(INDEX_SCHEMA, name=INDEX_NAME)
            if records and not _indexes_entity_embeddings(records[0]):
                # A database written by the earlier layout has `entity_embedding`
                # on EntityEmbedding nodes, and CREATE ... IF NOT EXISTS would keep it.
                self._drop_earlier_layout(records[0])
            self._write(CREATE_VECTOR_INDEX.format(dimension=int(dimension)))
            self._schema_ready = True
        records = self._read(INDEX_SCHEMA, name=INDEX_NAME)
        indexed = records[0]["dimension"] if records else None
        if indexed is not None and int(indexed) != dimension:
            raise RetrievalError(
                f"the Neo4j vector index {INDEX_NAME} holds {indexed}-dimensional vectors, but these "
                f"are {dimension}-dimensional; drop it with `DROP INDEX {INDEX_NAME}` and ingest again"
            )
        self._write(AWAIT_INDEX, name=INDEX_NAME, seconds=INDEX_WAIT_SECONDS)

    def _drop_earlier_layout(self, index: neo4j.Record) -> None:
        """Drop the old vector index, and the EntityEmbedding and EmbeddingSet schema and nodes."""
        log.warning(
            "dropping Neo4j index %s on labels %s and properties %s, which is not the vector index on "
            ":Entity(embedding); ingest books from before this change again",
            INDEX_NAME,
            index["labels"],
            index["properties"],
        )
        self._write(DROP_VECTOR_INDEX)
        for statement in DROP_EARLIER_LAYOUT_SCHEMA:
            self._write(statement)
        self._write_until_done(DELETE_EARLIER_EMBEDDINGS_BATCH, "deleted")
        self._write_until_done(DELETE_EARLIER_SETS_BATCH, "deleted")

    # --- VectorIndex ----------------------------------------------------------

    def write(self, book_id: str, entity_ids: list[str], vectors: np.ndarray) -> None:
        """Replace the book's vectors. The graph store must have written the book's Entity nodes first."""
        if len(entity_ids) != len(vectors):
            raise RetrievalError(f"book {book_id!r}: {len(entity_ids)} ids but {len(vectors)} vectors")
        if len(set(entity_ids)) != len(entity_ids):
            raise RetrievalError(f"book {book_id!r}: the item ids of its vectors are not unique")
        dimension = vectors.shape[1] if vectors.ndim == 2 and len(vectors) else 384
        self._ensure_schema(dimension)
        self._require_entity_nodes(book_id, entity_ids)

        # The marker goes first and comes back last, so readers never use a half-written book.
        self._forget(book_id)
        self._remove_embeddings(book_id)
        rows = [
            {"entity_id": entity_id, "embedding": [float(value) for value in vector]}
            for entity_id, vector in zip(entity_ids, np.asarray(vectors, dtype=np.float32))
        ]
        for start in range(0, len(rows), WRITE_BATCH_ROWS):
            batch = rows[start : start + WRITE_BATCH_ROWS]
            written = self._write(SET_EMBEDDINGS, rows=batch, book_id=book_id)[0]["written"]
            if written != len(batch):
                raise RetrievalError(
                    f"wrote {written} of {len(batch)} vectors of book {book_id!r}: its Entity nodes "
                    "changed during the write; ingest the book again"
                )
        self._write(SET_MARKER, book_id=book_id, count=len(rows), dimension=dimension)
        self._forget(book_id)
        log.debug("wrote %d vectors for book %s to Neo4j", len(rows), book_id)

    def _require_entity_nodes(self, book_id: str, entity_ids: list[str]) -> None:
        """Raise unless the book's Book node and an Entity node for every id exist."""
        if not self._read(BOOK_EXISTS, book_id=book_id):
            raise RetrievalError(
                f"book {book_id!r} not found in Neo4j: write the book with the graph store before "
                f"its vectors ('lemmagraph --store neo4j ingest PDF --book {book_id}' does both)"
            )
        missing: list[str] = []
        for start in range(0, len(entity_ids), WRITE_BATCH_ROWS):
            batch = entity_ids[start : start + WRITE_BATCH_ROWS]
            missing += [record["id"] for record in self._read(MISSING_ENTITY_IDS, ids=batch, book_id=book_id)]
        if missing:
            examples = ", ".join(repr(entity_id) for entity_id in missing[:MAX_MISSING_IDS_IN_MESSAGE])
            raise RetrievalError(
                f"{len(missing)} item ids of book {book_id!r} have no Entity node of that book in Neo4j "
                f"({examples}): write the book with the graph store before its vectors "
                f"('lemmagraph --store neo4j ingest PDF --book {book_id}' does both)"
            )

    def _remove_embeddings(self, book_id: str) -> None:
        self._write(CLEAR_MARKER, book_id=book_id)
        self._write_until_done(REMOVE_EMBEDDINGS_BATCH, "removed", book_id=book_id)

    def vector(self, book_id: str, entity_id: str) -> np.ndarray | None:
        self._require_vectors(book_id)
        if book_id in self._loaded:
            _, matrix, rows = self._loaded[book_id]
            row = rows.get(entity_id)
            return None if row is None else matrix[row]
        records = self._read(EMBEDDING_OF_ENTITY, book_id=book_id, entity_id=entity_id)
        if not records or records[0]["embedding"] is None:
            return None
        return np.asarray(records[0]["embedding"], dtype=np.float32)

    def search(self, book_id: str, query: np.ndarray, k: int) -> list[Neighbour]:
        count = self._require_vectors(book_id)
        k = min(k, count)
        if k <= 0:
            return []
        query = np.asarray(query, dtype=np.float32).reshape(-1)
        candidates = max(4 * k, 50)
        if candidates >= count:
            return self._search_exactly(book_id, query, k)
        return self._search_index(book_id, query, k, candidates)

    def _search_exactly(self, book_id: str, query: np.ndarray, k: int) -> list[Neighbour]:
        """Rank all of the book's vectors by inner product, which is cosine similarity for unit vectors."""
        entity_ids, matrix, _ = self._load(book_id)
        similarities = matrix @ query
        # A stable sort keeps equal scores in item order, so repeated searches agree.
        order = np.argsort(-similarities, kind="stable")[:k]
        return [Neighbour(entity_ids[row], float(similarities[row])) for row in order]

    def _search_index(self, book_id: str, query: np.ndarray, k: int, candidates: int) -> list[Neighbour]:
        query_list = [float(value) for value in query]
        total = self._read(EMBEDDING_COUNT)[0]["count"]

        # Ask for more candidates until k of them belong to the book or the index has no more.
        candidates = min(total, candidates)
        while True:
            records = self._read(
                NEAREST_IN_BOOK,
                name=INDEX_NAME,
                candidates=candidates,
                embedding=query_list,
                book_id=book_id,
                k=k,
            )
            if len(records) >= k or candidates >= total:
                break
            candidates = min(total, candidates * 4)

        # Neo4j 5.26's vector.similarity.cosine returns (1 + c) / 2 for cosine similarity c.
        return [Neighbour(record["entity_id"], 2.0 * record["score"] - 1.0) for record in records]

    def _load(self, book_id: str) -> tuple[list[str], np.ndarray, dict[str, int]]:
        """Fetch every vector of the book in one query, once per book."""
        if book_id not in self._loaded:
            records = self._read(EMBEDDINGS_OF_BOOK, book_id=book_id)
            entity_ids = [record["entity_id"] for record in records]
            matrix = np.asarray([record["embedding"] for record in records], dtype=np.float32)
            self._loaded[book_id] = (entity_ids, matrix, {entity_id: row for row, entity_id in enumerate(entity_ids)})
        return self._loaded[book_id]

    def _forget(self, book_id: str) -> None:
        self._counts.pop(book_id, None)
        self._loaded.pop(book_id, None)

    def delete(self, book_id: str) -> None:
        """Remove the book's embeddings and its completeness marker, if its nodes still exist."""
        self._forget(book_id)
        self._remove_embeddings(book_id)

    def _require_vectors(self, book_id: str) -> int:
        """Return the number of vectors of the book, or raise when they are missing or incomplete."""
        if book_id in self._counts:
            return self._counts[book_id]
        records = self._read(EMBEDDING_STATE, book_id=book_id)
        if not records:
            raise RetrievalError(
                f"no vectors for book {book_id!r} in Neo4j: "
                f"ingest the book again with 'lemmagraph --store neo4j ingest PDF --book {book_id}'"
            )
        expected, stored = int(records[0]["expected"]), int(records[0]["stored"])
        if stored != expected:
            raise RetrievalError(
                f"book {book_id!r} has {stored} of its {expected} vectors in Neo4j, so an ingest stopped "
                f"after writing the graph: ingest the book again with "
                f"'lemmagraph --store neo4j ingest PDF --book {book_id}'"
            )
        self._counts[book_id] = expected
        return expected


def _indexes_entity_embeddings(index: neo4j.Record) -> bool:
    """Tell whether an index from `INDEX_SCHEMA` is the vector index on :Entity(embedding)."""
    return index["type"] == "VECTOR" and index["labels"] == ["Entity"] and index["properties"] == ["embedding"]

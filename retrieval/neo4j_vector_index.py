"""Item embeddings kept in Neo4j and searched with a Neo4j vector index.

Each embedding is an `EntityEmbedding` node keyed by `entity_id` and
`book_id`, separate from the `Entity` node. Ingest embeds a book before the
graph store writes it, so the Entity nodes may not exist yet when `write`
runs, and a re-ingest deletes and recreates them. Separate nodes make the
order of `write` and `write_book` irrelevant. An `EmbeddingSet` node per book
is written last and records that the book's vectors are complete, even when
the book has no items.

One vector index, `entity_embedding`, with cosine similarity covers every
book. Its dimension is fixed by the first `write`; vectors of another
dimension are rejected.

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

SCHEMA: tuple[str, ...] = (
    "CREATE INDEX entity_embedding_book_id IF NOT EXISTS FOR (n:EntityEmbedding) ON (n.book_id)",
    "CREATE CONSTRAINT embedding_set_book_id_unique IF NOT EXISTS "
    "FOR (s:EmbeddingSet) REQUIRE s.book_id IS UNIQUE",
)

# The dimension is formatted in as a Python int; every other value is a parameter.
CREATE_VECTOR_INDEX = """
CREATE VECTOR INDEX entity_embedding IF NOT EXISTS
FOR (n:EntityEmbedding) ON (n.embedding)
OPTIONS {{indexConfig: {{`vector.dimensions`: {dimension}, `vector.similarity_function`: 'cosine'}}}}
"""

INDEX_DIMENSION = """
SHOW VECTOR INDEXES YIELD name, options
WHERE name = $name
RETURN options.indexConfig['vector.dimensions'] AS dimension
"""

AWAIT_INDEX = "CALL db.awaitIndex($name, $seconds)"

DELETE_SET = """
MATCH (s:EmbeddingSet {book_id: $book_id})
DELETE s
"""

DELETE_EMBEDDINGS_BATCH = """
MATCH (n:EntityEmbedding {book_id: $book_id})
WITH n LIMIT $limit
DELETE n
RETURN count(*) AS deleted
"""

CREATE_EMBEDDINGS = """
UNWIND $rows AS r
CREATE (:EntityEmbedding {entity_id: r.entity_id, book_id: $book_id, embedding: r.embedding})
"""

CREATE_SET = """
CREATE (:EmbeddingSet {book_id: $book_id, count: $count, dimension: $dimension})
"""

EMBEDDING_SET = """
MATCH (s:EmbeddingSet {book_id: $book_id})
RETURN s.count AS count
"""

EMBEDDING_OF_ENTITY = """
MATCH (n:EntityEmbedding {book_id: $book_id, entity_id: $entity_id})
RETURN n.embedding AS embedding
"""

EMBEDDINGS_OF_BOOK = """
MATCH (n:EntityEmbedding {book_id: $book_id})
RETURN n.entity_id AS entity_id, n.embedding AS embedding
"""

EMBEDDING_COUNT = "MATCH (n:EntityEmbedding) RETURN count(n) AS count"

# The index covers every book, so it is asked for `$candidates` neighbours and
# the caller asks again with more when fewer than `$k` belong to the book.
# Neo4j 5.26 quantizes indexed vectors by default, so the index's own score is
# approximate; the candidates are scored again on the stored vectors.
NEAREST_IN_BOOK = """
CALL db.index.vector.queryNodes($name, $candidates, $embedding) YIELD node
WHERE node.book_id = $book_id
WITH node, vector.similarity.cosine(node.embedding, $embedding) AS score
RETURN node.entity_id AS entity_id, score
ORDER BY score DESC
LIMIT $k
"""


class Neo4jVectorIndex(VectorIndex):
    """Item embeddings on `EntityEmbedding` nodes, searched with the `entity_embedding` vector index.

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

    def _ensure_schema(self, dimension: int) -> None:
        """Create the lookup index and the vector index, and check the vector index's dimension."""
        if not self._schema_ready:
            for statement in SCHEMA:
                self._write(statement)
            self._write(CREATE_VECTOR_INDEX.format(dimension=int(dimension)))
            self._schema_ready = True
        records = self._read(INDEX_DIMENSION, name=INDEX_NAME)
        indexed = records[0]["dimension"] if records else None
        if indexed is not None and int(indexed) != dimension:
            raise RetrievalError(
                f"the Neo4j vector index {INDEX_NAME} holds {indexed}-dimensional vectors, but these "
                f"are {dimension}-dimensional; drop it with `DROP INDEX {INDEX_NAME}` and ingest again"
            )
        self._write(AWAIT_INDEX, name=INDEX_NAME, seconds=INDEX_WAIT_SECONDS)

    def _delete_embeddings(self, book_id: str) -> None:
        self._forget(book_id)
        self._write(DELETE_SET, book_id=book_id)
        while True:
            records = self._write(DELETE_EMBEDDINGS_BATCH, book_id=book_id, limit=WRITE_BATCH_ROWS)
            if records[0]["deleted"] < WRITE_BATCH_ROWS:
                return

    # --- VectorIndex ----------------------------------------------------------

    def write(self, book_id: str, entity_ids: list[str], vectors: np.ndarray) -> None:
        if len(entity_ids) != len(vectors):
            raise RetrievalError(f"book {book_id!r}: {len(entity_ids)} ids but {len(vectors)} vectors")
        dimension = vectors.shape[1] if vectors.ndim == 2 and len(vectors) else 384
        self._ensure_schema(dimension)

        # The set node goes first and comes back last, so readers never use a half-written book.
        self._delete_embeddings(book_id)
        rows = [
            {"entity_id": entity_id, "embedding": [float(value) for value in vector]}
            for entity_id, vector in zip(entity_ids, np.asarray(vectors, dtype=np.float32))
        ]
        for start in range(0, len(rows), WRITE_BATCH_ROWS):
            self._write(CREATE_EMBEDDINGS, rows=rows[start : start + WRITE_BATCH_ROWS], book_id=book_id)
        self._write(CREATE_SET, book_id=book_id, count=len(rows), dimension=dimension)
        self._forget(book_id)
        log.debug("wrote %d vectors for book %s to Neo4j", len(rows), book_id)

    def vector(self, book_id: str, entity_id: str) -> np.ndarray | None:
        self._require_set(book_id)
        if book_id in self._loaded:
            _, matrix, rows = self._loaded[book_id]
            row = rows.get(entity_id)
            return None if row is None else matrix[row]
        records = self._read(EMBEDDING_OF_ENTITY, book_id=book_id, entity_id=entity_id)
        if not records:
            return None
        return np.asarray(records[0]["embedding"], dtype=np.float32)

    def search(self, book_id: str, query: np.ndarray, k: int) -> list[Neighbour]:
        count = self._require_set(book_id)
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
        # A stable sort keeps equal scores in stored order, so repeated searches agree.
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
        self._delete_embeddings(book_id)

    def _require_set(self, book_id: str) -> int:
        """Return the number of vectors of the book, or raise when none were written."""
        if book_id in self._counts:
            return self._counts[book_id]
        records = self._read(EMBEDDING_SET, book_id=book_id)
        if not records:
            raise RetrievalError(
                f"no vectors for book {book_id!r} in Neo4j: "
                f"ingest the book again with 'lemmagraph --store neo4j ingest PDF --book {book_id}'"
            )
        self._counts[book_id] = int(records[0]["count"])
        return self._counts[book_id]

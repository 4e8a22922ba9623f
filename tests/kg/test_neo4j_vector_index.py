"""Neo4jVectorIndex against the shared test server.

The vectors live on the Entity nodes that the graph store writes, so every
test writes its books with `Neo4jStore.write_book` before their vectors.
"""

from __future__ import annotations

import neo4j
import numpy as np
import pytest

from kg.errors import RetrievalError
from kg.models import Book, BookGraph, Entity
from kg.neo4j_store import Neo4jStore
from retrieval.neo4j_vector_index import Neo4jVectorIndex

pytestmark = pytest.mark.neo4j

DIMENSION = 384  # the dimension of all-MiniLM-L6-v2, which the index is created with


def unit_rows(count: int, seed: int) -> np.ndarray:
    matrix = np.random.default_rng(seed).normal(size=(count, DIMENSION)).astype(np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def item_ids(book_id: str, count: int) -> list[str]:
    return [f"{book_id}:item:{i}" for i in range(count)]


def book_graph(book_id: str, entity_ids: list[str]) -> BookGraph:
    """Build a book whose items have the given ids, in that reading order."""
    entities = [
        Entity(entity_id, book_id, "lemma", str(order), None, f"Statement {order}.", 1, order)
        for order, entity_id in enumerate(entity_ids)
    ]
    return BookGraph(Book(book_id, f"Book {book_id}", f"/books/{book_id}.pdf", 1, "ab" * 32), entities)


def count_nodes(connection, query: str, **parameters) -> int:
    auth = (connection.username, connection.password)
    with neo4j.GraphDatabase.driver(connection.uri, auth=auth) as driver:
        records, _, _ = driver.execute_query(query, parameters, database_=connection.database)
    return records[0]["count"]


@pytest.fixture
def store(empty_neo4j):
    store = Neo4jStore(empty_neo4j.uri, empty_neo4j.username, empty_neo4j.password, empty_neo4j.database)
    yield store
    store.close()


@pytest.fixture
def index(store):
    return Neo4jVectorIndex(store.driver, store.database)


def test_vector_round_trip(store, index):
    store.write_book(book_graph("b", ["b:x", "b:y", "b:z"]))
    vectors = unit_rows(3, seed=1)
    index.write("b", ["b:x", "b:y", "b:z"], vectors)

    np.testing.assert_array_equal(index.vector("b", "b:y"), vectors[1])
    assert index.vector("b", "b:missing") is None


def test_vectors_stored_on_entity_nodes(store, index, empty_neo4j):
    store.write_book(book_graph("b", ["b:x", "b:y"]))
    index.write("b", ["b:x", "b:y"], unit_rows(2, seed=1))

    embedded = "MATCH (e:Entity {book_id: $book_id}) WHERE e.embedding IS NOT NULL RETURN count(e) AS count"
    assert count_nodes(empty_neo4j, embedded, book_id="b") == 2
    assert count_nodes(empty_neo4j, "MATCH (n:EntityEmbedding) RETURN count(n) AS count") == 0
    assert count_nodes(empty_neo4j, "MATCH (n:EmbeddingSet) RETURN count(n) AS count") == 0


def test_write_before_book_raises(index):
    with pytest.raises(RetrievalError, match="book 'b' not found in Neo4j: write the book with the graph store"):
        index.write("b", ["b:x"], unit_rows(1, seed=1))


def test_write_for_missing_items_raises(store, index):
    store.write_book(book_graph("b", ["b:x"]))
    store.write_book(book_graph("c", ["c:x"]))

    with pytest.raises(RetrievalError, match=r"2 item ids of book 'b' have no Entity node .*'b:nope', 'c:x'"):
        index.write("b", ["b:x", "b:nope", "c:x"], unit_rows(3, seed=1))
    # Nothing was written, so the book still has no vectors.
    with pytest.raises(RetrievalError, match="no vectors for book 'b'"):
        index.vector("b", "b:x")


def test_search_orders_by_cosine_similarity(store, index):
    vectors = unit_rows(20, seed=2)
    ids = item_ids("b", 20)
    store.write_book(book_graph("b", ids))
    index.write("b", ids, vectors)
    query = vectors[7] + 0.3 * vectors[3]
    query /= np.linalg.norm(query)

    neighbours = index.search("b", query, k=5)

    expected = np.argsort(-(vectors @ query))[:5]
    assert [n.entity_id for n in neighbours] == [ids[i] for i in expected]
    assert neighbours[0].similarity == pytest.approx(float(vectors[7] @ query), abs=1e-4)
    assert neighbours[-1].similarity == pytest.approx(float(vectors[expected[-1]] @ query), abs=1e-4)


def test_search_stays_in_its_book(store, index):
    other = unit_rows(200, seed=3)
    store.write_book(book_graph("other", item_ids("other", 200)))
    index.write("other", item_ids("other", 200), other)
    store.write_book(book_graph("b", ["b:x", "b:y"]))
    index.write("b", ["b:x", "b:y"], unit_rows(2, seed=4))

    # The query is closest to the other book's items, which must not come back.
    neighbours = index.search("b", other[0], k=5)

    assert sorted(n.entity_id for n in neighbours) == ["b:x", "b:y"]


def test_write_replaces_earlier_vectors(store, index):
    store.write_book(book_graph("b", ["b:x", "b:y", "b:z"]))
    index.write("b", ["b:x", "b:y"], unit_rows(2, seed=5))
    replacement = unit_rows(1, seed=6)

    index.write("b", ["b:z"], replacement)

    assert index.vector("b", "b:x") is None
    assert [n.entity_id for n in index.search("b", replacement[0], k=3)] == ["b:z"]


def test_reingest_leaves_one_vector_per_item(store, index, empty_neo4j):
    ids = item_ids("b", 5)
    store.write_book(book_graph("b", ids))
    index.write("b", ids, unit_rows(5, seed=18))
    replacement = unit_rows(5, seed=19)

    # A re-ingest writes the graph again, which replaces the Entity nodes, then the vectors.
    store.write_book(book_graph("b", ids))
    index.write("b", ids, replacement)

    embedded = "MATCH (e:Entity {book_id: $book_id}) WHERE e.embedding IS NOT NULL RETURN count(e) AS count"
    assert count_nodes(empty_neo4j, embedded, book_id="b") == 5
    assert count_nodes(empty_neo4j, "MATCH (e:Entity {book_id: 'b'}) RETURN count(e) AS count") == 5
    fresh = Neo4jVectorIndex(store.driver, store.database)
    np.testing.assert_array_equal(fresh.vector("b", "b:item:3"), replacement[3])


def test_reingest_without_vectors_raises(store, index):
    ids = item_ids("b", 3)
    store.write_book(book_graph("b", ids))
    index.write("b", ids, unit_rows(3, seed=20))

    # The graph is written again, but the vectors are not, as when an ingest fails between the two.
    store.write_book(book_graph("b", ids))

    fresh = Neo4jVectorIndex(store.driver, store.database)
    with pytest.raises(RetrievalError, match="book 'b' has 0 of its 3 vectors in Neo4j"):
        fresh.search("b", unit_rows(1, seed=21)[0], k=2)


def test_empty_book_searches_empty(store, index):
    store.write_book(book_graph("b", []))
    index.write("b", [], np.zeros((0, DIMENSION), dtype=np.float32))

    assert index.search("b", unit_rows(1, seed=7)[0], k=3) == []


def test_book_without_vectors_raises(store, index):
    with pytest.raises(RetrievalError, match="no vectors for book 'nope'"):
        index.search("nope", unit_rows(1, seed=8)[0], k=3)
    with pytest.raises(RetrievalError, match="ingest the book again"):
        index.vector("nope", "nope:x")

    # A book the store wrote without vectors has none either.
    store.write_book(book_graph("b", ["b:x"]))
    with pytest.raises(RetrievalError, match="no vectors for book 'b'"):
        index.vector("b", "b:x")


def test_delete_removes_vectors(store, index, empty_neo4j):
    store.write_book(book_graph("b", ["b:x"]))
    index.write("b", ["b:x"], unit_rows(1, seed=9))

    index.delete("b")

    with pytest.raises(RetrievalError):
        index.vector("b", "b:x")
    embedded = "MATCH (e:Entity) WHERE e.embedding IS NOT NULL RETURN count(e) AS count"
    assert count_nodes(empty_neo4j, embedded) == 0
    marked = "MATCH (b:Book) WHERE b.embedding_count IS NOT NULL RETURN count(b) AS count"
    assert count_nodes(empty_neo4j, marked) == 0


def test_delete_after_store_delete_leaves_nothing(store, index, empty_neo4j):
    store.write_book(book_graph("b", ["b:x", "b:y"]))
    index.write("b", ["b:x", "b:y"], unit_rows(2, seed=22))

    store.delete_book("b")
    index.delete("b")

    assert count_nodes(empty_neo4j, "MATCH (n) RETURN count(n) AS count") == 0
    with pytest.raises(RetrievalError, match="no vectors for book 'b'"):
        index.vector("b", "b:x")


def test_other_dimension_rejected(store, index):
    store.write_book(book_graph("b", ["b:x"]))
    store.write_book(book_graph("c", ["c:x"]))
    index.write("b", ["b:x"], unit_rows(1, seed=10))

    with pytest.raises(RetrievalError, match="384-dimensional"):
        index.write("c", ["c:x"], np.ones((1, 8), dtype=np.float32))


def test_earlier_layout_index_replaced(store, empty_neo4j):
    # A database from the earlier layout has `entity_embedding` on EntityEmbedding nodes.
    with store.driver.session(database=store.database) as session:
        session.run("DROP INDEX entity_embedding IF EXISTS").consume()
        session.run(
            "CREATE VECTOR INDEX entity_embedding FOR (n:EntityEmbedding) ON (n.embedding) "
            "OPTIONS {indexConfig: {`vector.dimensions`: 384, `vector.similarity_function`: 'cosine'}}"
        ).consume()
        session.run("CREATE (:EntityEmbedding {entity_id: 'b:x', book_id: 'b'}), (:EmbeddingSet {book_id: 'b'})").consume()
    store.write_book(book_graph("b", ["b:x"]))
    vectors = unit_rows(1, seed=23)

    Neo4jVectorIndex(store.driver, store.database).write("b", ["b:x"], vectors)

    labels = "SHOW INDEXES YIELD name, labelsOrTypes WHERE name = 'entity_embedding' RETURN labelsOrTypes AS labels"
    with store.driver.session(database=store.database) as session:
        assert session.run(labels).single(strict=True)["labels"] == ["Entity"]
    old_nodes = "MATCH (n) WHERE n:EntityEmbedding OR n:EmbeddingSet RETURN count(n) AS count"
    assert count_nodes(empty_neo4j, old_nodes) == 0
    fresh = Neo4jVectorIndex(store.driver, store.database)
    np.testing.assert_array_equal(fresh.vector("b", "b:x"), vectors[0])


def test_small_search_uses_vector_index(store, index):
    # 4 * k candidates are fewer than the book's 300 vectors, so the search goes
    # through the vector index rather than the exact in-process ranking.
    vectors = unit_rows(300, seed=11)
    ids = item_ids("b", 300)
    store.write_book(book_graph("b", ids))
    index.write("b", ids, vectors)
    query = vectors[7] + 0.3 * vectors[3]
    query /= np.linalg.norm(query)

    neighbours = index.search("b", query, k=5)

    expected = np.argsort(-(vectors @ query))[:5]
    assert [n.entity_id for n in neighbours] == [ids[i] for i in expected]
    assert neighbours[0].similarity == pytest.approx(float(vectors[7] @ query), abs=1e-4)
    assert "b" not in index._loaded


def test_index_search_fetches_more_for_small_book(store, index):
    # The query is closest to the other book's 400 items, so the first candidates
    # from the shared index all belong to it and the search must ask for more.
    other = unit_rows(400, seed=12)
    store.write_book(book_graph("other", item_ids("other", 400)))
    index.write("other", item_ids("other", 400), other)
    vectors = unit_rows(100, seed=13)
    ids = item_ids("b", 100)
    store.write_book(book_graph("b", ids))
    index.write("b", ids, vectors)

    neighbours = index.search("b", other[0], k=5)

    expected = np.argsort(-(vectors @ other[0]))[:5]
    assert [n.entity_id for n in neighbours] == [ids[i] for i in expected]


def test_large_search_ranks_exactly(store, index):
    vectors = unit_rows(60, seed=14)
    ids = item_ids("b", 60)
    store.write_book(book_graph("b", ids))
    index.write("b", ids, vectors)

    neighbours = index.search("b", vectors[5], k=40)

    expected = np.argsort(-(vectors @ vectors[5]), kind="stable")[:40]
    assert [n.entity_id for n in neighbours] == [ids[i] for i in expected]
    assert neighbours[0].similarity == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_array_equal(index.vector("b", "b:item:9"), vectors[9])


def test_write_after_search_drops_cached_vectors(store, index):
    store.write_book(book_graph("b", ["b:x", "b:y", "b:z"]))
    index.write("b", ["b:x", "b:y"], unit_rows(2, seed=15))
    index.search("b", unit_rows(1, seed=16)[0], k=2)
    replacement = unit_rows(1, seed=17)

    index.write("b", ["b:z"], replacement)

    assert index.vector("b", "b:x") is None
    assert [n.entity_id for n in index.search("b", replacement[0], k=3)] == ["b:z"]

"""Neo4jVectorIndex against the shared test server."""

from __future__ import annotations

import neo4j
import numpy as np
import pytest

from kg.errors import RetrievalError
from retrieval.neo4j_vector_index import Neo4jVectorIndex

pytestmark = pytest.mark.neo4j

DIMENSION = 384  # the dimension of all-MiniLM-L6-v2, which the index is created with


def unit_rows(count: int, seed: int) -> np.ndarray:
    matrix = np.random.default_rng(seed).normal(size=(count, DIMENSION)).astype(np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


@pytest.fixture
def index(empty_neo4j):
    auth = (empty_neo4j.username, empty_neo4j.password)
    with neo4j.GraphDatabase.driver(empty_neo4j.uri, auth=auth) as driver:
        yield Neo4jVectorIndex(driver, empty_neo4j.database)


def test_vector_round_trip(index):
    vectors = unit_rows(3, seed=1)
    index.write("b", ["b:x", "b:y", "b:z"], vectors)

    np.testing.assert_array_equal(index.vector("b", "b:y"), vectors[1])
    assert index.vector("b", "b:missing") is None


def test_search_orders_by_cosine_similarity(index):
    vectors = unit_rows(20, seed=2)
    ids = [f"b:item:{i}" for i in range(20)]
    index.write("b", ids, vectors)
    query = vectors[7] + 0.3 * vectors[3]
    query /= np.linalg.norm(query)

    neighbours = index.search("b", query, k=5)

    expected = np.argsort(-(vectors @ query))[:5]
    assert [n.entity_id for n in neighbours] == [ids[i] for i in expected]
    assert neighbours[0].similarity == pytest.approx(float(vectors[7] @ query), abs=1e-4)
    assert neighbours[-1].similarity == pytest.approx(float(vectors[expected[-1]] @ query), abs=1e-4)


def test_search_stays_in_its_book(index):
    other = unit_rows(200, seed=3)
    index.write("other", [f"other:item:{i}" for i in range(200)], other)
    index.write("b", ["b:x", "b:y"], unit_rows(2, seed=4))

    # The query is closest to the other book's items, which must not come back.
    neighbours = index.search("b", other[0], k=5)

    assert sorted(n.entity_id for n in neighbours) == ["b:x", "b:y"]


def test_write_replaces_earlier_vectors(index):
    index.write("b", ["b:x", "b:y"], unit_rows(2, seed=5))
    replacement = unit_rows(1, seed=6)

    index.write("b", ["b:z"], replacement)

    assert index.vector("b", "b:x") is None
    assert [n.entity_id for n in index.search("b", replacement[0], k=3)] == ["b:z"]


def test_empty_book_searches_empty(index):
    index.write("b", [], np.zeros((0, DIMENSION), dtype=np.float32))

    assert index.search("b", unit_rows(1, seed=7)[0], k=3) == []


def test_book_without_vectors_raises(index):
    with pytest.raises(RetrievalError, match="no vectors for book 'nope'"):
        index.search("nope", unit_rows(1, seed=8)[0], k=3)
    with pytest.raises(RetrievalError, match="ingest the book again"):
        index.vector("nope", "nope:x")


def test_delete_removes_vectors(index):
    index.write("b", ["b:x"], unit_rows(1, seed=9))

    index.delete("b")

    with pytest.raises(RetrievalError):
        index.vector("b", "b:x")


def test_other_dimension_rejected(index):
    index.write("b", ["b:x"], unit_rows(1, seed=10))

    with pytest.raises(RetrievalError, match="384-dimensional"):
        index.write("c", ["c:x"], np.ones((1, 8), dtype=np.float32))


def test_small_search_uses_vector_index(index):
    # 4 * k candidates are fewer than the book's 300 vectors, so the search goes
    # through the vector index rather than the exact in-process ranking.
    vectors = unit_rows(300, seed=11)
    ids = [f"b:item:{i}" for i in range(300)]
    index.write("b", ids, vectors)
    query = vectors[7] + 0.3 * vectors[3]
    query /= np.linalg.norm(query)

    neighbours = index.search("b", query, k=5)

    expected = np.argsort(-(vectors @ query))[:5]
    assert [n.entity_id for n in neighbours] == [ids[i] for i in expected]
    assert neighbours[0].similarity == pytest.approx(float(vectors[7] @ query), abs=1e-4)
    assert "b" not in index._loaded


def test_index_search_fetches_more_for_small_book(index):
    # The query is closest to the other book's 400 items, so the first candidates
    # from the shared index all belong to it and the search must ask for more.
    other = unit_rows(400, seed=12)
    index.write("other", [f"other:item:{i}" for i in range(400)], other)
    vectors = unit_rows(100, seed=13)
    ids = [f"b:item:{i}" for i in range(100)]
    index.write("b", ids, vectors)

    neighbours = index.search("b", other[0], k=5)

    expected = np.argsort(-(vectors @ other[0]))[:5]
    assert [n.entity_id for n in neighbours] == [ids[i] for i in expected]


def test_large_search_ranks_exactly(index):
    vectors = unit_rows(60, seed=14)
    ids = [f"b:item:{i}" for i in range(60)]
    index.write("b", ids, vectors)

    neighbours = index.search("b", vectors[5], k=40)

    expected = np.argsort(-(vectors @ vectors[5]), kind="stable")[:40]
    assert [n.entity_id for n in neighbours] == [ids[i] for i in expected]
    assert neighbours[0].similarity == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_array_equal(index.vector("b", "b:item:9"), vectors[9])


def test_write_after_search_drops_cached_vectors(index):
    index.write("b", ["b:x", "b:y"], unit_rows(2, seed=15))
    index.search("b", unit_rows(1, seed=16)[0], k=2)
    replacement = unit_rows(1, seed=17)

    index.write("b", ["b:z"], replacement)

    assert index.vector("b", "b:x") is None
    assert [n.entity_id for n in index.search("b", replacement[0], k=3)] == ["b:z"]

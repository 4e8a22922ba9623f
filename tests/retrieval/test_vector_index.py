import numpy as np
import pytest

from kg.errors import RetrievalError
from kg.workspace import Workspace
from retrieval.vector_index import FaissVectorIndex


def _unit_rows(*rows):
    matrix = np.asarray(rows, dtype=np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


@pytest.fixture
def index(tmp_path):
    return FaissVectorIndex(Workspace(tmp_path).ensure())


def test_search_orders_by_cosine_similarity(index):
    index.write("b", ["b:a", "b:b", "b:c"], _unit_rows([1, 0, 0], [0.6, 0.8, 0], [0, 0, 1]))

    neighbours = index.search("b", _unit_rows([1, 0.1, 0])[0], k=3)

    assert [n.entity_id for n in neighbours] == ["b:a", "b:b", "b:c"]
    assert neighbours[0].similarity == pytest.approx(0.995, abs=1e-3)
    assert neighbours[2].similarity == pytest.approx(0.0, abs=1e-6)


def test_vector_round_trips_through_disk(tmp_path):
    workspace = Workspace(tmp_path).ensure()
    vectors = _unit_rows([1, 2, 3], [3, 2, 1])
    FaissVectorIndex(workspace).write("b", ["b:x", "b:y"], vectors)

    reopened = FaissVectorIndex(workspace)

    np.testing.assert_allclose(reopened.vector("b", "b:y"), vectors[1], rtol=1e-6)
    assert reopened.vector("b", "b:missing") is None


def test_write_replaces_earlier_vectors(index):
    index.write("b", ["b:x", "b:y"], _unit_rows([1, 0], [0, 1]))
    index.write("b", ["b:z"], _unit_rows([1, 1]))

    assert [n.entity_id for n in index.search("b", _unit_rows([1, 0])[0], k=5)] == ["b:z"]
    assert index.vector("b", "b:x") is None


def test_missing_book_names_the_fix(index):
    with pytest.raises(RetrievalError, match="lemmagraph ingest"):
        index.search("nope", np.zeros(3, dtype=np.float32), k=1)


def test_mismatched_ids_and_vectors_rejected(index):
    with pytest.raises(RetrievalError, match="2 ids but 1 vectors"):
        index.write("b", ["b:x", "b:y"], _unit_rows([1, 0]))


def test_delete_removes_files(index, tmp_path):
    index.write("b", ["b:x"], _unit_rows([1, 0]))
    index.delete("b")

    assert list((tmp_path / "vectors").iterdir()) == []
    with pytest.raises(RetrievalError):
        index.vector("b", "b:x")


def test_staged_vectors_hidden_until_commit(index):
    index.write("b", ["b:old"], _unit_rows([1, 0]))

    staged = index.stage("b", ["b:new"], _unit_rows([0, 1]))

    assert index.vector("b", "b:new") is None
    staged.commit()
    assert index.vector("b", "b:new") is not None
    assert index.vector("b", "b:old") is None


def test_discarded_vectors_leave_no_files(index, tmp_path):
    index.write("b", ["b:old"], _unit_rows([1, 0]))

    index.stage("b", ["b:new"], _unit_rows([0, 1])).discard()

    assert index.vector("b", "b:old") is not None
    assert not list((tmp_path / "vectors").glob("*.tmp"))


def test_failed_stage_keeps_stored_vectors(index, tmp_path, monkeypatch):
    import faiss

    index.write("b", ["b:old"], _unit_rows([1, 0]))

    def full_disk(*args):
        raise RuntimeError("No space left on device")

    monkeypatch.setattr(faiss, "write_index", full_disk)
    with pytest.raises(RetrievalError, match="No space left"):
        index.stage("b", ["b:new"], _unit_rows([0, 1]))

    assert index.vector("b", "b:old") is not None
    assert not list((tmp_path / "vectors").glob("*.tmp"))

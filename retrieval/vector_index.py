"""Per-book vector indexes of item embeddings: the interface and its FAISS implementation."""

from __future__ import annotations

import json
import logging
import os
from abc import ABC, abstractmethod
from dataclasses import dataclass

import faiss
import numpy as np

from kg.errors import RetrievalError
from kg.workspace import Workspace

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Neighbour:
    entity_id: str
    similarity: float  # cosine similarity of the two embeddings, in [-1, 1]


class StagedVectors(ABC):
    """A book's vectors prepared for writing: `commit` writes them, `discard` drops them."""

    @abstractmethod
    def commit(self) -> None:
        """Replace the book's stored vectors with the prepared ones."""

    @abstractmethod
    def discard(self) -> None:
        """Drop the prepared vectors, leaving the book's stored ones as they were."""


class DeferredVectors(StagedVectors):
    """Vectors that are written only at `commit`, for an index that needs the graph written first."""

    def __init__(self, index: VectorIndex, book_id: str, entity_ids: list[str], vectors: np.ndarray) -> None:
        self._index = index
        self._book_id = book_id
        self._entity_ids = entity_ids
        self._vectors = vectors

    def commit(self) -> None:
        self._index.write(self._book_id, self._entity_ids, self._vectors)

    def discard(self) -> None:
        pass


class VectorIndex(ABC):
    """Stores one set of item embeddings per book and finds nearest neighbours."""

    @abstractmethod
    def write(self, book_id: str, entity_ids: list[str], vectors: np.ndarray) -> None:
        """Replace the book's vectors; row i of `vectors` belongs to `entity_ids[i]`."""

    def stage(self, book_id: str, entity_ids: list[str], vectors: np.ndarray) -> StagedVectors:
        """Prepare the book's vectors for writing, doing as much of the write as can go first.

        An ingest stages the vectors before it writes the book, so a failed vector write
        leaves both as they were, and commits them after the book is written.
        """
        return DeferredVectors(self, book_id, entity_ids, vectors)

    @abstractmethod
    def vector(self, book_id: str, entity_id: str) -> np.ndarray | None:
        """Return the stored vector of an item, or None when the item has none."""

    @abstractmethod
    def search(self, book_id: str, query: np.ndarray, k: int) -> list[Neighbour]:
        """Return the k items most similar to `query`, most similar first."""

    @abstractmethod
    def delete(self, book_id: str) -> None:
        """Remove the book's vectors if there are any."""


class FaissVectorIndex(VectorIndex):
    """One exact inner-product FAISS index file per book, with the entity ids beside it.

    Vectors are L2-normalized, so inner product is cosine similarity. A flat index
    is exact and a book has at most a few thousand items, so no training is needed.
    """

    def __init__(self, workspace: Workspace) -> None:
        self._workspace = workspace
        self._loaded: dict[str, tuple[faiss.Index, list[str], dict[str, int]]] = {}

    def write(self, book_id: str, entity_ids: list[str], vectors: np.ndarray) -> None:
        self.stage(book_id, entity_ids, vectors).commit()

    def stage(self, book_id: str, entity_ids: list[str], vectors: np.ndarray) -> StagedVectors:
        """Write the index and ids to temporary files, which `commit` renames into place."""
        if len(entity_ids) != len(vectors):
            raise RetrievalError(
                f"book {book_id!r}: {len(entity_ids)} ids but {len(vectors)} vectors"
            )
        dimension = vectors.shape[1] if vectors.ndim == 2 and len(vectors) else 384
        index = faiss.IndexFlatIP(dimension)
        if len(vectors):
            index.add(np.ascontiguousarray(vectors, dtype=np.float32))

        self._workspace.vectors_dir.mkdir(parents=True, exist_ok=True)
        staged = _StagedFaissFiles(self, self._workspace, book_id, len(entity_ids))
        try:
            faiss.write_index(index, str(staged.temporary_index))
            staged.temporary_ids.write_text(json.dumps(entity_ids), encoding="utf-8")
        except (OSError, RuntimeError) as error:
            staged.discard()
            raise RetrievalError(
                f"could not write the vectors of book {book_id!r} to {self._workspace.vectors_dir}: {error}. "
                "The stored book is unchanged; free disk space or fix the folder's permissions and ingest again"
            ) from error
        return staged

    def vector(self, book_id: str, entity_id: str) -> np.ndarray | None:
        index, _, rows = self._load(book_id)
        row = rows.get(entity_id)
        if row is None:
            return None
        return index.reconstruct(row)

    def search(self, book_id: str, query: np.ndarray, k: int) -> list[Neighbour]:
        index, ids, _ = self._load(book_id)
        k = min(k, index.ntotal)
        if k <= 0:
            return []
        similarities, rows = index.search(np.asarray(query, dtype=np.float32).reshape(1, -1), k)
        return [
            Neighbour(ids[row], float(similarity))
            for similarity, row in zip(similarities[0], rows[0])
            if row >= 0
        ]

    def delete(self, book_id: str) -> None:
        self._loaded.pop(book_id, None)
        for path in (
            self._workspace.vector_index_path(book_id),
            self._workspace.vector_ids_path(book_id),
        ):
            path.unlink(missing_ok=True)

    def forget(self, book_id: str) -> None:
        """Drop the book's index from memory, so the next use reads its files again."""
        self._loaded.pop(book_id, None)

    def _load(self, book_id: str) -> tuple[faiss.Index, list[str], dict[str, int]]:
        if book_id in self._loaded:
            return self._loaded[book_id]
        index_path = self._workspace.vector_index_path(book_id)
        ids_path = self._workspace.vector_ids_path(book_id)
        if not index_path.is_file() or not ids_path.is_file():
            raise RetrievalError(
                f"no vector index for book {book_id!r} at {index_path}: "
                f"ingest the book again with 'lemmagraph ingest PDF --book {book_id}'"
            )
        index = faiss.read_index(str(index_path))
        ids = json.loads(ids_path.read_text(encoding="utf-8"))
        if len(ids) != index.ntotal:
            raise RetrievalError(
                f"vector index {index_path} has {index.ntotal} rows but {ids_path} lists "
                f"{len(ids)} ids: ingest the book again"
            )
        loaded = (index, ids, {entity_id: row for row, entity_id in enumerate(ids)})
        self._loaded[book_id] = loaded
        return loaded


class _StagedFaissFiles(StagedVectors):
    """A book's FAISS index and ids written to temporary files beside their final names."""

    def __init__(self, index: FaissVectorIndex, workspace: Workspace, book_id: str, count: int) -> None:
        self._faiss = index
        self._book_id = book_id
        self._count = count
        self.index_path = workspace.vector_index_path(book_id)
        self.ids_path = workspace.vector_ids_path(book_id)
        self.temporary_index = self.index_path.with_name(self.index_path.name + ".tmp")
        self.temporary_ids = self.ids_path.with_suffix(".tmp")

    def commit(self) -> None:
        # Renames only, so the index and its ids change together unless the process dies
        # between the two.
        os.replace(self.temporary_index, self.index_path)
        os.replace(self.temporary_ids, self.ids_path)
        self._faiss.forget(self._book_id)
        log.debug("wrote %d vectors for book %s to %s", self._count, self._book_id, self.index_path)

    def discard(self) -> None:
        self.temporary_index.unlink(missing_ok=True)
        self.temporary_ids.unlink(missing_ok=True)

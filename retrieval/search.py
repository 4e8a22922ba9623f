"""Semantic search: the stored items closest in meaning to a free-text query."""

from __future__ import annotations

from dataclasses import dataclass

from kg.models import Entity
from kg.store import GraphStore
from retrieval.embedding import SentenceEmbedder
from retrieval.vector_index import VectorIndex

@dataclass(frozen=True)
class SearchHit:
    entity: Entity
    similarity: float  # cosine similarity of query and item embeddings, in [-1, 1]


class SemanticSearcher:
    """Embeds a query with the sentence model and searches the per-book vector indexes."""

    def __init__(self, store: GraphStore, vectors: VectorIndex, embedder: SentenceEmbedder) -> None:
        self._store = store
        self._vectors = vectors
        self._embedder = embedder

    def search(
        self,
        text: str,
        *,
        book_ids: list[str] | None = None,
        kind: str | None = None,
        top: int = 10,
    ) -> list[SearchHit]:
        """Return the `top` items most similar to `text` over the given books (all when None)."""
        if not text.strip():
            raise ValueError("the search text is empty: give a few words to search for")
        if book_ids is None:
            book_ids = [summary.book.id for summary in self._store.books()]
        else:
            for book_id in book_ids:
                self._store.book(book_id)  # raises NotFoundError naming how to list the books
        query = self._embedder.embed([text])[0]

        hits: list[SearchHit] = []
        for book_id in book_ids:
            entities = {entity.id: entity for entity in self._store.entities(book_id)}
            # The index returns the nearest items of every kind, so a kind filter ranks the
            # whole book, a few thousand items at most, to return `top` items of that kind.
            pool = len(entities) if kind else top
            for neighbour in self._vectors.search(book_id, query, pool):
                entity = entities.get(neighbour.entity_id)
                if entity is None or (kind and entity.kind != kind):
                    continue
                hits.append(SearchHit(entity, neighbour.similarity))
        hits.sort(key=lambda hit: (-hit.similarity, hit.entity.book_id, hit.entity.order))
        return hits[:top]

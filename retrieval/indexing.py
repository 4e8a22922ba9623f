"""Embedding a freshly ingested book into its vector index."""

from __future__ import annotations

import logging

import numpy as np

from kg.models import BookGraph
from retrieval.embedding import SentenceEmbedder, entity_embedding_text
from retrieval.vector_index import VectorIndex

log = logging.getLogger(__name__)


def embed_book(graph: BookGraph, embedder: SentenceEmbedder) -> tuple[list[str], np.ndarray]:
    """Embed every item of `graph` and return the item ids with their vectors, row i for id i."""
    texts = [entity_embedding_text(entity) for entity in graph.entities]
    return [entity.id for entity in graph.entities], embedder.embed(texts)


def write_vectors(book_id: str, entity_ids: list[str], vectors: np.ndarray, index: VectorIndex) -> None:
    """Replace the book's vectors in `index`."""
    index.write(book_id, entity_ids, vectors)
    log.info("indexed %d items of book %s", len(entity_ids), book_id)


def index_book(graph: BookGraph, embedder: SentenceEmbedder, vectors: VectorIndex) -> int:
    """Embed every item of `graph` and replace the book's vectors; return the item count.

    With the Neo4j vector index, the graph store must have written the book first.
    """
    entity_ids, embeddings = embed_book(graph, embedder)
    write_vectors(graph.book.id, entity_ids, embeddings, vectors)
    return len(entity_ids)

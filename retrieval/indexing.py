"""Embedding a freshly ingested book into its vector index."""

from __future__ import annotations

import logging

from kg.models import BookGraph
from retrieval.embedding import SentenceEmbedder, entity_embedding_text
from retrieval.vector_index import VectorIndex

log = logging.getLogger(__name__)


def index_book(graph: BookGraph, embedder: SentenceEmbedder, vectors: VectorIndex) -> int:
    """Embed every item of `graph` and replace the book's vectors; return the item count."""
    texts = [entity_embedding_text(entity) for entity in graph.entities]
    embeddings = embedder.embed(texts)
    vectors.write(graph.book.id, [entity.id for entity in graph.entities], embeddings)
    log.info("indexed %d items of book %s", len(texts), graph.book.id)
    return len(texts)

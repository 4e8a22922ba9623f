"""The pipeline stages wired together for one command-line invocation."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path

from commands.settings import Settings
from kg.factory import open_graph_store
from kg.models import Book, BookGraph, Entity
from kg.store import GraphStore
from kg.workspace import Workspace
from retrieval.dependencies import DependencyRetriever
from retrieval.embedding import SentenceEmbedder
from retrieval.indexing import index_book
from retrieval.models import DependencyContext
from retrieval.vector_index import FaissVectorIndex, VectorIndex

log = logging.getLogger(__name__)

class Services:
    """Opens the store, the vector index and the model lazily, once per invocation."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.workspace = Workspace(settings.home).ensure()

    @cached_property
    def store(self) -> GraphStore:
        return open_graph_store(self.workspace, self.settings.store)

    @cached_property
    def vectors(self) -> VectorIndex:
        return FaissVectorIndex(self.workspace)

    @cached_property
    def embedder(self) -> SentenceEmbedder:
        return SentenceEmbedder()

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.close()

    def ingest(
        self,
        pdf_path: Path,
        book_id: str,
        progress: Callable[[int, int], None] | None = None,
    ) -> BookGraph:
        """Read a PDF, embed its items and store the book, replacing an earlier version.

        The PDF is read and embedded before anything is written, so a file that
        fails to read leaves the store as it was.
        """
        from ingest.pipeline import ingest_pdf

        graph = ingest_pdf(pdf_path, book_id, progress=progress)
        graph.book = _stamped(graph, pdf_path)
        index_book(graph, self.embedder, self.vectors)
        self.store.write_book(graph)
        return graph

    def dependencies(self, target: Entity, top: int) -> DependencyContext:
        return DependencyRetriever(self.store, self.vectors).dependencies(target, top=top)

    def llm_settings(self):
        from formalize.llm import LlmSettings

        settings = self.settings
        return LlmSettings(
            base_url=settings.llm_base_url,
            api_key=settings.llm_api_key,
            model=settings.llm_model,
            timeout_seconds=settings.llm_timeout_seconds,
        )

    def formalizer(self):
        """Build the formalization pipeline, or raise LlmError naming how to configure an endpoint."""
        from formalize.formalizer import Formalizer
        from formalize.lean_project import LeanProject, bundled_lean_template
        from formalize.llm import LlmClient
        from formalize.prompt import PromptBuilder

        client = LlmClient(self.llm_settings())
        lean = LeanProject(self.workspace.lean_dir, bundled_lean_template())
        return Formalizer(self.store, client, lean, PromptBuilder())


def _stamped(graph: BookGraph, pdf_path: Path) -> Book:
    """Return the book record with the file's hash and the ingest time filled in."""
    digest = hashlib.sha256(pdf_path.read_bytes()).hexdigest()
    return replace(
        graph.book,
        sha256=graph.book.sha256 or digest,
        ingested_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )

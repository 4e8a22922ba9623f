"""The pipeline stages wired together for one command-line invocation."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any

from commands.settings import Settings
from formalize.endpoints import Endpoint
from kg.errors import GraphStoreError
from kg.factory import Neo4jConnection, open_graph_store
from kg.models import Book, BookGraph, Entity
from kg.store import GraphStore
from kg.workspace import Workspace
from retrieval.closure import DEFAULT_SIMILARITY_FLOOR
from retrieval.dependencies import DependencyRetriever
from retrieval.embedding import SentenceEmbedder
from retrieval.indexing import embed_book
from retrieval.models import ClosureContext, DependencyContext
from retrieval.vector_index import FaissVectorIndex, VectorIndex

log = logging.getLogger(__name__)

# How long a command waits to open the embedded store while another process has it
# open, such as a batch writing a target, before it reports the lock.
STORE_OPEN_WAIT_SECONDS = 10.0
# How long a store call of a command that released the store waits to open it again.
STORE_LOCK_WAIT_SECONDS = 60.0
STORE_LOCK_POLL_SECONDS = 0.1


class Services:
    """Opens the store, the vector index and the model lazily, once per invocation."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.workspace = Workspace(settings.home).ensure()

    @cached_property
    def store(self) -> GraphStore:
        """The graph store, opened on first use. The embedded store is waited for up to
        `STORE_OPEN_WAIT_SECONDS` while another process has it open."""
        return self._open_store(STORE_OPEN_WAIT_SECONDS)

    @cached_property
    def vectors(self) -> VectorIndex:
        """The Neo4j vector index with the neo4j store, else one FAISS file per book."""
        if self.settings.store == "neo4j":
            from kg.neo4j_store import Neo4jStore
            from retrieval.neo4j_vector_index import Neo4jVectorIndex

            store = self.store
            assert isinstance(store, Neo4jStore)
            return Neo4jVectorIndex(store.driver, store.database)
        return FaissVectorIndex(self.workspace)

    @cached_property
    def embedder(self) -> SentenceEmbedder:
        return SentenceEmbedder()

    @cached_property
    def retriever(self) -> DependencyRetriever:
        """One retriever per invocation, so its per-book snapshots are loaded once."""
        return DependencyRetriever(self.store, self.vectors)

    def open_store(self) -> GraphStore:
        """Open the graph store now, so that a locked or unreachable store fails before slow work starts."""
        return self.store

    def reopen_store(self) -> GraphStore:
        """Return the store, opening it again after `release_store` and waiting up to
        `STORE_LOCK_WAIT_SECONDS` while another process has it open."""
        if "store" not in self.__dict__:
            self.__dict__["store"] = self._open_store(STORE_LOCK_WAIT_SECONDS)
        return self.store

    def _open_store(self, wait_seconds: float) -> GraphStore:
        settings = self.settings
        neo4j = Neo4jConnection(
            settings.neo4j_uri, settings.neo4j_username, settings.neo4j_password, settings.neo4j_database
        )
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                return open_graph_store(self.workspace, settings.store, neo4j)
            except GraphStoreError as error:
                if not held_by_another_process(error) or time.monotonic() >= deadline:
                    raise
                log.info("Waiting for another process to release the graph store: %s", error)
                time.sleep(STORE_LOCK_POLL_SECONDS)

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.close()

    def release_store(self) -> None:
        """Close the store so that another process can open it; the next use of `store` opens it again.

        The retriever and the vector index may hold the store, so they are dropped too.
        """
        self.__dict__.pop("retriever", None)
        self.__dict__.pop("vectors", None)
        store = self.__dict__.pop("store", None)
        if store is not None:
            store.close()

    def ingest(
        self,
        pdf_path: Path,
        book_id: str,
        progress: Callable[[int, int], None] | None = None,
    ) -> BookGraph:
        """Read a PDF, embed its items and store the book and its vectors, replacing an earlier version.

        The PDF is read and embedded before anything is written, so a file that
        fails to read or embed leaves the store as it was. The vectors are staged
        next: the FAISS index writes its files under temporary names, so a failed
        vector write leaves the book and its vectors as they were. The book is
        written, and then the staged vectors are committed. The Neo4j vector index
        writes at the commit, because it keeps the vectors on the Entity nodes that
        `write_book` creates.
        """
        from ingest.pipeline import ingest_pdf

        graph = ingest_pdf(pdf_path, book_id, progress=progress)
        graph.book = _stamped(graph, pdf_path)
        entity_ids, embeddings = embed_book(graph, self.embedder)
        staged = self.vectors.stage(book_id, entity_ids, embeddings)
        try:
            self.store.write_book(graph)
        except BaseException:
            staged.discard()
            raise
        staged.commit()
        log.info("indexed %d items of book %s", len(entity_ids), book_id)
        if "retriever" in self.__dict__:
            self.retriever.invalidate(book_id)
        return graph

    def dependencies(self, target: Entity, top: int) -> DependencyContext:
        return self.retriever.dependencies(target, top=top)

    def closure(
        self,
        target: Entity,
        top: int,
        budget_tokens: int | None,
        similarity_floor: float = DEFAULT_SIMILARITY_FLOOR,
    ) -> ClosureContext:
        """Return the dependencies of `target` with what their statements need, cut to the budget."""
        from retrieval.closure import build_closure

        return build_closure(
            self.retriever, target, top=top, budget_tokens=budget_tokens, similarity_floor=similarity_floor
        )

    def llm_settings(self):
        from formalize.llm import LlmSettings

        settings = self.settings
        return LlmSettings(
            base_url=settings.llm_base_url,
            api_key=settings.llm_api_key,
            model=settings.llm_model,
            timeout_seconds=settings.llm_timeout_seconds,
            max_retries=settings.llm_max_retries,
        )

    def formalization_context(
        self, target: Entity, top: int, similarity_floor: float = DEFAULT_SIMILARITY_FLOOR
    ) -> ClosureContext:
        """Return the context a formalization prompt uses: the whole closure, in dependency order.

        The closure gets no token budget here, because the prompt builder cuts it to
        the model's context window, counting the templates and any Lean code too.
        """
        return self.closure(target, top, budget_tokens=None, similarity_floor=similarity_floor)

    def prompt_builder(self, context_window: int | None = None):
        """Build the prompt builder for `context_window` tokens, by default the configured window."""
        from formalize.prompt import PromptBuilder

        return PromptBuilder(context_window=context_window or self.settings.context_window)

    def formalization_prompt(self, context: DependencyContext):
        """Build exactly the prompt that `formalize` sends for this context."""
        from formalize.formalizer import formalization_prompt

        return formalization_prompt(self.store, self.prompt_builder(), context)

    def formalizer(self, endpoint: Endpoint | None = None):
        """Build the formalization pipeline on `endpoint`, or by default on the single LLM settings.

        Raises LlmError naming how to configure an endpoint when the LLM settings lack one.
        """
        from formalize.batch import endpoint_prices
        from formalize.formalizer import Formalizer
        from formalize.lean_project import LeanProject, bundled_lean_template
        from formalize.llm import LlmClient
        from formalize.llm_cache import ResponseCache

        settings = self.settings
        if endpoint is None:
            llm, context_window, prices = self.llm_settings(), settings.context_window, settings.prices
        else:
            # A batch moves a failed job to another endpoint, but one item has nowhere to go,
            # so its client retries as often as [llm] max_retries sets, or the endpoint's max_retries if higher.
            retries = max(endpoint.max_retries, settings.llm_max_retries)
            llm = replace(endpoint.llm_settings(), max_retries=retries)
            context_window = endpoint.context_window
            prices = endpoint_prices([endpoint], settings.prices)
        cache = ResponseCache(self.workspace.llm_cache_dir) if settings.use_llm_cache else None
        client = LlmClient(llm, cache=cache)
        lean = LeanProject(self.workspace.lean_dir, bundled_lean_template())
        return Formalizer(
            self.store,
            client,
            lean,
            self.prompt_builder(context_window),
            repair_rounds=settings.repair_rounds,
            prices=prices,
            semantic_review=settings.semantic_review,
        )

def _stamped(graph: BookGraph, pdf_path: Path) -> Book:
    """Return the book record with the file's hash and the ingest time filled in."""
    digest = hashlib.sha256(pdf_path.read_bytes()).hexdigest()
    return replace(
        graph.book,
        sha256=graph.book.sha256 or digest,
        ingested_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )


class ReopeningStore:
    """A proxy of the Services store that opens it again on first use, waiting while another process has it locked.

    Commands that spend minutes on model calls release the embedded store meanwhile,
    so that `show` or `deps` can run in another shell, and reach it through this proxy.
    """

    def __init__(self, services: Services) -> None:
        self._services = services

    def __getattr__(self, name: str) -> Any:
        return getattr(self._services.reopen_store(), name)


def held_by_another_process(error: GraphStoreError) -> bool:
    """Return whether opening the embedded store failed because another process has it open."""
    # NOTE: the embedded store reports a held lock only in its message text.
    return "locked by another process" in str(error)

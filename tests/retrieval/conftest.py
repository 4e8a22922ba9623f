"""A small hand-built book in the real embedded store and FAISS index, embedded by the real model.

The corpus book fixtures ingest a book of the evaluation corpus once per test
session into its own workspace, for the tests that score retrieval against gold.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from commands.services import Services
from commands.settings import resolve_settings
from kg.models import DEFINES, MENTIONS, Book, BookGraph, Entity, Reference, Term, TermLink
from kg.workspace import Workspace
from retrieval.dependencies import DependencyRetriever
from retrieval.indexing import index_book
from retrieval.vector_index import FaissVectorIndex
from tests.conftest import corpus_book

BOOK = "chain"


def make_entity(kind: str, number: str, order: int, text: str, title: str | None = None,
                section: str = "1.1 Convex sets") -> Entity:
    return Entity(f"{BOOK}:{kind}:{number}", BOOK, kind, number, title, text, order + 1, order, section=section)


def chain_book() -> BookGraph:
    """A chapter whose exercise needs a lemma, whose statement needs a definition, which needs a term.

    Reading order: Definition 1.1 defines "convex set". Definition 1.2 (convex
    function) uses that term. Lemma 1.3 cites Definition 1.2 in its statement and
    Definition 1.1 in its proof. Example 1.4 is an unrelated bakery. Definition 1.5
    redefines "convex set". Exercise 1.6 cites Lemma 1.3 and mentions "convex set".
    """
    convex_set = make_entity("definition", "1.1", 0,
                             "A set C is called a convex set if it contains every segment between two of its points.",
                             "Convex set")
    convex_function = make_entity("definition", "1.2", 1,
                                  "A function f is convex if its epigraph is a convex set.", "Convex function")
    lemma = make_entity("lemma", "1.3", 2,
                        "By Definition 1.2, a sum of two convex functions is convex.", "Sums of convex functions")
    bakery = make_entity("example", "1.4", 3, "A bakery sells bread on weekdays and cakes on Sundays.",
                         section="1.2 Digressions")
    convex_again = make_entity("definition", "1.5", 4,
                               "From now on a convex set is a subset of a vector space closed under convex combinations.",
                               "Convex set, general")
    exercise = make_entity("exercise", "1.6", 5,
                           "Using Lemma 1.3, show that the sum of three convex functions on a convex set is convex.")
    entities = [convex_set, convex_function, lemma, bakery, convex_again, exercise]
    term = Term(f"{BOOK}:term:convex-set", BOOK, "convex set", "convex set")
    return BookGraph(
        book=Book(BOOK, "Chain book", "chain.pdf", 6, "0" * 64),
        entities=entities,
        references=[
            Reference(lemma.id, convex_function.id, "Definition 1.2", 3),
            Reference(lemma.id, convex_set.id, "Definition 1.1", 3, in_proof=True),
            Reference(exercise.id, lemma.id, "Lemma 1.3", 6),
        ],
        terms=[term],
        term_links=[
            TermLink(convex_set.id, term.id, DEFINES),
            TermLink(convex_again.id, term.id, DEFINES),
            TermLink(convex_function.id, term.id, MENTIONS),
            TermLink(exercise.id, term.id, MENTIONS),
        ],
    )


@pytest.fixture
def chain_graph() -> BookGraph:
    return chain_book()


@pytest.fixture
def chain_workspace(tmp_path, chain_graph, embedder):
    """The chain book written to a fresh store and vector index; yields (store, vectors)."""
    from kg.ladybug_store import LadybugStore

    workspace = Workspace(tmp_path).ensure()
    vectors = FaissVectorIndex(workspace)
    index_book(chain_graph, embedder, vectors)
    store = LadybugStore(workspace.graph_path)
    store.write_book(chain_graph)
    yield store, vectors
    store.close()


@pytest.fixture
def chain_retriever(chain_workspace) -> DependencyRetriever:
    store, vectors = chain_workspace
    return DependencyRetriever(store, vectors)


@dataclass(frozen=True)
class IngestedBook:
    """A corpus book ingested into the workspace `home`, with its gold file."""

    book_id: str
    home: Path
    gold: Path

    def services(self) -> Services:
        """Open the book's workspace; the caller closes the returned services."""
        return Services(resolve_settings({"home": self.home}, environ={}))


def _ingest_corpus_book(tmp_path_factory, folder_name: str, book_id: str) -> IngestedBook:
    folder = corpus_book(folder_name)
    book = IngestedBook(book_id, tmp_path_factory.mktemp(book_id), folder / "gold.json")
    services = book.services()
    try:
        services.ingest(folder / "book.pdf", book_id)
    finally:
        services.close()
    return book


@pytest.fixture(scope="session")
def blueprint_book(tmp_path_factory) -> IngestedBook:
    return _ingest_corpus_book(tmp_path_factory, "pfr-blueprint", "pfr")


@pytest.fixture(scope="session")
def optimization_book(tmp_path_factory) -> IngestedBook:
    return _ingest_corpus_book(tmp_path_factory, "open-optimization-or", "oor")

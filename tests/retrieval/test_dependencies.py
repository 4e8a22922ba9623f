"""Dependency recovery over a small hand-built book in the real store, FAISS and model."""

import pytest

from kg.models import DEFINES, MENTIONS, Book, BookGraph, Entity, Reference, Term, TermLink
from kg.workspace import Workspace
from retrieval.dependencies import DependencyRetriever
from retrieval.indexing import index_book
from retrieval.vector_index import FaissVectorIndex

BOOK = "toy"


def _entity(kind, number, order, text, title=None):
    return Entity(f"{BOOK}:{kind}:{number}", BOOK, kind, number, title, text, order + 1, order)


@pytest.fixture
def book_graph():
    convex = _entity("definition", "1.1", 0, "A set C is called convex if it contains every segment between its points.", "Convex set")
    smooth = _entity("definition", "1.2", 1, "A function f is L-smooth if its gradient is L-Lipschitz.")
    convex_again = _entity("definition", "1.3", 2, "We redefine a convex set for subsets of a vector space.", "Convex set, general")
    descent = _entity("lemma", "1.4", 3, "If f is L-smooth then f(y) <= f(x) + <grad f(x), y-x> + L/2 |y-x|^2.", "Descent lemma")
    bakery = _entity("example", "1.5", 4, "A bakery sells bread and cakes.")
    exercise = _entity("exercise", "1.6", 5, "Show that gradient descent with step 1/L decreases f, using Lemma 1.4. Is the feasible set convex?")
    later = _entity("theorem", "1.7", 6, "Gradient descent on an L-smooth function decreases the objective.")
    entities = [convex, smooth, convex_again, descent, bakery, exercise, later]
    term = Term(f"{BOOK}:term:convex set", BOOK, "convex set", "convex set")
    return BookGraph(
        book=Book(BOOK, "Toy book", "toy.pdf", 3, "0" * 64),
        entities=entities,
        references=[
            Reference(exercise.id, descent.id, "Lemma 1.4", 6),
            Reference(descent.id, smooth.id, "Definition 1.2", 4, in_proof=True),
        ],
        terms=[term],
        term_links=[
            TermLink(convex.id, term.id, DEFINES),
            TermLink(convex_again.id, term.id, DEFINES),
            TermLink(exercise.id, term.id, MENTIONS),
        ],
    )


@pytest.fixture
def retriever(tmp_path, book_graph, embedder):
    from kg.ladybug_store import LadybugStore

    workspace = Workspace(tmp_path).ensure()
    vectors = FaissVectorIndex(workspace)
    index_book(book_graph, embedder, vectors)
    store = LadybugStore(workspace.graph_path)
    store.write_book(book_graph)
    yield DependencyRetriever(store, vectors)
    store.close()


def _by_number(context):
    return {dependency.entity.number: dependency for dependency in context.dependencies}


def test_cited_lemma_ranks_first_with_reason(retriever, book_graph):
    context = retriever.dependencies(book_graph.entities[5], top=10)

    first = context.dependencies[0]
    assert first.entity.number == "1.4"
    assert 'cited as "Lemma 1.4" in the statement' in first.reasons


def test_transitive_citation_reached_through(retriever, book_graph):
    found = _by_number(retriever.dependencies(book_graph.entities[5], top=10))

    assert "reached through Lemma 1.4 at depth 2" in found["1.2"].reasons


def test_term_links_latest_definition_before(retriever, book_graph):
    found = _by_number(retriever.dependencies(book_graph.entities[5], top=10))

    assert 'uses the term "convex set" defined there' in found["1.3"].reasons
    superseded = found.get("1.1")
    assert superseded is None or not any("uses the term" in reason for reason in superseded.reasons)


def test_neighbours_only_before_target(retriever, book_graph):
    context = retriever.dependencies(book_graph.entities[5], top=10)

    numbers = [dependency.entity.number for dependency in context.dependencies]
    assert "1.7" not in numbers
    assert "1.6" not in numbers
    similarity_reasons = [
        reason for dependency in context.dependencies for reason in dependency.reasons
        if reason.startswith("semantic similarity")
    ]
    assert similarity_reasons


def test_scores_sorted_and_top_respected(retriever, book_graph):
    context = retriever.dependencies(book_graph.entities[5], top=2)

    assert len(context.dependencies) == 2
    assert context.dependencies[0].score >= context.dependencies[1].score

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


# --- The chain book of conftest.py: reasons, redefinitions, ablations, caching ---


def _chain_found(retriever, graph, index=5):
    return {dependency.entity.number: dependency for dependency in retriever.dependencies(graph.entities[index], top=10).dependencies}


def test_reasons_name_signal_and_numbers(chain_retriever, chain_graph):
    found = _chain_found(chain_retriever, chain_graph)

    assert 'cited as "Lemma 1.3" in the statement' in found["1.3"].reasons
    assert "reached through Lemma 1.3 at depth 2" in found["1.2"].reasons
    assert 'uses the term "convex set" defined there' in found["1.5"].reasons
    similarity = [reason for reason in found["1.3"].reasons if reason.startswith("semantic similarity")]
    assert similarity
    assert "same section" in similarity[0]
    assert "3 items earlier" in similarity[0]


def test_signals_recorded_per_dependency(chain_retriever, chain_graph):
    found = _chain_found(chain_retriever, chain_graph)

    assert found["1.3"].strongest_signal == "citation"
    assert found["1.2"].via == "chain:lemma:1.3"
    assert set(found["1.5"].signals) >= {"term"}


def test_redefinition_links_latest_definer(chain_retriever, chain_graph):
    exercise = _chain_found(chain_retriever, chain_graph, index=5)
    convex_function = _chain_found(chain_retriever, chain_graph, index=1)

    # The exercise comes after the redefinition in Definition 1.5, Definition 1.2 before it.
    assert any("uses the term" in reason for reason in exercise["1.5"].reasons)
    superseded = exercise.get("1.1")
    assert superseded is None or not any("uses the term" in reason for reason in superseded.reasons)
    assert 'uses the term "convex set" defined there' in convex_function["1.1"].reasons


def test_proof_citation_weaker_than_statement(chain_retriever, chain_graph):
    found = _chain_found(chain_retriever, chain_graph, index=2)

    assert found["1.2"].signals["citation"] > found["1.1"].signals["citation"]
    assert 'cited as "Definition 1.1" in the proof' in found["1.1"].reasons


@pytest.mark.parametrize(
    ("signals", "expected_prefixes"),
    [
        (("citation", "transitive_citation"), ("cited as", "reached through")),
        (("term",), ("uses the term",)),
        (("similarity",), ("semantic similarity",)),
    ],
)
def test_ablation_uses_only_its_signals(chain_workspace, chain_graph, signals, expected_prefixes):
    store, vectors = chain_workspace
    retriever = DependencyRetriever(store, vectors, signals=signals)

    context = retriever.dependencies(chain_graph.entities[5], top=10)

    assert context.dependencies
    for dependency in context.dependencies:
        assert set(dependency.signals) <= set(signals)
        for reason in dependency.reasons:
            assert reason.startswith(expected_prefixes), reason


def test_unknown_signal_rejected(chain_workspace):
    store, vectors = chain_workspace
    with pytest.raises(ValueError, match="unknown signals"):
        DependencyRetriever(store, vectors, signals=("gossip",))


def test_snapshot_cached_until_invalidated(chain_retriever, chain_graph):
    first = chain_retriever.snapshot("chain")

    assert chain_retriever.snapshot("chain") is first
    chain_retriever.invalidate("chain")
    assert chain_retriever.snapshot("chain") is not first


def test_cited_item_counts_wherever_it_stands(chain_workspace, chain_graph):
    from dataclasses import replace

    from kg.models import Reference

    store, vectors = chain_workspace
    forward = Reference(chain_graph.entities[0].id, chain_graph.entities[5].id, "Exercise 1.6", 1)
    store.write_book(replace(chain_graph, references=[*chain_graph.references, forward]))

    found = _chain_found(DependencyRetriever(store, vectors), chain_graph, index=0)

    assert 'cited as "Exercise 1.6" in the statement' in found["1.6"].reasons


def test_ambiguous_number_prefers_similar_copy(tmp_path, embedder):
    from kg.ladybug_store import LadybugStore

    restated = Entity("dup:example:2.1", "dup", "example", "2.1", None,
                      "A bakery bakes bread and cakes every morning.", 1, 0)
    copy = Entity("dup:example:2.1~2", "dup", "example", "2.1", None,
                  "A factory plans production of steel over ten periods with inventory.", 2, 1)
    exercise = Entity("dup:exercise:2.2", "dup", "exercise", "2.2", None,
                      "Extend Example 2.1 to plan steel production and inventory over five periods.", 3, 2)
    graph = BookGraph(
        book=Book("dup", "Duplicates", "dup.pdf", 3, "0" * 64),
        entities=[restated, copy, exercise],
        references=[Reference(exercise.id, restated.id, "Example 2.1", 3)],
    )
    workspace = Workspace(tmp_path).ensure()
    vectors = FaissVectorIndex(workspace)
    index_book(graph, embedder, vectors)
    with LadybugStore(workspace.graph_path) as store:
        store.write_book(graph)
        context = DependencyRetriever(store, vectors).dependencies(exercise, top=5)

    assert [dependency.entity.id for dependency in context.dependencies[:2]] == [copy.id, restated.id]
    assert "the book prints this number on 2 items" in context.dependencies[0].reasons[0]

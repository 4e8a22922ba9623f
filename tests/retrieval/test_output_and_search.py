"""DOT output of dependency graphs and semantic search, on the chain book."""

import re
import shutil
import subprocess

import pytest

from commands.dependency_output import context_dict, render_dot, render_svg
from retrieval.closure import build_closure
from retrieval.search import SemanticSearcher


def _dot_is_balanced(text: str) -> bool:
    unescaped = re.sub(r'\\.', "", text)
    return unescaped.count('"') % 2 == 0 and text.count("{") == text.count("}")


def test_dot_has_nodes_and_styled_edges(chain_retriever, chain_graph):
    context = chain_retriever.dependencies(chain_graph.entities[5], top=10)

    dot = render_dot(context)

    assert dot.startswith("digraph dependencies {")
    assert _dot_is_balanced(dot)
    assert '"chain:exercise:1.6" [' in dot
    assert "penwidth=2.5" in dot
    assert '"chain:exercise:1.6" -> "chain:lemma:1.3" [style=solid' in dot
    assert '"chain:lemma:1.3" -> "chain:definition:1.2"' in dot, "a transitive item hangs off the item it came through"
    assert "style=dashed" in dot


def test_dot_escapes_quotes_in_titles(chain_retriever, chain_graph):
    target = chain_graph.entities[5]
    target.title = 'The "hard" one\\'

    dot = render_dot(chain_retriever.dependencies(target, top=3))

    assert 'The \\"hard\\" one\\\\' in dot
    assert _dot_is_balanced(dot)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' is not installed")
def test_closure_dot_parses_with_graphviz(chain_retriever, chain_graph):
    closure = build_closure(chain_retriever, chain_graph.entities[5], top=10)

    result = subprocess.run(["dot", "-Tcanon"], input=render_dot(closure), capture_output=True, text=True, check=False)

    assert result.returncode == 0, result.stderr
    assert render_svg(render_dot(closure)).lstrip().startswith(("<?xml", "<svg"))


def test_svg_without_graphviz_names_package(monkeypatch):
    from kg.errors import LemmagraphError

    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(LemmagraphError, match="'graphviz' package"):
        render_svg("digraph {}")


def test_closure_json_lists_dropped(chain_retriever, chain_graph):
    closure = build_closure(chain_retriever, chain_graph.entities[5], top=10, budget_tokens=10)

    data = context_dict(closure)

    assert data["budget_tokens"] == 10
    assert data["dropped"]
    assert set(data["dropped"][0]) == {"id", "kind", "number", "title", "page", "score", "reasons"}
    assert data["estimated_tokens"] <= 10


def test_search_finds_definition_by_meaning(chain_workspace, embedder):
    store, vectors = chain_workspace
    searcher = SemanticSearcher(store, vectors, embedder)

    hits = searcher.search("segment joining two points of a set", kind="definition", top=2)

    assert [hit.entity.kind for hit in hits] == ["definition", "definition"]
    assert hits[0].entity.number == "1.1"
    assert hits[0].similarity >= hits[1].similarity


def test_search_unknown_book_raises(chain_workspace, embedder):
    from kg.errors import NotFoundError

    store, vectors = chain_workspace
    with pytest.raises(NotFoundError):
        SemanticSearcher(store, vectors, embedder).search("bread", book_ids=["nope"])


def test_search_rejects_empty_text(chain_workspace, embedder):
    store, vectors = chain_workspace
    with pytest.raises(ValueError, match="empty"):
        SemanticSearcher(store, vectors, embedder).search("   ")


def test_search_kind_fills_top_from_whole_book(tmp_path, embedder):
    """A kind whose items rank below many others still fills `top`."""
    from kg.ladybug_store import LadybugStore
    from kg.models import Book, BookGraph, Entity
    from kg.workspace import Workspace
    from retrieval.indexing import index_book
    from retrieval.vector_index import FaissVectorIndex

    examples = [
        Entity(f"s:example:{order}", "s", "example", str(order), None, f"Convex set example number {order}.", 1, order)
        for order in range(60)
    ]
    remarks = [
        Entity(f"s:remark:{order}", "s", "remark", str(order), None, text, 2, order)
        for order, text in ((60, "The bakery opens at nine."), (61, "Bread is baked daily."), (62, "Cakes on Sundays."))
    ]
    graph = BookGraph(Book("s", "Search book", "s.pdf", 2, "0" * 64), entities=examples + remarks)
    workspace = Workspace(tmp_path).ensure()
    vectors = FaissVectorIndex(workspace)
    index_book(graph, embedder, vectors)
    with LadybugStore(workspace.graph_path) as store:
        store.write_book(graph)

        hits = SemanticSearcher(store, vectors, embedder).search("convex set", kind="remark", top=3)

    assert len(hits) == 3
    assert {hit.entity.kind for hit in hits} == {"remark"}

from __future__ import annotations

from kg.models import DEFINES, MENTIONS


def _links(graph, link_type: str) -> set[tuple[str, str]]:
    names = {term.id: term.name for term in graph.terms}
    return {(link.entity_id, names[link.term_id]) for link in graph.term_links if link.type == link_type}


def test_emphasised_term_defined(ingest_pages) -> None:
    graph = ingest_pages([[
        [("Definition 1.1.", "bold"), (" A set ", "regular"), ("C", "math"), (" is ", "regular"),
         ("convex", "italic"), (" if it holds every segment.", "regular")],
    ]])

    assert _links(graph, DEFINES) == {("test:definition:1.1", "convex")}


def test_math_italic_not_a_term(ingest_pages) -> None:
    graph = ingest_pages([[
        [("Definition 1.1.", "bold"), (" The map ", "regular"), ("phi", "math"), (" sends ", "regular"),
         ("xyz", "math"), (" to a ", "regular"), ("linear function", "bold"), (".", "regular")],
    ]])

    assert {term.name for term in graph.terms} == {"linear function"}


def test_called_phrase_and_title(ingest_pages) -> None:
    graph = ingest_pages([[
        [("Definition 2.1", "bold"), (" (Convex Functions)", "regular"), (".", "bold"),
         (" A point of a set is called an extreme point if it is no midpoint.", "regular")],
    ]])

    assert {term.name for term in graph.terms} == {"convex function", "extreme point"}


def test_later_item_mentions_term(ingest_pages) -> None:
    graph = ingest_pages([[
        [("Theorem 1.1.", "bold"), (" Every convex function here is bounded.", "italic")],
        [("Definition 1.2.", "bold"), (" A function is a ", "regular"), ("convex function", "italic"),
         (" if its epigraph is convex.", "regular")],
        [("Exercise 1.3", "bold"), (" Show that Convex Functions have convex sublevel sets.", "regular")],
    ]])

    assert _links(graph, MENTIONS) == {("test:exercise:1.3", "convex function")}

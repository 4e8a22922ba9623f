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


def test_subscripted_italic_run_not_a_term(ingest_pages) -> None:
    # Times-based books print math letters in the text italic font: "c_n x_n" here.
    graph = ingest_pages([[
        [("Definition 1.1.", "bold"), (" The sum ", "regular"), ("c", "italic"), ("n", "italic", 8),
         ("x", "italic"), ("n", "italic", 8), (" is a ", "regular"), ("linear form", "italic"), (".", "regular")],
    ]])

    assert {term.name for term in graph.terms} == {"linear form"}


def test_term_across_line_break(ingest_pages) -> None:
    graph = ingest_pages([[
        [("Definition 1.1.", "bold"), (" A system is called ", "regular"), ("consis-", "bold")],
        [("tent", "bold"), (" if it has a solution, and a set is ", "regular"), ("linearly", "italic")],
        [("independent", "italic"), (" if no vector is a combination of the others.", "regular")],
    ]])

    assert {term.name for term in graph.terms} == {"consistent", "linearly independent"}


def test_run_in_label_not_a_term(ingest_pages) -> None:
    graph = ingest_pages([[
        [("Definition 1.1.", "bold"), (" The ", "regular"), ("shadow price", "bold"), (" of a constraint.", "regular")],
        [("Interpretation:", "bold"), (" the value of one more unit.", "regular")],
        [("•", "symbol"), (" ", "regular"), ("Objective Function:", "bold"), (" what we maximize.", "regular")],
    ]])

    assert {term.name for term in graph.terms} == {"shadow price", "objective function"}


def test_heading_line_not_a_term(ingest_pages) -> None:
    graph = ingest_pages([[
        [("Definition 1.1.", "bold"), (" A graph with arrows is a ", "regular"), ("directed graph", "italic"),
         (".", "regular")],
        [("Learning Checkpoint 1.2", "bold")],
        [("How many vertices does the graph have?", "regular")],
    ]])

    assert {term.name for term in graph.terms} == {"directed graph"}


def test_surface_cleaning_rules(ingest_pages) -> None:
    graph = ingest_pages([[
        [("Definition 1.1.", "bold"), (" A set ", "regular"), ("B", "math"), (" is a ", "regular"),
         ("basis B", "italic"), (", its size is the ", "regular"), ("rank of A", "italic"), (", and ", "regular"),
         ("Parameters (Data", "bold"), (" and ", "regular"), ("i x", "italic"), (" are data.", "regular")],
    ]])

    assert {term.name for term in graph.terms} == {"basis", "rank"}


def test_called_phrase_drops_article(ingest_pages) -> None:
    graph = ingest_pages([[
        [("Definition 1.1.", "bold"), (" A pair is called a tau-minimizer if it minimizes tau.", "regular")],
    ]])

    assert {term.name for term in graph.terms} == {"tau-minimizer"}


def test_name_lemmatizes_head_word_only(ingest_pages) -> None:
    graph = ingest_pages([[
        [("Definition 1.1.", "bold"), (" These numbers are the ", "regular"), ("reduced costs", "italic"),
         (".", "regular")],
        [("Exercise 1.2", "bold"), (" Compute the reduced cost of x.", "regular")],
    ]])

    assert {term.name for term in graph.terms} == {"reduced cost"}
    assert _links(graph, MENTIONS) == {("test:exercise:1.2", "reduced cost")}

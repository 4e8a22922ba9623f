from __future__ import annotations

import pytest

from kg.models import DEFINES, MENTIONS
from ingest.notation import find_symbols


@pytest.mark.parametrize(
    ("text", "surfaces", "keys"),
    [
        ("the Ruzsa distance 𝑑[𝑋; 𝑌] is defined to be 𝑑[𝑋; 𝑌] ∶= ℍ[𝑋′ −𝑌′] − ℍ[𝑋′]/2", ["𝑑[𝑋; 𝑌]"], ["𝑑["]),
        ("We set 𝜂∶= 1/9.", ["𝜂"], ["𝜂"]),
        ("We denote it by rank(A).", ["rank(A)"], ["rank("]),
        ("If A is a set then by dim(A) we mean the dimension of its span.", ["dim(A)"], ["dim("]),
        ("Let ‖x‖ denote the norm of the vector x.", ["‖x‖"], ["‖x‖"]),
        ("For vectors u and v we write u•v for the dot product.", ["u•v"], ["u•v"]),
    ],
)
def test_symbols_found(text: str, surfaces: list[str], keys: list[str]) -> None:
    symbols = find_symbols(text)

    assert [symbol.surface for symbol in symbols] == surfaces
    assert [symbol.key for symbol in symbols] == keys


@pytest.mark.parametrize(
    "text",
    [
        "Let X denote the number of chairs and Y the number of tables.",
        "Then we define the following sets and parameters.",
        "It is denoted by 0.",
        "We set 𝑊∶= 𝑋 + 𝑌 and 𝑍1 ∶= 𝑋 − 𝑌.",
    ],
)
def test_words_and_variables_are_not_symbols(text: str) -> None:
    assert find_symbols(text) == []


def _links(graph, link_type: str) -> set[tuple[str, str]]:
    surfaces = {term.id: term.surface for term in graph.terms}
    return {(link.entity_id, surfaces[link.term_id]) for link in graph.term_links if link.type == link_type}


def test_symbol_defined_and_mentioned_later(ingest_pages) -> None:
    graph = ingest_pages([[
        [("Lemma 1.1.", "bold"), (" Every two sets have a least distance dist(A, B).", "italic")],
        [("Definition 1.2.", "bold"), (" For sets A and B we write dist(A, B) for the least distance.", "regular")],
        [("Lemma 1.3.", "bold"), (" The distance dist(A, B) equals dist(B, A).", "italic")],
        [("Exercise 1.4", "bold"), (" Compute the diameter of a finite set.", "regular")],
    ]])

    [symbol] = [term for term in graph.terms if term.id.startswith("test:symbol:")]
    assert (symbol.id, symbol.name, symbol.surface) == ("test:symbol:dist(", "dist(", "dist(A, B)")
    assert _links(graph, DEFINES) >= {("test:definition:1.2", "dist(A, B)")}
    assert ("test:lemma:1.3", "dist(A, B)") in _links(graph, MENTIONS)
    assert ("test:lemma:1.1", "dist(A, B)") not in _links(graph, MENTIONS)
    assert ("test:exercise:1.4", "dist(A, B)") not in _links(graph, MENTIONS)

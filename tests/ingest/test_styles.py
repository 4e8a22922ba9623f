"""Item heads, environment ends and citations in typographic styles other than bold heads.

Each test writes a small book in one style: amsthm heads in small capitals,
italic remark heads before an upright body, exercise lists with sub-parts,
proofs printed away from their statement, and algorithm floats.
"""

from __future__ import annotations

from tests.ingest.pdf_builder import INDENT

NARRATIVE = [
    [INDENT, ("In this chapter we study the entropy of random variables on groups.", "regular")],
    [("Everything below is finite, and all logarithms are natural ones.", "regular")],
    [INDENT, ("We start with two inequalities that are used throughout the text.", "regular")],
    [("They are classical, and the proofs are short.", "regular")],
    [INDENT, ("Several estimates follow, each with its own short argument.", "regular")],
    [INDENT, ("The last section collects exercises on the material.", "regular")],
    [INDENT, ("Algorithms for computing the quantities come at the end.", "regular")],
]


def _labels(graph) -> list[str]:
    return [entity.label for entity in graph.entities]


def _edges(graph) -> set[tuple[str, str]]:
    labels = {entity.id: entity.label for entity in graph.entities}
    return {(labels[reference.source_id], labels[reference.target_id]) for reference in graph.references}


def _entity(graph, label: str):
    [entity] = [entity for entity in graph.entities if entity.label == label]
    return entity


def test_small_caps_font_head_with_title(ingest_pages) -> None:
    graph = ingest_pages([NARRATIVE + [
        [("Lemma 3.2", "smallcaps"), (" (Log-sum inequality).", "regular"), (" If every a is positive, then", "italic")],
        [("the sum of the logarithms is bounded by the logarithm of the sum.", "italic")],
    ]])

    lemma = _entity(graph, "Lemma 3.2")
    assert lemma.title == "Log-sum inequality"
    assert lemma.text.startswith("If every a is positive")


def test_capitals_in_smaller_size_read_as_small_caps(ingest_pages) -> None:
    graph = ingest_pages([NARRATIVE + [
        [("T", "regular"), ("HEOREM", "regular", 8.0), (" 4.1.", "regular"), (" Every finite group acts on itself.", "italic")],
    ]])

    theorem = _entity(graph, "Theorem 4.1")
    assert theorem.text == "Every finite group acts on itself."


def test_upright_paragraph_ends_italic_statement(ingest_pages) -> None:
    graph = ingest_pages([NARRATIVE + [
        [("Lemma 3.1.", "bold"), (" The entropy of a pair is at most the sum of", "italic")],
        [("the entropies of its two parts.", "italic")],
        [INDENT, ("This is sharp for independent pairs; compare Lemma 3.2 below.", "regular")],
        [("Lemma 3.2.", "bold"), (" Conditioning never increases the entropy.", "italic")],
    ]])

    lemma = _entity(graph, "Lemma 3.1")
    assert lemma.text == "The entropy of a pair is at most the sum of the entropies of its two parts."
    assert _edges(graph) == set()


def test_italic_head_before_upright_body(ingest_pages) -> None:
    graph = ingest_pages([NARRATIVE + [
        [("Lemma 3.1.", "bold"), (" The entropy of a pair is at most the sum.", "italic")],
        [("Remark 3.3.", "italic"), (" The bound of Lemma 3.1 is attained for independent pairs.", "regular")],
    ]])

    assert _labels(graph) == ["Lemma 3.1", "Remark 3.3"]
    assert _edges(graph) == {("Remark 3.3", "Lemma 3.1")}


def test_italic_citation_in_italic_body_is_not_head(ingest_pages) -> None:
    graph = ingest_pages([NARRATIVE + [
        [("Lemma 3.1.", "bold"), (" The entropy of a pair is at most the sum.", "italic")],
        [("Theorem 3.4.", "bold"), (" Let X be a random variable. Then, by", "italic")],
        [("Lemma 3.1. applied twice, the entropy of X is finite.", "italic")],
    ]])

    assert _labels(graph) == ["Lemma 3.1", "Theorem 3.4"]
    assert _edges(graph) == {("Theorem 3.4", "Lemma 3.1")}


def test_extra_space_ends_upright_definition(ingest_pages) -> None:
    graph = ingest_pages([NARRATIVE + [
        [("Definition 2.1.", "bold"), (" The entropy of a random variable is the expected", "regular")],
        [("value of the negative logarithm of its mass function.", "regular")],
        [],
        [INDENT, ("Later, Theorem 2.2 shows that this number is never negative.", "regular")],
        [("Theorem 2.2.", "bold"), (" Entropy is nonnegative.", "italic")],
    ]])

    definition = _entity(graph, "Definition 2.1")
    assert definition.text.endswith("negative logarithm of its mass function.")
    assert _edges(graph) == set()


def test_indented_paragraph_inside_proof_kept(ingest_pages) -> None:
    graph = ingest_pages([NARRATIVE + [
        [("Lemma 3.1.", "bold"), (" The entropy of a pair is at most the sum.", "italic")],
        [("Lemma 3.2.", "bold"), (" Conditioning never increases the entropy.", "italic")],
        [("Proof.", "italic"), (" Write the conditional entropy as an average.", "regular")],
        [INDENT, ("Then Lemma 3.1 bounds every term of the average.", "regular")],
    ]])

    assert _edges(graph) == {("Lemma 3.2", "Lemma 3.1")}
    assert _entity(graph, "Lemma 3.2").proof.endswith("bounds every term of the average.")


def test_text_after_proof_is_not_proof(ingest_pages) -> None:
    graph = ingest_pages([NARRATIVE + [
        [("Lemma 3.1.", "bold"), (" The entropy of a pair is at most the sum.", "italic")],
        [("Lemma 3.2.", "bold"), (" Conditioning never increases the entropy.", "italic")],
        [("Proof.", "italic"), (" Write the conditional entropy as an average of", "regular")],
        [("entropies and bound each of them in turn.", "regular")],
        [],
        [INDENT, ("One could also derive Lemma 3.1 from this lemma.", "regular")],
    ]])

    assert _edges(graph) == set()


def test_named_proof_in_small_caps(ingest_pages) -> None:
    graph = ingest_pages([NARRATIVE + [
        [("Lemma 3.1.", "smallcaps"), (" The entropy of a pair is at most the sum.", "italic")],
        [("Lemma 3.2.", "smallcaps"), (" Conditioning never increases the entropy.", "italic")],
        [("Proof of Lemma 3.1.", "smallcaps"), (" Apply Jensen's inequality to the logarithm.", "regular")],
    ]])

    assert _entity(graph, "Lemma 3.1").proof.startswith("Proof of Lemma 3.1.")
    assert _entity(graph, "Lemma 3.2").proof == ""


def test_exercise_list_with_parts(ingest_pages) -> None:
    graph = ingest_pages([NARRATIVE + [
        [("Exercise 5.3.7", "bold"), (" Let G be a finite group.", "regular")],
        [INDENT, ("(a) Show that the uniform variable has maximal entropy.", "regular")],
        [INDENT, ("(b) Compute the entropy of a subgroup's uniform variable.", "regular")],
        [("Exercise 5.3.8", "bold"), (" Repeat Exercise 5.3.7(b) for a coset of the subgroup.", "regular")],
    ]])

    first, second = graph.entities
    assert (first.kind, first.number, second.number) == ("exercise", "5.3.7", "5.3.8")
    assert "(a) Show that" in first.text
    assert first.text.endswith("(b) Compute the entropy of a subgroup's uniform variable.")
    assert _edges(graph) == {("Exercise 5.3.8", "Exercise 5.3.7")}


def test_algorithm_float_ends_at_margin(ingest_pages) -> None:
    graph = ingest_pages([NARRATIVE + [
        [("Theorem 5.1.", "bold"), (" A minimum spanning tree exists.", "italic")],
        [("Algorithm 1", "bold"), (" Prim's method", "regular")],
        [("Algorithm 2", "bold"), (" Kruskal's Algorithm", "regular")],
        [INDENT, ("1: Input: a connected graph with weighted edges.", "regular")],
        [INDENT, ("2: Sort the edges by weight and add them in turn.", "regular")],
        [("We will see why Theorem 5.1 makes this correct.", "regular")],
    ]])

    algorithm = _entity(graph, "Algorithm 2")
    assert algorithm.text.endswith("add them in turn.")
    assert _edges(graph) == set()

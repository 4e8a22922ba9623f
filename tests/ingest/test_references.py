from __future__ import annotations

FILLER = "Some ordinary words of the statement come first here."


def _edges(graph) -> set[tuple[str, str]]:
    labels = {entity.id: entity.label for entity in graph.entities}
    return {(labels[reference.source_id], labels[reference.target_id]) for reference in graph.references}


def _lemmas(count: int) -> list[list[tuple[str, str]]]:
    return [[(f"Lemma 1.{index}.", "bold"), (f" Claim number {index} holds for every set.", "italic")]
            for index in range(1, count + 1)]


def test_single_reference_resolved(ingest_pages) -> None:
    graph = ingest_pages([_lemmas(2) + [
        [("Theorem 2.1.", "bold"), (" By Lemma 1.2 every set is small.", "italic")],
    ]])

    [reference] = graph.references
    assert reference.source_id == "test:theorem:2.1"
    assert reference.target_id == "test:lemma:1.2"
    assert reference.surface == "Lemma 1.2"
    assert reference.page == 1
    assert reference.in_proof is False


def test_reference_inside_proof(ingest_pages) -> None:
    graph = ingest_pages([_lemmas(1) + [
        [("Theorem 2.1.", "bold"), (" Every set is small.", "italic")],
        [("Proof.", "italic"), (" This follows from Lemma 1.1 directly.", "regular")],
    ]])

    [reference] = graph.references
    assert reference.in_proof is True
    assert reference.target_id == "test:lemma:1.1"


def test_head_word_at_line_end(ingest_pages) -> None:
    graph = ingest_pages([_lemmas(3) + [
        [("Theorem 2.1.", "bold"), (" Every set is small, as shown by Lemma", "italic")],
        [("1.3 and the remark above it.", "italic")],
    ]])

    assert _edges(graph) == {("Theorem 2.1", "Lemma 1.3")}


def test_plural_range_expanded(ingest_pages) -> None:
    graph = ingest_pages([_lemmas(4) + [
        [("Theorem 2.1.", "bold"), (" Combining Lemmas 1.1", "italic"), ("\u2013", "symbol"),
         ("1.3 gives the claim.", "italic")],
    ]])

    assert _edges(graph) == {("Theorem 2.1", f"Lemma 1.{index}") for index in (1, 2, 3)}


def test_plural_list_resolved(ingest_pages) -> None:
    graph = ingest_pages([[
        [("Theorem 2.1.", "bold"), (" The first result about every set.", "italic")],
        [("Theorem 2.2.", "bold"), (" The second result about every set.", "italic")],
        [("Theorem 2.3.", "bold"), (" The third result about every set.", "italic")],
        [("Corollary 2.4.", "bold"), (" Theorems 2.1 and 2.3 give the bound.", "italic")],
    ]])

    assert _edges(graph) == {("Corollary 2.4", "Theorem 2.1"), ("Corollary 2.4", "Theorem 2.3")}


def test_part_suffix_and_other_kinds(ingest_pages) -> None:
    graph = ingest_pages([[
        [("Definition 1.4.", "bold"), (" A set is (a) open or (b) closed in the space.", "regular")],
        [("Algorithm 4", "bold"), (" Repeat the pivot step until no candidate remains.", "regular")],
        [("Exercise 3.1", "bold"), (" Use Definition 1.4(b) and Algorithm 4 to decide.", "regular")],
    ]])

    assert _edges(graph) == {("Exercise 3.1", "Definition 1.4"), ("Exercise 3.1", "Algorithm 4")}


def test_equation_number_resolved_to_item(ingest_pages) -> None:
    graph = ingest_pages([[
        [("Theorem 2.3.", "bold"), (" For every feasible point the bound", "italic")],
        [("x + y \u2264 1", "regular")],
        [("(2.4)", "regular")],
        [("holds on the whole region.", "italic")],
        [("Example 2.5.", "bold"), (" Inequality (2.4) fails outside the region.", "regular")],
    ]])

    assert _edges(graph) == {("Example 2.5", "Theorem 2.3")}
    assert graph.references[0].surface == "(2.4)"


def test_self_and_unknown_references_ignored(ingest_pages) -> None:
    graph = ingest_pages([[
        [("Lemma 1.1.", "bold"), (" Lemma 1.1 generalises Lemma 9.9 of another book.", "italic")],
    ]])

    assert graph.references == []


def test_algorithm_line_label_not_citation(ingest_pages) -> None:
    graph = ingest_pages([[
        [("Algorithm 1", "bold"), (" Prim's method for spanning trees", "regular")],
        [("Algorithm 2", "bold"), (" Kruskal's Algorithm", "regular")],
        [("1: Input: a connected graph with weighted edges.", "regular")],
    ]])

    assert graph.references == []


def test_repeated_label_keeps_title_resolution(ingest_pages) -> None:
    # The book prints "Example 4.1" twice. The cited title picks the second one, so a
    # later citation in the same item without the title means the same example.
    graph = ingest_pages([[
        [("Example 4.1.", "bold"), (" Summing over the months of a year.", "regular")],
        [("Example 4.1:", "bold"), (" Production Planning", "bold")],
        [("Plan the production over ten periods at least cost.", "regular")],
        [("Exercise 4.2", "bold"), (" Redo Example 4.1 (Production Planning) with new data.", "regular")],
        [("See also Example 4.1 for the workbook.", "regular")],
    ]])

    targets = {reference.target_id for reference in graph.references}
    assert targets == {"test:example:4.1~2"}


def test_other_kind_fallback_needs_shared_counter(ingest_pages) -> None:
    # Examples and exercises have their own counters here (both print 2.1), so
    # "Example 2.3" must not resolve to Exercise 2.3.
    graph = ingest_pages([[
        [("Example 2.1.", "bold"), (" The first example of the section.", "regular")],
        [("Exercise 2.1", "bold"), (" The first exercise of the section.", "regular")],
        [("Exercise 2.2", "bold"), (" Another exercise of the section.", "regular")],
        [("Exercise 2.3", "bold"), (" A third exercise of the section.", "regular")],
        [("Exercise 2.4", "bold"), (" Compare with Example 2.1 and Example 2.3.", "regular")],
    ]])

    assert _edges(graph) == {("Exercise 2.4", "Example 2.1")}


def test_other_kind_fallback_with_shared_counter(ingest_pages) -> None:
    graph = ingest_pages([_lemmas(2) + [
        [("Corollary 1.3.", "bold"), (" By Corollary 1.1, 1.2 every set is small.", "italic")],
    ]])

    assert _edges(graph) == {("Corollary 1.3", "Lemma 1.1"), ("Corollary 1.3", "Lemma 1.2")}


def test_equation_tag_in_proof_not_cited_item(ingest_pages) -> None:
    graph = ingest_pages([[
        [("Lemma 2.1.", "bold"), (" Every feasible point is bounded.", "italic")],
        [("Proof.", "italic"), (" Summing the constraints gives", "regular")],
        [("x + y \u2264 1", "regular")],
        [("(2.2)", "regular")],
        [("and the claim follows.", "regular")],
        [("Lemma 2.3.", "bold"), (" Every feasible point is small.", "italic")],
        [("Proof.", "italic"), (" The step (2.2) applies here too.", "regular")],
    ]])

    assert graph.references == []

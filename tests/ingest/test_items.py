from __future__ import annotations

from pathlib import Path

import pymupdf

from ingest.pipeline import ingest_pdf
from tests.ingest.pdf_builder import INDENT, text_width

BODY = "The statement of the item continues here with enough words."


def _by_label(graph):
    return {entity.label: entity for entity in graph.entities}


def test_run_in_head_with_title(ingest_pages) -> None:
    graph = ingest_pages([[
        [("Lemma 1.2", "bold"), (" (log sum inequality)", "regular"), (".", "bold"), (" If S is finite, then", "italic")],
        [("the sum is bounded.", "italic")],
    ]])

    [lemma] = graph.entities
    assert (lemma.kind, lemma.number, lemma.page) == ("lemma", "1.2", 1)
    assert lemma.title == "log sum inequality"
    assert lemma.text == "If S is finite, then the sum is bounded."
    assert lemma.id == "test:lemma:1.2"


def test_boxed_head_with_colon_title(ingest_pages) -> None:
    graph = ingest_pages([[
        [("Example 2.5:", "bold"), (" The Diet Problem", "bold")],
        [(BODY, "regular")],
    ]])

    [example] = graph.entities
    assert (example.kind, example.number) == ("example", "2.5")
    assert example.title == "The Diet Problem"
    assert example.text == BODY


def test_colon_title_keeps_bracketed_math(ingest_pages) -> None:
    graph = ingest_pages([[
        [
            ("Example 4.1:", "bold"),
            (" Production Planning (", "bold"),
            ("T", "italic"),
            (" = 10", "regular"),
            (")", "bold"),
        ],
        [(BODY, "regular")],
    ]])

    [example] = graph.entities
    assert example.title == "Production Planning (T = 10)"
    assert example.text == BODY


def test_colon_title_bracket_closed_in_body_font(ingest_pages) -> None:
    graph = ingest_pages([[
        [("Example 4.2:", "bold"), (" Overtime (", "bold"), ("T", "italic"), (" = 10) per period", "regular")],
        [(BODY, "regular")],
    ]])

    [example] = graph.entities
    assert example.title == "Overtime (T = 10)"
    assert example.text.startswith("per period")


def test_synonym_head_words_map_to_kinds(ingest_pages) -> None:
    graph = ingest_pages([[
        [("Problem 3.1", "bold"), (" Solve the system below for every value.", "regular")],
        [("Observation 3.2.", "bold"), (" The system below has a solution.", "regular")],
        [("Procedure 3.3", "bold"), (" Apply row operations in turn.", "regular")],
    ]])

    assert [(entity.kind, entity.number) for entity in graph.entities] == [
        ("exercise", "3.1"),
        ("remark", "3.2"),
        ("algorithm", "3.3"),
    ]


def test_unnumbered_bold_head(ingest_pages) -> None:
    graph = ingest_pages([[
        [("Algorithm:", "bold"), (" Simplex Method", "bold")],
        [("Choose an entering variable and pivot until optimal.", "regular")],
    ]])

    [algorithm] = graph.entities
    assert algorithm.number is None
    assert algorithm.title == "Simplex Method"
    assert algorithm.id == "test:algorithm:u0"


def test_regular_font_citation_is_not_head(ingest_pages) -> None:
    graph = ingest_pages([[
        [("Lemma 1.1", "bold"), (" Every bounded set is small enough.", "regular")],
        [("Lemma 1.1 is used below in the proof of the main claim.", "regular")],
    ]])

    assert [entity.label for entity in graph.entities] == ["Lemma 1.1"]


def test_head_split_across_pieces(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 100), "Theorem", fontname="Times-Bold", fontsize=10)
    page.insert_text((122, 100), "4.10.", fontname="Times-Bold", fontsize=10)
    page.insert_text((72, 114), BODY, fontname="Times-Roman", fontsize=10)
    path = tmp_path / "split.pdf"
    doc.save(path)

    graph = ingest_pdf(path, "test")

    assert [(entity.kind, entity.number) for entity in graph.entities] == [("theorem", "4.10")]


def test_proof_attached_to_item(ingest_pages) -> None:
    graph = ingest_pages([[
        [("Theorem 2.1.", "bold"), (" Every polytope has a vertex.", "italic")],
        [("Proof.", "italic"), (" Take a point that minimizes a generic", "regular")],
        [("linear function over the polytope. ", "regular"), ("\u25a1", "symbol")],
        [("The text after the proof belongs to no item at all.", "regular")],
    ]])

    [theorem] = graph.entities
    assert theorem.text == "Every polytope has a vertex."
    assert theorem.proof == "Proof. Take a point that minimizes a generic linear function over the polytope. \u25a1"


def test_named_proof_attached_to_earlier_item(ingest_pages) -> None:
    graph = ingest_pages([[
        [("Lemma 3.1.", "bold"), (" The first claim holds for all sets.", "italic")],
        [("Lemma 3.2.", "bold"), (" The second claim holds for all sets.", "italic")],
        [("Proof of Lemma 3.1.", "italic"), (" Apply the definition twice in a row.", "regular")],
    ]])

    lemmas = _by_label(graph)
    assert lemmas["Lemma 3.1"].proof.startswith("Proof of Lemma 3.1.")
    assert lemmas["Lemma 3.2"].proof == ""


def test_item_spans_pages(ingest_pages) -> None:
    graph = ingest_pages([
        [[("Definition 1.1.", "bold"), (" A set is convex when it contains", "regular")]],
        [[("every segment between two of its points.", "regular")],
         [("Exercise 1.2", "bold"), (" Show that a ball is convex in every norm.", "regular")]],
    ])

    definition, exercise = graph.entities
    assert definition.text == "A set is convex when it contains every segment between two of its points."
    assert (definition.page, exercise.page) == (1, 2)


def test_duplicate_numbers_get_unique_ids(ingest_pages) -> None:
    graph = ingest_pages([[
        [("Theorem 1.1.", "bold"), (" A restated result about every set.", "regular")],
        [("Theorem 1.1.", "bold"), (" The same result, printed a second time.", "regular")],
    ]])

    assert [entity.id for entity in graph.entities] == ["test:theorem:1.1", "test:theorem:1.1~2"]


def test_section_from_outline(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 100), "2.1 Convex Sets", fontname="Times-Bold", fontsize=14)
    page.insert_text((72, 130), "Definition 2.1.", fontname="Times-Bold", fontsize=10)
    page.insert_text((150, 130), "A set is convex when it holds all segments.", fontname="Times-Roman", fontsize=10)
    page.insert_text((72, 160), "2.2 Cones", fontname="Times-Bold", fontsize=14)
    page.insert_text((72, 190), "Narrative text that follows the second heading here.", fontname="Times-Roman", fontsize=10)
    doc.set_toc([[1, "Convex Sets", 1], [1, "Cones", 1]])
    path = tmp_path / "sections.pdf"
    doc.save(path)

    [definition] = ingest_pdf(path, "test").entities

    assert definition.section == "Convex Sets"
    assert "Narrative" not in definition.text


def test_item_ends_at_box_edge(ingest_pages) -> None:
    doc_pages = [[
        [("Example 1.1.", "bold"), (" A boxed example, indented like a frame.", "regular")],
    ]]
    graph = ingest_pages(doc_pages, left=90)
    assert graph.entities[0].text == "A boxed example, indented like a frame."


def test_book_without_items_gives_empty_list(ingest_pages) -> None:
    graph = ingest_pages([[
        [("Plain prose with no numbered items in it, only narrative text.", "regular")],
    ]])

    assert graph.entities == []
    assert graph.references == []
    assert graph.book.page_count == 1


def test_progress_reports_pages(tmp_path: Path) -> None:
    from tests.ingest.pdf_builder import text_page, write_pdf

    path = write_pdf(tmp_path / "book.pdf", [text_page(BODY) for _ in range(3)])
    calls = []

    ingest_pdf(path, "test", progress=lambda done, total: calls.append((done, total)))

    assert calls == [(1, 3), (2, 3), (3, 3)]


def test_head_with_period_in_body_font(ingest_pages) -> None:
    graph = ingest_pages([[
        [("Exercise 1.18", "bold"), (". Prove that the half-space is convex.", "regular")],
        [("Notation 1.19", "bold"), (". We write f for the objective.", "regular")],
    ]])

    assert [(entity.kind, entity.number) for entity in graph.entities] == [
        ("exercise", "1.18"),
        ("notation", "1.19"),
    ]
    assert graph.entities[0].text == "Prove that the half-space is convex."


def _boxed_remarks(count: int) -> list[list[tuple]]:
    """Numbered remarks whose heads sit in a box, 15 points right of the text margin."""
    from tests.ingest.pdf_builder import INDENT

    lines = []
    for index in range(1, count + 1):
        lines.append([INDENT, (f"Remark 2.{index}.", "bold"), (" A boxed remark on the topic.", "regular")])
        lines.append([("Narrative text at the margin continues after the box here.", "regular")])
    return lines


def test_unnumbered_label_unlike_numbered_heads_dropped(ingest_pages) -> None:
    graph = ingest_pages([_boxed_remarks(5) + [
        [("Remark.", "bold"), (" A bold paragraph label at the margin, not an item.", "regular")],
    ]])

    assert [entity.number for entity in graph.entities] == ["2.1", "2.2", "2.3", "2.4", "2.5"]


def test_unnumbered_head_like_numbered_heads_kept(ingest_pages) -> None:
    theorems = [[(f"Theorem 1.{index}.", "bold"), (" A numbered result on every set.", "italic")] for index in range(1, 6)]
    graph = ingest_pages([theorems + [
        [("Theorem.", "bold"), (" An unnumbered classical result, set like the others.", "italic")],
    ]])

    assert [entity.number for entity in graph.entities] == ["1.1", "1.2", "1.3", "1.4", "1.5", None]


def test_recipe_box_is_algorithm(ingest_pages) -> None:
    graph = ingest_pages([[
        [("Recipe:", "bold"), (" Ranging in the Dictionary", "bold")],
        [("Perturb the right-hand side and read off the new basic values.", "regular")],
    ]])

    [algorithm] = graph.entities
    assert (algorithm.kind, algorithm.number, algorithm.title) == ("algorithm", None, "Ranging in the Dictionary")


def test_wrapped_chapter_heading_ends_proof(ingest_pages) -> None:
    graph = ingest_pages([
        [[("Chapter 9", "bold", 16)], [], [("Homomorphism version of PFR", "bold", 18)], [],
         [("Theorem 9.3.", "bold"), (" Every approximate homomorphism is close to one.", "italic")],
         [("Proof.", "italic"), (" Count the pairs, and the result follows.", "regular")]],
        [[("Chapter 10", "bold", 16)], [], [("Approximate homomorphism", "bold", 18)], [], [("version of PFR", "bold", 18)], [],
         [("Definition 10.1.", "bold"), (" The additive energy of a set counts its additive quadruples.", "regular")]],
    ], toc=[[1, "Homomorphism version of PFR", 1], [1, "Approximate homomorphism version of PFR", 2]])

    items = _by_label(graph)
    assert items["Theorem 9.3"].proof == "Proof. Count the pairs, and the result follows."
    assert items["Definition 10.1"].section_id == "test:section:10"


def test_heading_on_page_after_outline_destination(ingest_pages) -> None:
    # The outline entry of "Rays" points at page 1, but the heading is printed at the top of page 2.
    graph = ingest_pages([
        [[("6.3 Cones", "bold", 14)], [],
         [("Theorem 6.4.", "bold"), (" A point of a polyhedron is extreme exactly when it is a vertex.", "regular")],
         [("Proof.", "bold"), (" Both directions follow from the rank of the tight rows.", "regular")]],
        [[("6.3.2. Rays", "bold", 14)], [],
         [("Definition 6.8.", "bold"), (" A ray is a half-line that starts at a point of the set.", "regular")]],
    ], toc=[[1, "Cones", 1], [2, "Rays", 1]])

    items = _by_label(graph)
    assert items["Theorem 6.4"].proof == "Proof. Both directions follow from the rank of the tight rows."
    assert items["Theorem 6.4"].section_id == "test:section:6.3"
    assert items["Definition 6.8"].section_id == "test:section:6.3.2"


def test_bold_heading_outside_outline_ends_exercise(ingest_pages) -> None:
    graph = ingest_pages([[
        [("Exercise 12.8", "bold"), (" Solve the product mix problem with the labor bound raised to 190.", "regular")],
        [],
        [("Selected Solutions", "bold")],
        [],
        [("Solution.", "bold"), (" (Exercise 12.8) The profit rises to 102.", "regular")],
    ]])

    [exercise] = graph.entities
    assert exercise.text == "Solve the product mix problem with the labor bound raised to 190."


def test_bold_lines_inside_item_kept(ingest_pages) -> None:
    # A bold heading inside an example's frame is indented from the margin, and a run-in
    # label ends with a colon, so neither ends the item although space surrounds both.
    narrative = [[("Narrative text at the margin sets the left edge of the page here.", "regular")] for _ in range(3)]
    graph = ingest_pages([narrative + [
        [INDENT, ("Example 11.3.", "bold"), (" A bakery sells cakes and cookies for a profit.", "regular")],
        [],
        [INDENT, ("Interpretation of Shadow Prices", "bold")],
        [],
        [INDENT, ("The shadow price of flour is zero because flour is left over.", "regular")],
        [("Exercise 11.4", "bold"), (" Write the dual of the bakery problem.", "regular")],
        [],
        [("Model:", "bold")],
        [],
        [("Maximize the profit subject to the flour and sugar limits.", "regular")],
    ]])

    items = _by_label(graph)
    assert items["Example 11.3"].text == (
        "A bakery sells cakes and cookies for a profit. Interpretation of Shadow Prices "
        "The shadow price of flour is zero because flour is left over."
    )
    assert items["Exercise 11.4"].text == (
        "Write the dual of the bakery problem. Model: Maximize the profit subject to the flour and sugar limits."
    )


def test_flush_right_symbol_ends_proof(ingest_pages) -> None:
    # The end mark U+2660 is printed alone at the right margin, on the row of the proof's
    # last line, and the prose after the proof starts at the margin without an indent.
    last_line = "so the optimum is attained at a vertex."
    gap = text_width(BODY, "regular") - text_width(last_line, "regular") - text_width("\u2660", "symbol")
    graph = ingest_pages([
        [[("7 The Simplex Method", "bold", 14)]],
        [[("Theorem 6.1.", "bold"), (" A bounded linear program with an optimum has an optimal vertex.", "regular")],
         [("Proof.", "bold"), (" Slide an optimal point along a direction that keeps it optimal.", "regular")],
         [(BODY, "regular")],
         [(BODY, "regular")],
         [(last_line, "regular"), ("", "skip", gap), ("\u2660", "symbol")],
         [("This is why the simplex method (Chapter 7) looks only at vertices.", "regular")]],
    ])

    [theorem] = graph.entities
    assert theorem.proof.endswith("attained at a vertex. \u2660")
    assert graph.section_references == []

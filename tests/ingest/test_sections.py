from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest

from ingest.pipeline import ingest_pdf
from ingest.headings import normalize_heading
from ingest.sections import split_section_number

BODY = "Narrative text of the section that explains the ideas in ordinary words."


def _outline_book(path: Path) -> Path:
    """Write a three-page book with an outline of chapters, sections and repeated "Exercises"."""
    doc = pymupdf.open()
    lines_per_page = [
        [("1 Convex Sets", 14), ("Definition 1.1.", 10), ("1.1 Segments", 12), ("Lemma 1.2.", 10)],
        [("Exercises", 12), ("Exercise 1.3.", 10), ("2 Cones", 14), ("Theorem 2.1.", 10)],
        [("Exercises", 12), ("Exercise 2.2.", 10)],
    ]
    for lines in lines_per_page:
        page = doc.new_page()
        y = 100.0
        for text, size in lines:
            page.insert_text((72, y), text, fontname="Times-Bold", fontsize=size)
            if size == 10:
                page.insert_text((160, y), "A claim about every convex set here.", fontname="Times-Roman", fontsize=10)
            y += 30
            page.insert_text((72, y), BODY, fontname="Times-Roman", fontsize=10)
            y += 30
    # "Cones" has no number in the outline, so it takes the "2" printed before its heading.
    doc.set_toc([
        [1, "Preface", 1],
        [1, "1 Convex Sets", 1],
        [2, "1.1 Segments", 1],
        [2, "Exercises", 2],
        [1, "Cones", 2],
        [2, "Exercises", 3],
    ])
    doc.save(path)
    doc.close()
    return path


def test_outline_gives_section_tree(tmp_path: Path) -> None:
    graph = ingest_pdf(_outline_book(tmp_path / "book.pdf"), "test")

    rows = [(s.id, s.number, s.title, s.level, s.page, s.parent_id, s.order) for s in graph.sections]
    assert rows == [
        ("test:section:preface", None, "Preface", 1, 1, None, 0),
        ("test:section:1", "1", "Convex Sets", 1, 1, None, 1),
        ("test:section:1.1", "1.1", "Segments", 2, 1, "test:section:1", 2),
        ("test:section:exercises", None, "Exercises", 2, 2, "test:section:1", 3),
        ("test:section:2", "2", "Cones", 1, 2, None, 4),
        ("test:section:exercises~2", None, "Exercises", 2, 3, "test:section:2", 5),
    ]


def test_items_get_innermost_section(tmp_path: Path) -> None:
    graph = ingest_pdf(_outline_book(tmp_path / "book.pdf"), "test")

    sections = {entity.label: (entity.section, entity.section_id) for entity in graph.entities}
    assert sections == {
        "Definition 1.1": ("1 Convex Sets", "test:section:1"),
        "Lemma 1.2": ("1.1 Segments", "test:section:1.1"),
        "Exercise 1.3": ("Exercises", "test:section:exercises"),
        "Theorem 2.1": ("Cones", "test:section:2"),
        # The repeated "Exercises" heading resolves to the one on the item's page.
        "Exercise 2.2": ("Exercises", "test:section:exercises~2"),
    }


def test_heading_fonts_give_tree_without_outline(ingest_pages) -> None:
    body = [[(BODY, "regular")] for _ in range(4)]
    graph = ingest_pages([
        [[("1 Groups", "bold", 16)], *body, [("1.1 Subgroups", "bold", 13)], *body,
         [("Lemma 1.1.", "bold"), (" Every subgroup contains the identity.", "italic")], *body],
        [[("2 Rings", "bold", 16)], *body],
    ])

    rows = [(s.id, s.number, s.title, s.level, s.parent_id) for s in graph.sections]
    assert rows == [
        ("test:section:1", "1", "Groups", 1, None),
        ("test:section:1.1", "1.1", "Subgroups", 2, "test:section:1"),
        ("test:section:2", "2", "Rings", 1, None),
    ]
    [lemma] = graph.entities
    assert lemma.section_id == "test:section:1.1"


@pytest.mark.parametrize(
    ("heading", "number", "title"),
    [
        ("2.3 Duality", "2.3", "Duality"),
        ("2.3. Duality", "2.3", "Duality"),
        ("Chapter 4: Networks", "4", "Networks"),
        ("Appendix A Tables", "A", "Tables"),
        ("B.1 Proofs", "B.1", "Proofs"),
        ("\u00a71.7 Notes", "1.7", "Notes"),
        ("A First Course", None, "A First Course"),
        ("Preface", None, "Preface"),
    ],
)
def test_split_section_number(heading: str, number: str | None, title: str) -> None:
    assert split_section_number(heading) == (number, title)


def _cited_sections(graph) -> list[tuple[str, str, str]]:
    return [(ref.source_id, ref.section_id, ref.surface) for ref in graph.section_references]


def _numbered_sections_book() -> list:
    body = [[(BODY, "regular")] for _ in range(3)]
    headings = ["1.7 Duality", "2.1 Flows", "2.2 Cuts", "2.3 Matchings"]
    return [[[(heading, "bold", 14)], *body] for heading in headings]


def test_section_citations_resolved(ingest_pages) -> None:
    pages = _numbered_sections_book()
    pages[-1] += [
        [("Theorem 2.4.", "bold"), (" As in Section 2.3, every matching is small.", "italic")],
        [("Exercise 2.5.", "bold"), (" Prove the bound. [\u00a71.7, Problem (1.1)]", "regular")],
    ]
    graph = ingest_pages(pages)

    assert _cited_sections(graph) == [
        ("test:theorem:2.4", "test:section:2.3", "Section 2.3"),
        ("test:exercise:2.5", "test:section:1.7", "\u00a71.7"),
    ]
    assert [ref.page for ref in graph.section_references] == [4, 4]


def test_section_citation_lists_and_ranges(ingest_pages) -> None:
    pages = _numbered_sections_book()
    pages[-1] += [
        [("Theorem 2.4.", "bold"), (" Sections 2.1 and 2.3 give the claim.", "italic")],
        [("Theorem 2.5.", "bold"), (" See \u00a7\u00a72.1", "italic"), ("\u2013", "symbol"), ("2.3 for this.", "italic")],
    ]
    graph = ingest_pages(pages)

    assert [(source, section) for source, section, _ in _cited_sections(graph)] == [
        ("test:theorem:2.4", "test:section:2.1"),
        ("test:theorem:2.4", "test:section:2.3"),
        ("test:theorem:2.5", "test:section:2.1"),
        ("test:theorem:2.5", "test:section:2.2"),
        ("test:theorem:2.5", "test:section:2.3"),
    ]


def test_unknown_section_number_ignored(ingest_pages) -> None:
    pages = _numbered_sections_book()
    pages[-1] += [
        [("Theorem 2.4.", "bold"), (" Unlike Section 9.9 and \u00a75.1, this one holds.", "italic")],
    ]
    graph = ingest_pages(pages)

    assert graph.section_references == []
    assert len(graph.sections) == 4


def _chapters_book() -> list:
    body = [[(BODY, "regular")] for _ in range(3)]
    headings = ["1 Flows", "1.1 Paths", "2 Cuts", "2.1 Capacities", "Appendix A Tables", "Appendix B Proofs"]
    return [[[(heading, "bold", 14)], *body] for heading in headings]


def test_lower_case_section_citations_resolved(ingest_pages) -> None:
    pages = _numbered_sections_book()
    pages[-1] += [
        [("Theorem 2.4.", "bold"), (" See section 2.3 for the matching used here.", "italic")],
        [("Exercise 2.5.", "bold"), (" Prove the bound (section 1.7) as in sections 2.1 and 2.2.", "regular")],
    ]
    graph = ingest_pages(pages)

    assert _cited_sections(graph) == [
        ("test:theorem:2.4", "test:section:2.3", "section 2.3"),
        ("test:exercise:2.5", "test:section:1.7", "section 1.7"),
        ("test:exercise:2.5", "test:section:2.1", "sections 2.1 and 2.2"),
        ("test:exercise:2.5", "test:section:2.2", "sections 2.1 and 2.2"),
    ]


def test_chapter_citations_resolved(ingest_pages) -> None:
    pages = _chapters_book()
    pages[3] += [
        [("Theorem 2.2.", "bold"), (" By Chapter 1, every cut is small.", "italic")],
        [("Theorem 2.3.", "bold"), (" As shown in chapter 2, every cut is finite.", "italic")],
        [("Theorem 2.4.", "bold"), (" Chapters 1 and 2 give the claim.", "italic")],
    ]
    graph = ingest_pages(pages)

    assert _cited_sections(graph) == [
        ("test:theorem:2.2", "test:section:1", "Chapter 1"),
        ("test:theorem:2.3", "test:section:2", "chapter 2"),
        ("test:theorem:2.4", "test:section:1", "Chapters 1 and 2"),
        ("test:theorem:2.4", "test:section:2", "Chapters 1 and 2"),
    ]
    assert [ref.page for ref in graph.section_references] == [4, 4, 4, 4]


def test_appendix_citations_resolved(ingest_pages) -> None:
    pages = _chapters_book()
    pages[3] += [
        [("Theorem 2.2.", "bold"), (" The tables of Appendix A bound every cut.", "italic")],
        [("Theorem 2.3.", "bold"), (" Appendices A and B give the claim.", "italic")],
    ]
    graph = ingest_pages(pages)

    assert [section.number for section in graph.sections][-2:] == ["A", "B"]
    assert [(source, section) for source, section, _ in _cited_sections(graph)] == [
        ("test:theorem:2.2", "test:section:A"),
        ("test:theorem:2.3", "test:section:A"),
        ("test:theorem:2.3", "test:section:B"),
    ]


def test_ordinary_noun_section_ignored(ingest_pages) -> None:
    # Sections 2 and 2.1 exist, but "section" and "chapter" here are ordinary
    # nouns: no citing word ("see", "in", "from"...) or bracket comes before them.
    pages = _chapters_book()
    pages[3] += [
        [("Example 2.2.", "bold"), (" The cross section 2.1 of the pipe carries the flow.", "regular")],
        [("Example 2.3.", "bold"), (" Each section 2 joint and the last chapter 1 draft are weak.", "regular")],
    ]
    graph = ingest_pages(pages)

    assert graph.section_references == []


def test_singular_chapter_takes_one_number(ingest_pages) -> None:
    pages = _chapters_book()
    pages[3] += [
        [("Example 2.2.", "bold"), (" After Chapter 1, 2 pivots reach the optimum.", "regular")],
    ]
    graph = ingest_pages(pages)

    assert _cited_sections(graph) == [("test:example:2.2", "test:section:1", "Chapter 1")]


def test_chapter_heading_in_item_text_ignored(ingest_pages) -> None:
    # The next chapter's heading, printed alone or with its title, runs into the last
    # item's proof. A citation that starts a line but goes on with other words still counts.
    pages = _chapters_book()
    pages[1] += [
        [("Theorem 1.2.", "bold"), (" Every flow is small.", "italic")],
        [("Proof.", "italic"), (" The bound of this chapter applies to every flow.", "regular")],
        [("Chapter 2", "regular")],
        [("Theorem 1.3.", "bold"), (" Every path is short.", "italic")],
        [("Proof.", "italic"), (" The bound applies again, and", "regular")],
        [("Chapter 1 gives it for every path.", "regular")],
        [("Chapter 2 Cuts", "regular")],
    ]
    graph = ingest_pages(pages)

    proofs = {entity.label: entity.proof for entity in graph.entities}
    assert proofs["Theorem 1.2"].endswith("Chapter 2")
    assert proofs["Theorem 1.3"].endswith("Chapter 2 Cuts")
    assert _cited_sections(graph) == [("test:theorem:1.3", "test:section:1", "Chapter 1")]


def _printed_forms_book() -> tuple[list, list[list]]:
    """Return pages that print chapter and section numbers in several forms, and their outline.

    Every outline title is printed without its number, so the number must be read from the page.
    """
    body = [[(BODY, "regular")] for _ in range(2)]
    pages = [
        # A label line above a title that wraps onto a second line.
        [[("Chapter 1", "bold", 16)], [], [("Applications of Jensen's", "bold", 18)], [], [("inequality", "bold", 18)], *body],
        # A math italic letter (U+210E, as math fonts print an italic h) where the outline has a plain "h".
        [[("Chapter 12", "bold", 16)], [], [("The ", "bold", 18), ("\u210e", "symbol", 18), ("-torsion case", "bold", 18)], *body],
        # Appendices numbered by a lone letter, and a section whose title starts like the appendix title.
        [[("A. Linear Equations", "bold", 18)], *body],
        [[("B. Systems of Equations", "bold", 18)], [], [("B.1 Systems of Equations, Geometry", "bold", 14)], *body],
        # "SOS2" is part of the title, not a number; the outline points at the page before the heading.
        [[("15.7.5. SOS1 Constraints", "bold", 14)], *body],
        [[("15.7.6. SOS2 Constraints", "bold", 14)], *body],
        # A math letter that the outline leaves out ("Exact 1-norm").
        [[("15.7.10.1. Exact ", "bold"), ("l", "math"), ("1-norm", "bold")], *body],
        # A part prints a roman numeral, which is not kept as a number.
        [[("Part I", "bold", 18)], [], [("Linear Programming", "bold", 18)]],
    ]
    toc = [
        [1, "Applications of Jensen's inequality", 1],
        [1, "The h-torsion case", 2],
        [1, "Linear Equations", 3],
        [1, "Systems of Equations", 4],
        [2, "Systems of Equations, Geometry", 4],
        [2, "SOS1 Constraints", 5],
        [2, "SOS2 Constraints", 5],
        [2, "Exact 1-norm", 7],
        [1, "I Linear Programming", 8],
    ]
    return pages, toc


def test_outline_titles_take_printed_numbers(ingest_pages) -> None:
    pages, toc = _printed_forms_book()
    graph = ingest_pages(pages, toc=toc)

    assert [(section.number, section.title) for section in graph.sections] == [
        ("1", "Applications of Jensen's inequality"),
        ("12", "The h-torsion case"),
        ("A", "Linear Equations"),
        ("B", "Systems of Equations"),
        ("B.1", "Systems of Equations, Geometry"),
        ("15.7.5", "SOS1 Constraints"),
        ("15.7.6", "SOS2 Constraints"),
        ("15.7.10.1", "Exact 1-norm"),
        (None, "I Linear Programming"),
    ]


def test_wrapped_chapter_heading_resolves_citation(ingest_pages) -> None:
    body = [[(BODY, "regular")] for _ in range(2)]
    pages = [
        [[("Chapter 9", "bold", 16)], [], [("Homomorphism version of PFR", "bold", 18)], *body],
        [[("Chapter 10", "bold", 16)], [], [("Approximate homomorphism", "bold", 18)], [], [("version of PFR", "bold", 18)],
         *body, [("Theorem 10.1.", "bold"), (" As in Chapter 9, every approximate homomorphism is close to one.", "italic")]],
        [[("Theorem 11.1.", "bold"), (" Chapter 10 gives a homomorphism close to every such map.", "italic")]],
    ]
    toc = [[1, "Homomorphism version of PFR", 1], [1, "Approximate homomorphism version of PFR", 2]]
    graph = ingest_pages(pages, toc=toc)

    assert _cited_sections(graph) == [
        ("test:theorem:10.1", "test:section:9", "Chapter 9"),
        ("test:theorem:11.1", "test:section:10", "Chapter 10"),
    ]


@pytest.mark.parametrize(
    ("heading", "normalized"),
    [
        ("2.3 Duality", "duality"),
        ("6.3.2. Unbounded Sets and Rays", "unbounded sets and rays"),
        ("B.1 Proofs", "proofs"),
        ("The \U0001d45a-torsion case", "the m torsion case"),
        ("SOS2 Constraints", "sos2 constraints"),
        ("3D Printing", "3d printing"),
        ("A First Course", "a first course"),
    ],
)
def test_normalize_heading(heading: str, normalized: str) -> None:
    assert normalize_heading(heading) == normalized

"""Build a book's section tree from the PDF outline, or from heading fonts when it has none.

An outline entry "2.3 Duality" at outline level 2 becomes the section numbered
"2.3" with the title "Duality". An outline title without a number takes the
number printed before the same title on the page the entry points at or the
next one, on the same line or as a "Chapter 2" line above it (see
`ingest.headings` for the printed forms that are recognized).

Without an outline, the sections are the bold, larger heading lines that
`ItemExtractor` found. A numbered heading's level is the depth of its number
("2.3" is level 2). An unnumbered one's level is the rank of its font size
among the heading sizes.
"""

from __future__ import annotations

from dataclasses import dataclass

from kg.models import Section, section_id, unique_id

from ingest.headings import find_printed_heading, split_section_number
from ingest.items import HeadingLine
from ingest.pdf_reader import Line, Page


@dataclass(frozen=True)
class _Heading:
    """One heading before it becomes a `Section`: the raw text that items store as their section."""

    raw: str
    number: str | None
    title: str
    level: int
    page: int  # the outline destination, which can be the page before the printed heading


def sections_from_outline(book_id: str, toc: list[tuple[int, str, int]], pages: list[Page]) -> list[Section]:
    """Build the section tree of the outline entries `(level, title, page)` of `doc.get_toc()`."""
    lines_by_page = {page.number: page.lines for page in pages}
    headings: list[_Heading] = []
    previous_page = 1
    for level, raw, page in toc:
        if not raw:
            continue
        # PyMuPDF reports -1 for an entry without a destination; it starts where the previous one did.
        page = page if page >= 1 else previous_page
        previous_page = page
        number, title = split_section_number(raw)
        if number is None:
            # Outline destinations sometimes point at the page before the heading.
            nearby_lines = lines_by_page.get(page, []) + lines_by_page.get(page + 1, [])
            number = _number_printed_before(title, nearby_lines)
        headings.append(_Heading(raw, number, title, max(level, 1), page))
    return _build_tree(book_id, headings)


def sections_from_headings(book_id: str, heading_lines: list[HeadingLine], pages: list[Page]) -> list[Section]:
    """Build the section tree of the heading lines found by font in a PDF without an outline."""
    lines_by_page = {page.number: page.lines for page in pages}
    sizes = sorted({round(line.size, 1) for line in heading_lines}, reverse=True)
    headings = []
    for line in heading_lines:
        number, title = split_section_number(line.text)
        if number is None:
            number = _number_printed_before(title, lines_by_page.get(line.page, []))
        level = number.count(".") + 1 if number else sizes.index(round(line.size, 1)) + 1
        headings.append(_Heading(line.text, number, title, level, line.page))
    return _build_tree(book_id, headings)


def _number_printed_before(title: str, lines: list[Line]) -> str | None:
    """Return the number printed with `title` in `lines`: "2.3 Duality", or "Chapter 2" above the title."""
    heading = find_printed_heading(title, lines)
    return heading.number if heading else None


def _build_tree(book_id: str, headings: list[_Heading]) -> list[Section]:
    """Give each heading an id unique in the book and the nearest earlier heading of a lower level as parent.

    A number or title printed twice keeps its plain id the first time, and later
    copies get "~2", "~3"... in reading order, as item ids do.
    """
    sections: list[Section] = []
    used_ids: set[str] = set()
    open_sections: list[Section] = []  # the path from the top level to the last section
    for order, heading in enumerate(headings):
        identifier = unique_id(section_id(book_id, heading.number, heading.title), used_ids)

        while open_sections and open_sections[-1].level >= heading.level:
            open_sections.pop()
        parent_id = open_sections[-1].id if open_sections else None
        section = Section(
            id=identifier,
            book_id=book_id,
            number=heading.number,
            title=heading.title,
            level=heading.level,
            page=heading.page,
            parent_id=parent_id,
            order=order,
        )
        sections.append(section)
        open_sections.append(section)
    return sections


class SectionLocator:
    """Find the section an item belongs to from the heading text the item extractor recorded."""

    def __init__(self, sections: list[Section], raw_headings: list[str]) -> None:
        self._by_heading: dict[str, list[Section]] = {}
        for section, raw in zip(sections, raw_headings):
            self._by_heading.setdefault(raw, []).append(section)

    def section_of(self, heading: str | None, page: int) -> str | None:
        """Return the id of the last section with this heading that starts on or before `page`.

        Headings such as "Exercises" repeat in every chapter, so the page picks the one meant.
        """
        if heading is None:
            return None
        candidates = self._by_heading.get(heading, [])
        earlier = [section for section in candidates if section.page <= page]
        if earlier:
            return earlier[-1].id
        return candidates[0].id if candidates else None


def raw_outline_headings(toc: list[tuple[int, str, int]]) -> list[str]:
    """Return the outline titles that `sections_from_outline` turns into sections, in the same order."""
    return [raw for _level, raw, _page in toc if raw]

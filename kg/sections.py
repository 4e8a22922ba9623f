"""Find a book's section from what a user types: its printed number, or a title that only one section has."""

from __future__ import annotations

from collections.abc import Sequence

from kg.errors import NotFoundError
from kg.models import Section

# How many sections an error message lists before it gives the count of the rest.
LISTED_SECTIONS = 30


def section_label(section: Section) -> str:
    """Return a section as printed, such as "1.4 Exercises", or the bare title of an unnumbered one."""
    return f"{section.number} {section.title}" if section.number else section.title


def find_section(sections: Sequence[Section], ref: str, book_id: str) -> Section:
    """Return the section that `ref` names: by number ("1.4"), number and title ("1.4 Exercises") or title.

    A title is compared without regard to case or spacing and must belong to exactly
    one section. Raises NotFoundError listing the candidates with their numbers when it
    belongs to several, and listing the book's section numbers when nothing matches.
    """
    requested = _normalized(ref)
    for section in sections:
        if section.number and _normalized(section.number) == requested:
            return section
    for section in sections:
        if section.number and _normalized(section_label(section)) == requested:
            return section

    titled = [section for section in sections if _normalized(section.title) == requested]
    if len(titled) == 1:
        return titled[0]
    if titled:
        raise NotFoundError(
            f"{len(titled)} sections of {book_id} are titled {ref.strip()!r}: give the number of one of them "
            f"with --section: {_listing(titled)}"
        )
    if not sections:
        raise NotFoundError(f"no section {ref.strip()!r} in {book_id}: the book has no stored sections")
    raise NotFoundError(
        f"no section {ref.strip()!r} in {book_id}: give a section number or title; "
        f"its sections are {_listing(sections)}"
    )


def section_with_subsections(sections: Sequence[Section], root: Section) -> set[str]:
    """Return the ids of `root` and of every section below it."""
    children: dict[str, list[str]] = {}
    for section in sections:
        if section.parent_id is not None:
            children.setdefault(section.parent_id, []).append(section.id)
    found = {root.id}
    pending = [root.id]
    while pending:
        for child in children.get(pending.pop(), []):
            if child not in found:
                found.add(child)
                pending.append(child)
    return found


def _listing(sections: Sequence[Section]) -> str:
    listed = ", ".join(section_label(section) for section in sections[:LISTED_SECTIONS])
    rest = len(sections) - LISTED_SECTIONS
    return f"{listed} and {rest} more" if rest > 0 else listed


def _normalized(text: str) -> str:
    return " ".join(text.split()).casefold().rstrip(".")

"""Find the lines that print a section heading on a page.

An outline title can be printed in several forms: on one line after its number
("2.3 Duality", "A. Linear Equations"), below a label line ("Chapter 10" over
the title), wrapped over a few lines, or with math letters such as U+1D45A
where the outline has a plain "m". Headings are compared after NFKC
normalization, which maps math alphanumerics to plain letters.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from ingest.pdf_reader import Line

# "2.3 Duality", "2.3. Duality", "B.1 Proofs", "Chapter 4: Networks", "Appendix A Tables", "§1.7 Notes".
_NUMBERED_TITLE = re.compile(
    r"^(?:(?:Chapter|CHAPTER|Section|SECTION|Part|PART)\s+(?=\d)|(?:Appendix|APPENDIX)\s+(?=[A-Z\d])|§\s*)?"
    r"(?P<number>\d+(?:\.\d+)*|[A-Z](?:\.\d+)+|(?<=Appendix )[A-Z]|(?<=APPENDIX )[A-Z])"
    r"\.?(?::\s*|\s+|$)(?P<title>.*)$"
)
# An appendix numbered by a lone capital letter: "A. Linear Equations", "B Tables". It is
# accepted only before a known outline title, because a sentence can start the same way.
_LETTER_TITLE = re.compile(r"^(?P<number>[A-Z])\.?\s+(?P<title>\S.*)$")
# The number that normalize_heading removes: "12", "6.3.2.", "B.1", but not the "SOS2" of "SOS2 Constraints".
_LEADING_NUMBER = re.compile(r"^(?:\d+(?:\.\d+)*|[A-Z](?:\.\d+)+)\.?(?:\s+|$)")
# A label printed on its own line above the title, as LaTeX book classes do.
_HEADING_LABEL = re.compile(
    r"^(?P<word>Chapter|CHAPTER|Appendix|APPENDIX|Part|PART)\s+(?P<number>\d+|[A-Z]|[IVXLC]+)$"
)
# Title lines a wrapped heading may take.
_MAX_TITLE_LINES = 3
# Characters of a heading's first printed line that must match the outline title
# when the rest of the title is not the next line in reading order.
_MIN_WRAPPED_HEADING = 20
# A printed line may end with the outline title after at most this many other characters,
# such as an unusual label ("Lecture 3: Duality").
_MAX_PREFIX_CHARS = 12


@dataclass(frozen=True)
class PrintedHeading:
    """Location of a printed heading: its number, if the page prints one, and the indexes of its lines."""

    number: str | None
    line_indexes: tuple[int, ...]


def normalize_heading(text: str) -> str:
    """Return the heading text in lower case without its leading number, punctuation or math styling."""
    text = unicodedata.normalize("NFKC", text)
    text = _LEADING_NUMBER.sub("", text.strip())
    return re.sub(r"\W+", " ", text.lower()).strip()


def split_section_number(heading: str) -> tuple[str | None, str]:
    """Split a printed heading into its number and title: "2.3 Duality" -> ("2.3", "Duality")."""
    text = heading.strip()
    match = _NUMBERED_TITLE.match(text)
    if match is None:
        return None, text
    return match.group("number"), match.group("title").strip() or text


def find_printed_heading(
    title: str, lines: list[Line], accept: Callable[[Line], bool] | None = None
) -> PrintedHeading | None:
    """Return where `lines` print the heading `title`, or None.

    A form that shows a number is preferred over the bare title, which may also
    appear elsewhere on the page. A whole title is preferred over the first line
    of a wrapped one, because that line can start a longer heading nearby ("B.
    Systems of Equations" above "B.1 Systems of Equations, Geometry"). When
    `accept` is given, every line of the heading must pass it.
    """
    key = normalize_heading(title)
    if not key:
        return None
    for finder in (_numbered_heading_at, _wrapped_heading_at, _bare_heading_at):
        for index in range(len(lines)):
            heading = finder(key, lines, index)
            if heading is not None and (accept is None or all(accept(lines[i]) for i in heading.line_indexes)):
                return heading
    return None


def _numbered_heading_at(key: str, lines: list[Line], index: int) -> PrintedHeading | None:
    """Match "2.3 Duality" or "A. Tables" starting at `index`, or a "Chapter 2" label line above the title."""
    for texts in _text_variants(lines[index : index + _MAX_TITLE_LINES]):
        number, rest = _split_number(texts[0].strip())
        if number is not None:
            count = _joined_count(key, [rest, *texts[1:]])
            if count:
                return PrintedHeading(number, tuple(range(index, index + count)))

    label = _HEADING_LABEL.match(lines[index].text.strip())
    if label is None:
        return None
    for texts in _text_variants(lines[index + 1 : index + 1 + _MAX_TITLE_LINES]):
        # The outline may repeat the label's number before the title ("I Linear Programming").
        count = _joined_count(key, texts) or _joined_count(key, [f"{label.group('number')} {texts[0]}", *texts[1:]])
        if count:
            # Parts are found so that their lines count as a heading, but their numbers are not
            # kept: "Part 2" or "Part I" would take the number of chapter 2 or appendix I.
            number = None if label.group("word").lower() == "part" else label.group("number")
            return PrintedHeading(number, tuple(range(index, index + 1 + count)))
    return None


def _wrapped_heading_at(key: str, lines: list[Line], index: int) -> PrintedHeading | None:
    """Match the numbered first line of a wrapped title whose rest is not the next line in reading order."""
    number, rest = _split_number(lines[index].text.strip())
    if number is None:
        return None
    printed = normalize_heading(rest)
    if len(printed) >= _MIN_WRAPPED_HEADING and key.startswith(printed + " "):
        return PrintedHeading(number, (index,))
    return None


def _bare_heading_at(key: str, lines: list[Line], index: int) -> PrintedHeading | None:
    """Match the title alone starting at `index`, maybe wrapped, or after a short unknown label."""
    for texts in _text_variants(lines[index : index + _MAX_TITLE_LINES]):
        count = _joined_count(key, texts)
        if count:
            return PrintedHeading(None, tuple(range(index, index + count)))
    printed = normalize_heading(lines[index].text)
    if printed.endswith(" " + key) and len(printed) <= len(key) + _MAX_PREFIX_CHARS:
        return PrintedHeading(None, (index,))
    return None


def _split_number(text: str) -> tuple[str | None, str]:
    """Split a printed line into a section number, a lone appendix letter included, and the rest."""
    number, rest = split_section_number(text)
    if number is None:
        letter = _LETTER_TITLE.match(text)
        if letter is not None:
            return letter.group("number"), letter.group("title")
    return number, rest


def _text_variants(lines: list[Line]) -> list[list[str]]:
    """Return the texts of `lines` with their math spans, and without them when they have any.

    Outline titles cannot show math, so they spell it in letters ("m" for a
    math italic m) or leave it out ("Exact 1-norm" for "Exact ℓ1-norm").
    """
    if not lines:
        return []
    with_math = [line.text for line in lines]
    without_math = ["".join(span.text for span in line.spans if not span.is_math) for line in lines]
    return [with_math] if without_math == with_math else [with_math, without_math]


def _joined_count(key: str, texts: list[str]) -> int:
    """Return how many of `texts`, joined from the first, print the title `key`, or 0.

    Spaces are ignored, because PyMuPDF puts spaces between math letters ("the
    i j th entry" for the outline's "The ijth Entry").
    """
    key = key.replace(" ", "")
    for count in range(1, len(texts) + 1):
        printed = normalize_heading(" ".join(texts[:count])).replace(" ", "")
        if printed == key:
            return count
        if not printed or not key.startswith(printed):
            return 0
    return 0

"""Find numbered items (definitions, lemmas, exercises...) and their proofs in page lines.

An item head is recognised by typography, not by a book's wording: a line that
starts with a kind word and a number, both set in a bold font ("Lemma 1.2",
"Exercise 3.4", "Example 2.5: The Diet Problem"). The body runs until the next
head, a proof block, a section heading, a proof end mark, or a line that leaves
the box or indentation the head started in.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass, field

from ingest.pdf_reader import Line, Page, Span

logger = logging.getLogger(__name__)

# Printed head word (lower case) -> kind stored in the graph (see kg.models.KINDS).
HEAD_WORDS: dict[str, str] = {
    "definition": "definition",
    "theorem": "theorem",
    "lemma": "lemma",
    "proposition": "proposition",
    "corollary": "corollary",
    "algorithm": "algorithm",
    "procedure": "algorithm",
    "example": "example",
    "exercise": "exercise",
    "problem": "exercise",
    "remark": "remark",
    "observation": "remark",
    "notation": "notation",
}
_HEAD_WORD_PATTERN = "|".join(sorted((word.capitalize() for word in HEAD_WORDS), key=len, reverse=True))

# A printed item number: "3", "2.4", "B.1", "1.2.3".
NUMBER_PATTERN = r"(?:[A-Z]|\d+)(?:\.\d+)+|\d+"

# Optional leading symbols (a box ornament such as "➤"), the kind word, then
# either a number or a colon or period for an unnumbered item.
_HEAD = re.compile(
    rf"^\W{{0,3}}?(?P<word>{_HEAD_WORD_PATTERN})"
    rf"(?:\s+(?P<number>{NUMBER_PATTERN})(?![\w.]*\d)\.?|\s*(?P<bare>[:.]))"
)
_PAREN_TITLE = re.compile(r"^\s*\((?P<title>[^()]{1,120})\)\s*\.?")
# "Proof." or "Proof of Lemma 3.2.", set in italic or bold.
_PROOF_HEAD = re.compile(
    rf"^(?P<word>Proof)(?:\s+(?:of|for)\s+(?P<kind>{_HEAD_WORD_PATTERN})\s+(?P<number>{NUMBER_PATTERN}))?\s*[.:]"
)
# "Solution." blocks end the item before them but are not kept: worked solutions
# are not part of a statement or its proof, and books often collect them far from
# their exercise.
_SOLUTION_HEAD = re.compile(r"^(?P<word>Solution|Answer)\s*[.:]")
_END_MARKS = ("\u220e", "\u25a1", "\u25a0", "\u25fb", "\u2610", "\u25a2", "q.e.d.")
# Body lines that start this far left of the head line have left the item's box.
_INDENT_TOLERANCE = 3.0
# Numbering-style check of _drop_numbering_outliers: minimum items of a kind and
# minimum share of the dominant style.
_SCHEME_MIN_ITEMS = 5
_SCHEME_MIN_SHARE = 0.9
# A heading is at least this much larger than the body font size.
_HEADING_SIZE_RATIO = 1.12


@dataclass
class RawItem:
    """An item found in the page lines, before it becomes a kg Entity."""

    kind: str
    number: str | None
    title: str | None
    page: int
    head_length: int  # characters of the first statement line that belong to the head
    statement: list[Line] = field(default_factory=list)
    proof: list[Line] = field(default_factory=list)
    section: str | None = None


@dataclass
class _Head:
    kind: str
    number: str | None
    title: str | None
    length: int


def _span_ranges(line: Line) -> list[tuple[int, int, Span]]:
    ranges = []
    offset = 0
    for span in line.spans:
        ranges.append((offset, offset + len(span.text), span))
        offset += len(span.text)
    return ranges


def _is_emphasised(ranges: list[tuple[int, int, Span]], start: int, end: int, italic: bool = False) -> bool:
    """Return whether every non-blank character in [start, end) is bold (or italic if asked)."""
    for span_start, span_end, span in ranges:
        if span_end <= start or span_start >= end:
            continue
        if not span.text.strip():
            continue
        if span.is_bold or (italic and span.is_italic):
            continue
        return False
    return True


def parse_head(line: Line) -> _Head | None:
    """Return the item head that starts `line`, or None."""
    text = line.text
    match = _HEAD.match(text)
    if not match:
        return None
    ranges = _span_ranges(line)
    # The punctuation after the number is often set in the body font ("**Lemma 1.4**."),
    # so only the kind word and the number must be bold.
    emphasis_end = match.end("number") if match.group("number") else match.end("word")
    if not _is_emphasised(ranges, match.start("word"), emphasis_end):
        return None

    kind = HEAD_WORDS[match.group("word").lower()]
    number = match.group("number")
    length = match.end()
    title = None
    rest = text[length:]
    paren = _PAREN_TITLE.match(rest)
    if paren:
        title = paren.group("title").strip()
        length += paren.end()
    elif rest.lstrip().startswith(":") or match.group("bare") == ":":
        # "Example 2.5: The Diet Problem": the bold run after the colon is the title.
        colon = text.index(":", match.start("word"))
        title_end = colon + 1
        for span_start, span_end, span in ranges:
            if span_end <= title_end:
                continue
            if span.is_bold or not span.text.strip():
                title_end = span_end
            else:
                break
        title = text[colon + 1 : title_end].strip() or None
        length = title_end
    return _Head(kind, number, title, length)


def _proof_head(line: Line, pattern: re.Pattern[str] = _PROOF_HEAD) -> re.Match[str] | None:
    match = pattern.match(line.text)
    if not match:
        return None
    if not _is_emphasised(_span_ranges(line), 0, len(match.group("word")), italic=True):
        return None
    return match


def _ends_with_mark(line: Line) -> bool:
    tail = line.text.rstrip()
    return tail.endswith(_END_MARKS)


def body_font_size(pages: list[Page]) -> float:
    """Return the font size that carries the most characters."""
    sizes: Counter[float] = Counter()
    for page in pages:
        for line in page.lines:
            for span in line.spans:
                sizes[round(span.size, 1)] += len(span.text)
    return sizes.most_common(1)[0][0] if sizes else 10.0


class ItemExtractor:
    """Split page lines into items, proofs and the text in between."""

    def __init__(self, pages: list[Page], toc: list[tuple[int, str, int]] | None = None) -> None:
        self.pages = pages
        self.toc = toc or []
        self.body_size = body_font_size(pages)

    def extract(self) -> list[RawItem]:
        items: list[RawItem] = []
        current: RawItem | None = None
        # Where lines go: "statement", "proof" or None (text between items).
        mode: str | None = None
        head_left = 0.0
        section: str | None = None
        toc_by_page = self._toc_by_page()

        for page in self.pages:
            page_sections = list(toc_by_page.get(page.number, ()))
            if page_sections and not any(self._heading_line_for(page, title) for title in page_sections):
                # The outline entry points at this page but its heading line was not found.
                section = page_sections[-1]
            for line in page.lines:
                heading = self._section_heading(line, page_sections)
                if heading is not None:
                    section = heading
                    mode = None
                    continue

                head = parse_head(line)
                if head is not None:
                    current = RawItem(head.kind, head.number, head.title, line.page, head.length, [line])
                    current.section = section
                    items.append(current)
                    mode = "statement"
                    head_left = line.bbox[0]
                    if _ends_with_mark(line):
                        mode = None
                    continue

                proof = _proof_head(line)
                if proof is not None:
                    target = self._proof_target(items, current, proof)
                    if target is not None:
                        current = target
                        target.proof.append(line)
                        mode = "proof" if not _ends_with_mark(line) else None
                        continue

                if _proof_head(line, _SOLUTION_HEAD) is not None:
                    mode = None
                    continue

                # NOTE: an item without a proof, box or end mark runs until the next head or
                # section heading, so narrative text after it can be read as its statement.
                if mode == "statement" and current is not None:
                    if self._left_item_box(line, head_left):
                        mode = None
                        continue
                    current.statement.append(line)
                    if _ends_with_mark(line):
                        mode = None
                elif mode == "proof" and current is not None:
                    current.proof.append(line)
                    if _ends_with_mark(line):
                        mode = None
        logger.debug("found %d item heads", len(items))
        return _drop_numbering_outliers(items)

    def _toc_by_page(self) -> dict[int, list[str]]:
        by_page: dict[int, list[str]] = {}
        for _level, title, page in self.toc:
            if title:
                by_page.setdefault(page, []).append(title)
        return by_page

    def _heading_line_for(self, page: Page, title: str) -> bool:
        key = _normalize_heading(title)
        return any(_normalize_heading(line.text).endswith(key) for line in page.lines)

    def _section_heading(self, line: Line, page_sections: list[str]) -> str | None:
        """Return the section title if `line` is a section heading, else None."""
        spans = [span for span in line.spans if span.text.strip()]
        if not spans or not all(span.is_bold for span in spans):
            return None
        text = line.text.strip()
        normalized = _normalize_heading(text)
        for title in page_sections:
            key = _normalize_heading(title)
            if key and normalized.endswith(key) and len(normalized) <= len(key) + 12:
                return title
        if max(span.size for span in spans) >= self.body_size * _HEADING_SIZE_RATIO and not self.toc:
            return text
        return None

    @staticmethod
    def _left_item_box(line: Line, head_left: float) -> bool:
        """Return whether a statement line starts left of the head, outside the item's box."""
        return line.bbox[0] < head_left - _INDENT_TOLERANCE

    @staticmethod
    def _proof_target(items: list[RawItem], current: RawItem | None, proof: re.Match[str]) -> RawItem | None:
        if proof.group("kind"):
            kind = HEAD_WORDS[proof.group("kind").lower()]
            number = proof.group("number")
            for item in reversed(items):
                if item.kind == kind and item.number == number:
                    return item
        return current


def _drop_numbering_outliers(items: list[RawItem]) -> list[RawItem]:
    """Drop heads whose number style breaks the pattern of their kind.

    When at least `_SCHEME_MIN_ITEMS` items of a kind are numbered and
    `_SCHEME_MIN_SHARE` of them use dotted numbers ("4.1"), a plain "Example 1"
    of that kind is a bold paragraph label rather than an item, and the reverse.
    """
    dotted: Counter[str] = Counter()
    numbered: Counter[str] = Counter()
    for item in items:
        if item.number:
            numbered[item.kind] += 1
            dotted[item.kind] += "." in item.number
    kept = []
    for item in items:
        total = numbered[item.kind]
        if item.number and total >= _SCHEME_MIN_ITEMS:
            share = dotted[item.kind] / total
            is_dotted = "." in item.number
            if (share >= _SCHEME_MIN_SHARE and not is_dotted) or (share <= 1 - _SCHEME_MIN_SHARE and is_dotted):
                logger.debug("dropped %s %s on page %d: numbering unlike its kind", item.kind, item.number, item.page)
                continue
        kept.append(item)
    return kept


def _normalize_heading(text: str) -> str:
    text = re.sub(r"^[\d.A-Z]*\d[\d.]*\s*", "", text.strip())
    return re.sub(r"\W+", " ", text.lower()).strip()

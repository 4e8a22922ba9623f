"""Find numbered items (definitions, lemmas, exercises...) and their proofs in page lines.

An item head is recognised by typography, not by a book's wording: a line that
starts with a kind word and a number set apart from the body ("Lemma 1.2",
"Exercise 3.4", "Example 2.5: The Diet Problem"). The head is bold, in small
capitals, or italic before an upright body. The body runs until the next head,
a proof block, a section heading (from the outline, or a bold line that
layout.py reads as a heading), a proof end mark, a line that leaves the box or
indentation the head started in, or a paragraph that layout.py reads as text
after the environment.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from ingest.headings import find_printed_heading
from ingest.layout import (
    LayoutMetrics,
    PageRows,
    ends_environment,
    is_display_heading,
    is_flush_right_mark,
    is_text_line,
    measure_layout,
    page_left_edge,
    page_right_edge,
)
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
    # Boxed step-by-step procedures ("Recipe: RHS Ranging") are algorithms.
    "recipe": "algorithm",
}
# Heads print the kind word capitalized, or in capitals when set in small caps.
_HEAD_WORD_PATTERN = "|".join(
    sorted({form for word in HEAD_WORDS for form in (word.capitalize(), word.upper())}, key=len, reverse=True)
)

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
    rf"^(?P<word>Proof|PROOF)(?:\s+(?:of|for|OF|FOR)\s+(?P<kind>{_HEAD_WORD_PATTERN})\s+(?P<number>{NUMBER_PATTERN}))?"
    r"\s*[.:]"
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
# A statement whose text characters after the head are at least this share italic
# has an italic body (amsthm "plain" style).
_ITALIC_BODY_SHARE = 0.6
# An unnumbered head is kept only if its kind is numbered less often than this,
# or if it is typeset like the numbered heads of its kind (see _drop_paragraph_labels).
_NUMBERED_KIND_SHARE = 0.8


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
    # Font, rounded size and indent from the page's left edge of the kind word, which
    # tell a numbered item's head apart from a bold paragraph label of the same word.
    head_style: tuple[str, int, int] = ("", 0, 0)


@dataclass(frozen=True)
class HeadingLine:
    """A section heading recognised by its bold, larger font, with its page and font size."""

    text: str
    page: int
    size: float


@dataclass
class _Head:
    kind: str
    number: str | None
    title: str | None
    length: int
    emphasis: str  # "bold", "small caps" or "italic"


def _span_ranges(line: Line) -> list[tuple[int, int, Span]]:
    ranges = []
    offset = 0
    for span in line.spans:
        ranges.append((offset, offset + len(span.text), span))
        offset += len(span.text)
    return ranges


def _spans_within(ranges: list[tuple[int, int, Span]], start: int, end: int) -> list[Span]:
    """Return the non-blank spans that overlap the characters [start, end)."""
    return [span for span_start, span_end, span in ranges if span_end > start and span_start < end and span.text.strip()]


def _is_emphasised(ranges: list[tuple[int, int, Span]], start: int, end: int, italic: bool = False) -> bool:
    """Return whether every non-blank character in [start, end) is bold (or italic if asked)."""
    return all(span.is_bold or (italic and span.is_italic) for span in _spans_within(ranges, start, end))


def _word_emphasis(line: Line, ranges: list[tuple[int, int, Span]], start: int, end: int) -> str | None:
    """Return how the kind word in [start, end) is set apart from body text, or None.

    Small capitals come either from a small-caps font or, when a book fakes them,
    from capitals whose first letter is larger than the rest ("L" + "EMMA").
    """
    spans = _spans_within(ranges, start, end)
    if not spans:
        return None
    if all(span.is_bold for span in spans):
        return "bold"
    if all(span.is_small_caps for span in spans):
        return "small caps"
    word = line.text[start:end]
    if word.isupper() and len(spans) > 1 and spans[0].size > 1.1 * min(span.size for span in spans[1:]):
        return "small caps"
    if all(span.is_italic for span in spans):
        return "italic"
    return None


def _number_matches_emphasis(spans: list[Span], emphasis: str) -> bool:
    if emphasis == "bold":
        return all(span.is_bold for span in spans)
    if emphasis == "italic":
        return all(span.is_italic for span in spans)
    # Small-caps heads print the number in the small-caps or the body text font.
    return not any(span.is_math for span in spans)


def parse_head(line: Line) -> _Head | None:
    """Return the item head that starts `line`, or None."""
    text = line.text
    match = _HEAD.match(text)
    if not match:
        return None
    ranges = _span_ranges(line)
    emphasis = _word_emphasis(line, ranges, match.start("word"), match.end("word"))
    if emphasis is None:
        return None
    # The punctuation after the number is often set in the body font ("**Lemma 1.4**."),
    # so only the kind word and the number must carry the emphasis.
    if match.group("number") and not _number_matches_emphasis(
        _spans_within(ranges, match.start("number"), match.end("number")), emphasis
    ):
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
        # "Example 2.5: The Diet Problem": the run after the colon set like the head is the title.
        colon = text.index(":", match.start("word"))
        title_end = _title_run_end(ranges, colon + 1, emphasis)
        title = text[colon + 1 : title_end].strip() or None
        length = title_end
    if emphasis == "italic" and not _italic_head_is_run_in(text, ranges, match, length):
        return None
    return _Head(kind, number, title, length, emphasis)


def _title_run_end(ranges: list[tuple[int, int, Span]], start: int, emphasis: str) -> int:
    """Return where the title after a colon ends: the last span set like the head.

    A math span inside the title ("Production Planning (T = 10)") is kept when
    emphasised text follows it. An opening bracket keeps the title going through
    spans in any font until the span that closes it.
    """
    text = "".join(span.text for _, _, span in ranges)
    end = start
    pending = start
    for span_start, span_end, span in ranges:
        if span_end <= start:
            continue
        if not span.text.strip():
            pending = span_end
            continue
        if span.is_math or (emphasis == "bold" and span.is_italic and not span.is_bold):
            pending = span_end
            continue
        if _span_has_emphasis(span, emphasis):
            end = span_end
            pending = span_end
            continue
        if _has_open_bracket(text[start:end]):
            close = span.text.find(")")
            if close == -1:
                # Books set in text fonts print math such as "(T = 10)" in the body
                # fonts, so an open bracket keeps the title going to its close.
                pending = span_end
                continue
            end = span_start + close + 1
        break
    if _has_open_bracket(text[start:end]):
        close = text.find(")", end)
        if close != -1 and close <= pending:
            end = close + 1
    return end


def _has_open_bracket(text: str) -> bool:
    return text.count("(") > text.count(")")


def _span_has_emphasis(span: Span, emphasis: str) -> bool:
    if emphasis == "bold":
        return span.is_bold
    if emphasis == "small caps":
        return span.is_small_caps
    return span.is_italic


def _italic_head_is_run_in(text: str, ranges: list[tuple[int, int, Span]], match: re.Match[str], length: int) -> bool:
    """Return whether an italic head ends with a period or colon before an upright body.

    An italic body line can begin with a citation ("Lemma 3.2 shows"), so an
    italic head counts only when punctuation closes it and the body after it is
    set upright, as in the amsthm "definition" and "remark" styles.
    """
    head = text[:length].rstrip()
    if not head.endswith((".", ":")) and match.group("bare") is None:
        after = text[length:].lstrip()
        if not after.startswith((".", ":")):
            return False
    body = _spans_within(ranges, length + 1, len(text))
    text_spans = [span for span in body if not span.is_math and span.text.strip(" .:")]
    return not text_spans or not text_spans[0].is_italic


def _proof_head(line: Line, pattern: re.Pattern[str] = _PROOF_HEAD) -> re.Match[str] | None:
    match = pattern.match(line.text)
    if not match:
        return None
    ranges = _span_ranges(line)
    word_end = len(match.group("word"))
    if not _is_emphasised(ranges, 0, word_end, italic=True) and _word_emphasis(line, ranges, 0, word_end) is None:
        return None
    return match


def _ends_with_mark(line: Line) -> bool:
    tail = line.text.rstrip()
    return tail.endswith(_END_MARKS)


def _prints_heading(line: Line) -> bool:
    """Return whether `line` may print an outline heading: bold text, and no item head such as "Theorem 2.1 Duality".

    Italic text is allowed beside the bold, because headings set variables such as
    the "ij" of "The ijth Entry of a Product" in an italic text font.
    """
    text_spans = [span for span in line.spans if span.text.strip() and not span.is_math]
    if not any(span.is_bold for span in text_spans) or not all(span.is_bold or span.is_italic for span in text_spans):
        return False
    return parse_head(line) is None


def _emphasis_counts(line: Line, skip: int) -> tuple[int, int]:
    """Count italic and upright text-font characters of `line` after its first `skip` characters."""
    italic = upright = 0
    offset = 0
    for span in line.spans:
        start = offset
        offset += len(span.text)
        if offset <= skip or span.is_math:
            continue
        visible = sum(1 for character in span.text[max(skip - start, 0) :] if not character.isspace())
        if span.is_italic:
            italic += visible
        elif not span.is_bold:
            upright += visible
    return italic, upright


def _text_margins(pages: list[Page], edge: Callable[[Page], float] = page_left_edge) -> dict[int, float]:
    """Return the most common text margin, by default the left one, of even (key 0) and odd (key 1) pages.

    Two-sided books alternate their margins, so each parity gets its own.
    """
    edges: dict[int, Counter[float]] = {0: Counter(), 1: Counter()}
    for page in pages:
        edges[page.number % 2][edge(page)] += 1
    fallback = (edges[0] + edges[1]).most_common(1)
    default = fallback[0][0] if fallback else 0.0
    return {parity: (counts.most_common(1)[0][0] if counts else default) for parity, counts in edges.items()}


@dataclass
class _OpenItem:
    """The item whose statement or proof is being read, with what its end depends on."""

    item: RawItem
    mode: str | None  # "statement", "proof", or None once the environment has ended
    left: float  # left edge of the environment's lines: the head or proof head
    italic_chars: int = 0
    upright_chars: int = 0
    body_lines: int = 0

    @property
    def italic_body(self) -> bool:
        total = self.italic_chars + self.upright_chars
        return self.mode == "statement" and total > 0 and self.italic_chars >= _ITALIC_BODY_SHARE * total


@dataclass
class _PageState:
    """Page context for reading its lines: the rows read so far, the text margins and the outline heading lines."""

    rows: PageRows
    left_edge: float
    right_edge: float
    # Index in `page.lines` -> outline title, for every line that prints an outline heading.
    outline_lines: dict[int, str]


class ItemExtractor:
    """Split page lines into items, proofs and the text in between."""

    def __init__(self, pages: list[Page], toc: list[tuple[int, str, int]] | None = None) -> None:
        self.pages = pages
        self.toc = toc or []
        self.metrics: LayoutMetrics = measure_layout(pages)
        self.body_size = self.metrics.body_size
        # Heading lines found by font when the PDF has no outline, filled by `extract`.
        self.headings: list[HeadingLine] = []

    def extract(self) -> list[RawItem]:
        items: list[RawItem] = []
        self.headings = []
        open_item: _OpenItem | None = None
        section: str | None = None
        outline_lines, unprinted_titles = self._locate_outline_headings()
        left_margins = _text_margins(self.pages)
        right_margins = _text_margins(self.pages, page_right_edge)

        for page in self.pages:
            if unprinted_titles.get(page.number):
                # The outline entry points at this page but its heading line was not found.
                section = unprinted_titles[page.number][-1]
            state = _PageState(
                PageRows(self.metrics.body_size, page.lines),
                left_margins[page.number % 2],
                right_margins[page.number % 2],
                outline_lines.get(page.number, {}),
            )
            for index, line in enumerate(page.lines):
                open_item, section = self._read_line(line, state.outline_lines.get(index), state, items, open_item, section)
                state.rows.add(line)
        logger.debug("found %d item heads", len(items))
        return _drop_paragraph_labels(_drop_numbering_outliers(items))

    def _locate_outline_headings(self) -> tuple[dict[int, dict[int, str]], dict[int, list[str]]]:
        """Find the lines that print each outline heading, on the page the entry points at or the next one.

        Returns the heading lines by page, as line index -> outline title, and by
        destination page the titles whose heading was not found on either page.
        """
        pages = {page.number: page for page in self.pages}
        printed: dict[int, dict[int, str]] = {}
        unprinted: dict[int, list[str]] = {}
        for _level, title, destination in self.toc:
            if not title:
                continue
            # Outline destinations sometimes point at the page before the heading.
            for number in (destination, destination + 1):
                page = pages.get(number)
                heading = find_printed_heading(title, page.lines, _prints_heading) if page else None
                if heading is not None:
                    for index in heading.line_indexes:
                        # A line that prints two outline titles belongs to the first.
                        printed.setdefault(number, {}).setdefault(index, title)
                    break
            else:
                unprinted.setdefault(destination, []).append(title)
        return printed, unprinted

    def _read_line(
        self,
        line: Line,
        outline_title: str | None,
        state: _PageState,
        items: list[RawItem],
        open_item: _OpenItem | None,
        section: str | None,
    ) -> tuple[_OpenItem | None, str | None]:
        """Assign one line to a new item, a proof, the open item, or to no item.

        `outline_title` is the outline heading that the line prints, if any.
        """
        heading = outline_title or self._font_heading(line)
        if heading is not None:
            if not self.toc:
                size = max(span.size for span in line.spans if span.text.strip())
                self.headings.append(HeadingLine(heading, line.page, size))
            if open_item is not None:
                open_item.mode = None
            return open_item, heading

        head = parse_head(line)
        if head is not None:
            word_span = line.spans[0] if line.spans else None
            for span in line.spans:
                if span.text.strip() and any(character.isalpha() for character in span.text):
                    word_span = span
                    break
            style = (word_span.font, round(word_span.size), round(line.bbox[0] - state.left_edge)) if word_span else ("", 0, 0)
            item = RawItem(head.kind, head.number, head.title, line.page, head.length, [line], section=section, head_style=style)
            items.append(item)
            open_item = _OpenItem(item, "statement", line.bbox[0])
            open_item.italic_chars, open_item.upright_chars = _emphasis_counts(line, head.length)
            if _ends_with_mark(line):
                open_item.mode = None
            return open_item, section

        proof = _proof_head(line)
        if proof is not None:
            # NOTE: a "Proof." printed after a remark paragraph still goes to the last item,
            # although gold files derived from LaTeX count only a proof right after its statement.
            target = self._proof_target(items, open_item.item if open_item else None, proof)
            if target is not None:
                target.proof.append(line)
                open_item = _OpenItem(target, "proof" if not _ends_with_mark(line) else None, line.bbox[0])
                return open_item, section

        if _proof_head(line, _SOLUTION_HEAD) is not None:
            if open_item is not None:
                open_item.mode = None
            return open_item, section

        if open_item is None or open_item.mode is None:
            return open_item, section
        # NOTE: an item without a proof, box, end mark, paragraph indent or extra space
        # after it runs until the next head or section heading, so narrative text after
        # it can be read as its statement.
        if self._leaves_environment(line, state, open_item):
            open_item.mode = None
            return open_item, section
        if open_item.mode == "statement":
            self._widen_algorithm_box(line, open_item)
            open_item.item.statement.append(line)
            italic, upright = _emphasis_counts(line, 0)
            open_item.italic_chars += italic
            open_item.upright_chars += upright
        else:
            open_item.item.proof.append(line)
        open_item.body_lines += 1
        if _ends_with_mark(line) or is_flush_right_mark(line, state.rows.previous, state.right_edge, self.body_size):
            open_item.mode = None
        return open_item, section

    def _leaves_environment(self, line: Line, state: _PageState, open_item: _OpenItem) -> bool:
        if open_item.mode == "statement" and self._left_item_box(line, open_item.left):
            return True
        # Headings the outline lists were handled before, so this finds the others.
        if is_display_heading(line, state.rows, state.left_edge, self.metrics):
            return True
        return ends_environment(line, state.rows, open_item.left, open_item.italic_body, self.metrics)

    @staticmethod
    def _widen_algorithm_box(line: Line, open_item: _OpenItem) -> None:
        """Take the indent of an algorithm float's first body line as the float's left edge.

        Algorithm floats print their caption ("Algorithm 2 Prim's method") at the
        margin and the steps indented below it, so text back at the margin after
        the float is not part of it.
        """
        if open_item.item.kind != "algorithm" or open_item.body_lines or not is_text_line(line):
            return
        if line.bbox[0] > open_item.left + _INDENT_TOLERANCE:
            open_item.left = line.bbox[0]

    def _font_heading(self, line: Line) -> str | None:
        """Return the text of `line` if it is a bold, larger heading in a book without an outline, else None."""
        if self.toc:
            return None
        spans = [span for span in line.spans if span.text.strip()]
        if not spans or not all(span.is_bold for span in spans):
            return None
        if max(span.size for span in spans) >= self.body_size * _HEADING_SIZE_RATIO:
            return line.text.strip()
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


def _drop_paragraph_labels(items: list[RawItem]) -> list[RawItem]:
    """Drop unnumbered heads that are bold paragraph labels rather than items.

    Some books number at least `_NUMBERED_KIND_SHARE` of the items of a kind, and
    at least `_SCHEME_MIN_ITEMS` of them. There an unnumbered "Remark." is a
    paragraph label when its kind word is typeset unlike every numbered head of
    that kind: another font, size or indent, for example at the margin while the
    numbered remarks sit in a box. Unnumbered heads typeset like the numbered
    ones, such as an amsthm "Theorem." starred environment, are kept.
    """
    numbered_styles: dict[str, set[tuple[str, int, int]]] = {}
    counts: Counter[str] = Counter()
    numbered: Counter[str] = Counter()
    for item in items:
        counts[item.kind] += 1
        if item.number:
            numbered[item.kind] += 1
            numbered_styles.setdefault(item.kind, set()).add(item.head_style)
    kept = []
    for item in items:
        kind = item.kind
        is_numbered_kind = numbered[kind] >= _SCHEME_MIN_ITEMS and numbered[kind] >= _NUMBERED_KIND_SHARE * counts[kind]
        if item.number is None and is_numbered_kind and item.head_style not in numbered_styles.get(kind, set()):
            logger.debug("dropped unnumbered %s on page %d: typeset unlike the numbered ones", kind, item.page)
            continue
        kept.append(item)
    return kept

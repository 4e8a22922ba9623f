"""Line geometry and typography that show where a theorem or proof environment ends.

LaTeX sets a theorem-like environment as a list: it adds vertical space (`\\topsep`)
before and after it, and amsthm "plain" theorems set their body in italic. Text
that follows the environment therefore starts a new paragraph that is indented,
set in the upright text font, and often separated by more than one line pitch.
Inside a proof or statement, new paragraphs are indented but follow at the
normal pitch, because `\\parskip` is zero in most books.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

from ingest.pdf_reader import Line, Page, Span

# Spans smaller than this share of the body size are sub- or superscripts, which
# must not move the baseline of a line.
_SCRIPT_SIZE_RATIO = 0.85
# A paragraph indent lies between these multiples of the body font size.
_MIN_INDENT_SIZES = 0.8
_MAX_INDENT_SIZES = 3.5
# A line starts a paragraph when its indent is within this many font sizes of the
# book's paragraph indent.
_INDENT_MATCH_SIZES = 0.3
# An edge shared by this share of a page's text lines can be its left margin.
_MARGIN_LINE_SHARE = 0.15
# The paragraph indent is trusted once this many lines show it.
_MIN_INDENTED_LINES = 5
# A gap this many font sizes above the line pitch is space between environments.
_ENVIRONMENT_GAP_SIZES = 0.4
# After a display formula, which adds space of its own, only a gap of this many
# line pitches counts as space between environments.
_DISPLAY_GAP_PITCHES = 2.5
# A lone end-of-proof symbol ends this many font sizes or less from the right text margin.
_FLUSH_RIGHT_SIZES = 0.5
# Lines within this many font sizes of each other's baseline share a printed row.
_SAME_ROW_SIZES = 0.3
# A heading that starts this many points or less from the text margin is set at the margin.
_MARGIN_TOLERANCE = 3.0
# A list label at the start of a line ("(a)", "1.", "(iii)", "2:", "•"): such lines
# are indented items of a list inside the statement, not new paragraphs after it.
_LIST_LABEL = re.compile(r"^\s*(?:\(?[0-9]{1,3}[.):]|\(?[a-z]{1,4}\)|\([ivxlc]{1,6}\)|[\u2022\u2023\u25e6\u2013\u2014*-])")


@dataclass(frozen=True)
class LayoutMetrics:
    """Typographic measures of one book, taken from all its pages."""

    body_size: float
    line_pitch: float  # most common distance between baselines of consecutive body lines
    # Most common indent of a paragraph's first line from the text margin, or None
    # when the book does not indent paragraphs (it separates them by space, or not at all).
    paragraph_indent: float | None = None


def measure_layout(pages: list[Page]) -> LayoutMetrics:
    """Return the body font size and the most common line pitch of the book."""
    sizes: Counter[float] = Counter()
    for page in pages:
        for line in page.lines:
            for span in line.spans:
                sizes[round(span.size, 1)] += len(span.text)
    body_size = sizes.most_common(1)[0][0] if sizes else 10.0

    pitches: Counter[float] = Counter()
    for page in pages:
        previous = None
        for line in page.lines:
            if is_text_line(line):
                if previous is not None:
                    pitch = round(baseline(line, body_size) - baseline(previous, body_size), 1)
                    if 0.9 * body_size <= pitch <= 2.0 * body_size:
                        pitches[pitch] += 1
                previous = line
            else:
                previous = None
    line_pitch = pitches.most_common(1)[0][0] if pitches else 1.2 * body_size
    return LayoutMetrics(body_size, line_pitch, _paragraph_indent(pages, body_size))


def _paragraph_indent(pages: list[Page], body_size: float) -> float | None:
    indents: Counter[float] = Counter()
    for page in pages:
        left = page_left_edge(page)
        for line in page.lines:
            indent = round(line.bbox[0] - left)
            if _MIN_INDENT_SIZES * body_size <= indent <= _MAX_INDENT_SIZES * body_size and _opens_sentence(line):
                indents[indent] += 1
    if not indents:
        return None
    indent, count = indents.most_common(1)[0]
    return float(indent) if count >= _MIN_INDENTED_LINES else None


def page_left_edge(page: Page) -> float:
    """Return the left text margin of the page: the leftmost edge that many text lines share.

    Taking the leftmost frequent edge, not the most frequent one, keeps a page of
    short indented paragraphs from reporting its paragraph indent as the margin.
    """
    edges = Counter(round(line.bbox[0]) for line in page.lines if is_text_line(line))
    if not edges:
        return 0.0
    total = sum(edges.values())
    frequent = [edge for edge, count in edges.items() if count >= max(2, _MARGIN_LINE_SHARE * total)]
    return float(min(frequent)) if frequent else float(edges.most_common(1)[0][0])


def page_right_edge(page: Page) -> float:
    """Return the right text margin of the page: the rightmost edge that many text lines share.

    Justified lines end at the margin, so the rightmost frequent edge is the
    margin even on a page with many short lines.
    """
    edges = Counter(round(line.bbox[2]) for line in page.lines if is_text_line(line))
    if not edges:
        return page.width
    total = sum(edges.values())
    frequent = [edge for edge, count in edges.items() if count >= max(2, _MARGIN_LINE_SHARE * total)]
    return float(max(frequent)) if frequent else float(edges.most_common(1)[0][0])


def baseline(line: Line, body_size: float) -> float:
    """Return the bottom of the line's body-size text, ignoring sub- and superscripts."""
    bottoms = [span.bbox[3] for span in line.spans if span.size >= _SCRIPT_SIZE_RATIO * body_size and span.text.strip()]
    return max(bottoms) if bottoms else line.bbox[3]


def first_span(line: Line) -> Span | None:
    for span in line.spans:
        if span.text.strip():
            return span
    return None


def is_text_line(line: Line) -> bool:
    """Return whether the line starts with a text font and contains letters, unlike a display formula."""
    span = first_span(line)
    if span is None or span.is_math:
        return False
    return any(character.isalpha() for character in line.text)


def is_upright(span: Span) -> bool:
    return not (span.is_bold or span.is_italic or span.is_math)


def _opens_sentence(line: Line) -> bool:
    """Return whether the line is prose that begins a sentence: no list label, no formula.

    Display formulas can start with an operator name in the text font ("log",
    "max"), so most of the line's characters must be in text fonts.
    """
    if _LIST_LABEL.match(line.text):
        return False
    text = line.text.lstrip("( ")
    if not text or not text[0].isupper():
        return False
    text_chars, all_chars = _character_counts(line)
    return text_chars >= 0.5 * all_chars


def starts_paragraph(line: Line, left: float, metrics: LayoutMetrics) -> bool:
    """Return whether the line is indented from `left` like the first line of a paragraph."""
    if metrics.paragraph_indent is None:
        return False
    indent = line.bbox[0] - left
    if abs(indent - metrics.paragraph_indent) > _INDENT_MATCH_SIZES * metrics.body_size:
        return False
    return _opens_sentence(line)


class PageRows:
    """The printed rows of one page read so far: their baselines and how much prose they hold.

    PyMuPDF splits a printed line at sub- and superscripts into several lines, so
    the row above a line is found by baseline, not by taking the previous line.
    A row counts as prose when most of its characters, over all its pieces, are
    in text fonts. The rows below a line are found among all `page_lines`.
    """

    def __init__(self, body_size: float, page_lines: list[Line] | None = None) -> None:
        self.body_size = body_size
        self.page_lines = page_lines or []
        # Baseline, text-font characters and all characters of each line read so far.
        self._rows: list[tuple[float, int, int]] = []
        self.previous: Line | None = None  # the line read last

    def add(self, line: Line) -> None:
        text_chars, all_chars = _character_counts(line)
        self._rows.append((baseline(line, self.body_size), text_chars, all_chars))
        self.previous = line

    def row_below(self, line: Line) -> float | None:
        """Return the baseline of the nearest row of the page below `line`, in any reading order."""
        own = baseline(line, self.body_size)
        below = [baseline(other, self.body_size) for other in self.page_lines]
        below = [position for position in below if position > own + 0.5 * self.body_size]
        return min(below) if below else None

    def row_above(self, line: Line) -> tuple[float, bool] | None:
        """Return the baseline of the nearest row above `line` and whether that row is prose."""
        own = baseline(line, self.body_size)
        above = [row for row in self._rows if row[0] < own - 0.5 * self.body_size]
        if not above:
            return None
        nearest = max(row[0] for row in above)
        same_row = [row for row in above if abs(row[0] - nearest) <= 0.15 * self.body_size]
        text_chars = sum(row[1] for row in same_row)
        all_chars = sum(row[2] for row in same_row)
        return nearest, all_chars > 0 and text_chars >= 0.5 * all_chars


def _character_counts(line: Line) -> tuple[int, int]:
    """Return the non-blank characters of `line` in text fonts and in all fonts."""
    text_chars = sum(len(span.text.replace(" ", "")) for span in line.spans if not span.is_math)
    all_chars = sum(len(span.text.replace(" ", "")) for span in line.spans)
    return text_chars, all_chars


def ends_environment(line: Line, rows: PageRows, left: float, italic_body: bool, metrics: LayoutMetrics) -> bool:
    """Return whether `line` is text after the environment whose lines start at `left`.

    Two signs are accepted, both on an indented upright paragraph start: the
    body so far was italic (an amsthm plain theorem), or extra vertical space
    separates the line from the row above it on the same page. A display
    formula adds space of its own, so after one the gap must be larger.
    """
    span = first_span(line)
    if span is None or not is_upright(span) or not starts_paragraph(line, left, metrics):
        return False
    if italic_body:
        return True
    above = rows.row_above(line)
    if above is None:
        return False
    position, is_prose = above
    gap = baseline(line, metrics.body_size) - position
    if is_prose:
        return gap >= metrics.line_pitch + _ENVIRONMENT_GAP_SIZES * metrics.body_size
    return gap >= _DISPLAY_GAP_PITCHES * metrics.line_pitch


def _has_heading_typeface(line: Line) -> bool:
    """Return whether all the text-font characters of `line` are bold. Math letters may be in any font."""
    text_spans = [span for span in line.spans if span.text.strip() and not span.is_math]
    return bool(text_spans) and all(span.is_bold for span in text_spans)


def is_display_heading(line: Line, rows: PageRows, left: float, metrics: LayoutMetrics) -> bool:
    """Return whether `line` is a heading on a row of its own, whether or not the outline lists it.

    Sectioning commands, starred or not, and bold pseudo-headings such as
    "Selected Solutions" print bold text at the left margin `left`, with extra
    space above and below it. Run-in labels ("Model:", "Proof.") end with a
    colon or period, and headings inside a framed item are indented from the
    margin, so neither counts.
    """
    if not _has_heading_typeface(line) or abs(line.bbox[0] - left) > _MARGIN_TOLERANCE:
        return False
    if line.text.rstrip().endswith((":", ".")):
        return False
    own = baseline(line, metrics.body_size)
    min_gap = metrics.line_pitch + _ENVIRONMENT_GAP_SIZES * metrics.body_size
    # The top and the bottom of the page count as space.
    above = rows.row_above(line)
    if above is not None and own - above[0] < min_gap:
        return False
    below = rows.row_below(line)
    return below is None or below - own >= min_gap


def is_flush_right_mark(line: Line, previous: Line | None, right: float, body_size: float) -> bool:
    """Return whether `line` is one symbol set flush right on the row of `previous`, as a proof's end mark.

    amsthm's \\qed and its variants push the mark to the right margin `right` on
    the last row of a proof, and PyMuPDF returns it as a line of its own when the
    gap before it is wide. Only "other symbol" characters (Unicode category So,
    such as U+25A1 or U+2660) count, so an operator left alone on a row of a
    display formula does not.
    """
    text = line.text.strip()
    if len(text) != 1 or unicodedata.category(text) != "So" or previous is None:
        return False
    if abs(line.bbox[2] - right) > _FLUSH_RIGHT_SIZES * body_size:
        return False
    return abs(baseline(line, body_size) - baseline(previous, body_size)) <= _SAME_ROW_SIZES * body_size

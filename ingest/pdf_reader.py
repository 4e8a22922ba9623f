"""Read a PDF into pages of text lines with their typography.

PdfReader opens the file, rejects inputs the pipeline cannot use, and yields
Page objects whose lines are in reading order, with running heads, footers and
page numbers removed, ligatures expanded and end-of-line hyphens joined.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pymupdf

from kg.errors import PdfError

logger = logging.getLogger(__name__)

# Font flag bits of PyMuPDF span dictionaries.
_FLAG_ITALIC = 2
_FLAG_BOLD = 16

# Font names of math fonts: their italic letters are variables, not emphasis.
_MATH_FONT = re.compile(
    r"CMMI|CMSY|CMEX|CMBSY|MSAM|MSBM|EUFM|EUSM|RSFS|STIX|Math|Symbol|StandardSym|Dingbats|Pazo",
    re.IGNORECASE,
)
_BOLD_FONT = re.compile(r"Bold|Medi|Semibold|Demi|Black|Heavy|CMBX|-BX|\bBX", re.IGNORECASE)
_ITALIC_FONT = re.compile(r"Ital|Oblique|CMTI|CMSL|-TI\b", re.IGNORECASE)
# Small-caps text fonts: "CMCSC10", "LMRomanCaps10-Regular", "TeXGyreTermes-RegularSC".
# "SC" is matched in capitals only, so names such as "Script" do not count.
_SMALL_CAPS_FONT = re.compile(r"SC|Caps|SmCp|SmallCap")

_LIGATURES = str.maketrans(
    {"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl", "\ufb05": "st", "\ufb06": "st"}
)

# Share of the page height, at the top and at the bottom, where running heads,
# footers and page numbers are looked for.
_MARGIN_BAND = 0.08
# A margin line whose text, digits aside, recurs on this many pages is a running head.
_RUNNING_HEAD_MIN_PAGES = 3
_PAGE_NUMBER = re.compile(r"^\s*(?:[0-9]+|[ivxlcdm]+|page\s+\d+(?:\s+of\s+\d+)?)\s*$", re.IGNORECASE)
# A page number outside the margin band is kept apart from the text by this many of its heights.
_PAGE_NUMBER_GAP = 1.0
_HEAD_WITH_PAGE_NUMBER = re.compile(r"^\d{1,4}\s+\S.*|.*\S\s+\d{1,4}$")
# Pages with fewer characters than this, on average, count as having no text layer.
_MIN_CHARS_PER_PAGE = 20
# Pieces of one printed line are at most this many font sizes apart; column gutters are wider.
_SPLIT_LINE_MAX_GAP = 1.5


@dataclass(slots=True)
class Span:
    """A run of text in one font, as PyMuPDF reports it."""

    text: str
    font: str
    size: float
    flags: int
    bbox: tuple[float, float, float, float]

    @property
    def is_math(self) -> bool:
        return bool(_MATH_FONT.search(self.font))

    @property
    def is_bold(self) -> bool:
        return bool(self.flags & _FLAG_BOLD) or bool(_BOLD_FONT.search(self.font))

    @property
    def is_small_caps(self) -> bool:
        return not self.is_math and bool(_SMALL_CAPS_FONT.search(self.font))

    @property
    def is_italic(self) -> bool:
        """True for italic or slanted text fonts; math italic fonts are excluded."""
        if self.is_math:
            return False
        return bool(self.flags & _FLAG_ITALIC) or bool(_ITALIC_FONT.search(self.font))


@dataclass(slots=True)
class Line:
    """One printed line: its spans, bounding box and 1-based physical page."""

    spans: list[Span]
    bbox: tuple[float, float, float, float]
    page: int
    text: str = ""

    def __post_init__(self) -> None:
        if not self.text:
            self.text = "".join(span.text for span in self.spans)


@dataclass(slots=True)
class Page:
    number: int  # 1-based physical page
    width: float
    height: float
    lines: list[Line] = field(default_factory=list)


class PdfReader:
    """Open a PDF, check that it can be read, and produce its pages in reading order."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._doc = _open_document(self.path)
        self.page_count = self._doc.page_count
        self.title = (self._doc.metadata or {}).get("title", "").strip() or self._first_page_title()

    def close(self) -> None:
        self._doc.close()

    def __enter__(self) -> PdfReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _first_page_title(self) -> str:
        """Return the largest text on the first page, as a title page prints it, or ''."""
        if not self.page_count:
            return ""
        lines: list[tuple[float, str]] = []
        for block in self._doc[0].get_text("dict")["blocks"]:
            for line in block.get("lines", []):
                text = "".join(span["text"] for span in line["spans"]).strip()
                if text:
                    lines.append((max(span["size"] for span in line["spans"]), text))
        if not lines:
            return ""
        largest = max(size for size, _ in lines)
        # A title may wrap over several lines of the same size.
        return " ".join(text for size, text in lines if size >= largest - 0.5)[:200]

    def toc(self) -> list[tuple[int, str, int]]:
        """Return the PDF outline as (level, title, 1-based page) entries."""
        return [(level, title.strip(), page) for level, title, page, *_ in self._doc.get_toc()]

    def pages(self) -> Iterator[Page]:
        """Yield every page with its running heads, footers and page numbers removed.

        Reading all pages first is needed because a running head is recognised by
        its repetition across pages.
        """
        raw_pages = [self._read_page(index) for index in range(self.page_count)]
        _check_text_layer(self.path, raw_pages)
        running_heads = _find_running_heads(raw_pages)
        for page in raw_pages:
            page.lines = [line for line in page.lines if not _is_margin_noise(line, page, running_heads)]
            page.lines = _drop_edge_page_numbers(page.lines)
            yield page

    def _read_page(self, index: int) -> Page:
        try:
            page = self._doc[index]
            content = page.get_text("dict", flags=pymupdf.TEXT_MEDIABOX_CLIP)
        except (RuntimeError, ValueError) as error:
            raise PdfError(
                f"{self.path}: page {index + 1} could not be read ({error}); "
                "the file may be damaged, so re-export or re-download it"
            ) from error
        lines = []
        for block in content["blocks"]:
            for raw_line in block.get("lines", ()):
                spans = [
                    Span(
                        raw_span["text"].translate(_LIGATURES),
                        raw_span["font"],
                        raw_span["size"],
                        raw_span["flags"],
                        tuple(raw_span["bbox"]),
                    )
                    for raw_span in raw_line["spans"]
                    if raw_span["text"]
                ]
                if spans and any(not span.text.isspace() for span in spans):
                    lines.append(Line(spans, tuple(raw_line["bbox"]), index + 1))
        width, height = page.rect.width, page.rect.height
        return Page(index + 1, width, height, _reading_order(_merge_split_lines(lines), width))


def _open_document(path: Path) -> pymupdf.Document:
    if not path.is_file():
        raise PdfError(f"{path}: file not found; check the path")
    try:
        with path.open("rb") as handle:
            header = handle.read(1024)
    except OSError as error:
        raise PdfError(f"{path}: cannot be read ({error}); check its permissions") from error
    if b"%PDF-" not in header:
        raise PdfError(f"{path}: not a PDF (no %PDF header); pass the book's PDF file")
    try:
        doc = pymupdf.open(path, filetype="pdf")
    except (RuntimeError, ValueError) as error:
        raise PdfError(f"{path}: damaged PDF ({error}); re-download or re-export the file") from error
    if doc.needs_pass:
        doc.close()
        raise PdfError(f"{path}: the PDF is encrypted with a password; save an unencrypted copy and ingest that")
    if doc.page_count == 0:
        doc.close()
        raise PdfError(f"{path}: the PDF has no pages; it may be truncated, so re-download it")
    if doc.is_repaired:
        if not _has_end_marker(path):
            doc.close()
            raise PdfError(
                f"{path}: the PDF is truncated (no %%EOF marker at its end, cross-reference table damaged); "
                "re-download or re-export the file"
            )
        logger.warning("%s: the PDF was damaged and repaired while opening; some pages may be missing", path)
    return doc


def _has_end_marker(path: Path) -> bool:
    """Return whether the last kilobyte of the file contains the %%EOF trailer marker."""
    with path.open("rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(size - 1024, 0))
        return b"%%EOF" in handle.read()


def _check_text_layer(path: Path, pages: list[Page]) -> None:
    chars = sum(len(line.text.strip()) for page in pages for line in page.lines)
    if chars < _MIN_CHARS_PER_PAGE * len(pages):
        raise PdfError(
            f"{path}: the PDF has no text layer ({chars} characters on {len(pages)} pages), "
            "so it is probably scanned; run OCR on it first (for example ocrmypdf) and ingest the result"
        )


def _merge_split_lines(lines: list[Line]) -> list[Line]:
    """Join consecutive lines that PyMuPDF split although they share a baseline.

    Justified TeX output often yields "Lemma" and "2.3 (Title)." as two lines of
    one printed line. Pieces merge when the second starts right of the first,
    on the same baseline, and closer than `_SPLIT_LINE_MAX_GAP` font sizes, which
    keeps the two columns of a page apart.
    """
    merged: list[Line] = []
    for line in lines:
        if merged:
            previous = merged[-1]
            size = max(span.size for span in previous.spans)
            same_baseline = abs(previous.bbox[3] - line.bbox[3]) < 0.25 * size
            gap = line.bbox[0] - previous.bbox[2]
            if same_baseline and -1.0 <= gap < _SPLIT_LINE_MAX_GAP * size:
                joiner = [] if previous.text.endswith(" ") or line.text.startswith(" ") else [
                    Span(" ", previous.spans[-1].font, previous.spans[-1].size, previous.spans[-1].flags, previous.spans[-1].bbox)
                ]
                bbox = (
                    previous.bbox[0],
                    min(previous.bbox[1], line.bbox[1]),
                    line.bbox[2],
                    max(previous.bbox[3], line.bbox[3]),
                )
                merged[-1] = Line(previous.spans + joiner + line.spans, bbox, line.page)
                continue
        merged.append(line)
    return merged


def _reading_order(lines: list[Line], page_width: float) -> list[Line]:
    """Order lines top to bottom, and a two-column page left column first.

    A page counts as two-column when several lines lie wholly in each half and
    no line crosses the middle except full-width ones, which split the page into
    bands that are read in turn.
    """
    middle = page_width / 2
    left = [line for line in lines if line.bbox[2] <= middle + 2]
    right = [line for line in lines if line.bbox[0] >= middle - 2]
    if len(left) < 5 or len(right) < 5:
        return lines
    # Content streams of single-column pages often place short lines in one half,
    # so demand that both halves hold text lines at similar heights.
    left_rows = {round(line.bbox[1] / 4) for line in left}
    right_rows = {round(line.bbox[1] / 4) for line in right}
    if len(left_rows & right_rows) < 5:
        return lines

    ordered: list[Line] = []
    band: list[Line] = []
    for line in sorted(lines, key=lambda item: (item.bbox[1], item.bbox[0])):
        spans_middle = line.bbox[0] < middle - 2 and line.bbox[2] > middle + 2
        if spans_middle:
            ordered.extend(_columns_of(band, middle))
            band = []
            ordered.append(line)
        else:
            band.append(line)
    ordered.extend(_columns_of(band, middle))
    return ordered


def _columns_of(band: list[Line], middle: float) -> list[Line]:
    left = [line for line in band if line.bbox[0] < middle - 2]
    right = [line for line in band if line.bbox[0] >= middle - 2]
    return left + right


def _margin_key(line: Line) -> str:
    return re.sub(r"\d+", "#", line.text.strip().lower())


def _in_margin(line: Line, page: Page) -> bool:
    band = page.height * _MARGIN_BAND
    return line.bbox[3] <= band or line.bbox[1] >= page.height - band


def _find_running_heads(pages: list[Page]) -> set[str]:
    counts: Counter[str] = Counter()
    for page in pages:
        keys = {_margin_key(line) for line in page.lines if _in_margin(line, page)}
        counts.update(keys)
    return {key for key, count in counts.items() if count >= _RUNNING_HEAD_MIN_PAGES}


def _drop_edge_page_numbers(lines: list[Line]) -> list[Line]:
    """Drop a lone page number printed below (or above) all text, outside the margin band.

    Books with a tall text block print the folio closer to the text than the
    margin band reaches. Only a number set apart from the text by more than
    `_PAGE_NUMBER_GAP` of its own height counts, so a fraction's denominator
    under the last formula stays.
    """
    if len(lines) < 2:
        return lines
    lowest = max(lines, key=lambda line: line.bbox[1])
    highest = min(lines, key=lambda line: line.bbox[1])
    dropped = []
    for candidate, below in ((lowest, True), (highest, False)):
        if not _PAGE_NUMBER.match(candidate.text):
            continue
        height = candidate.bbox[3] - candidate.bbox[1]
        others = [line for line in lines if line is not candidate]
        if below:
            gap = candidate.bbox[1] - max(line.bbox[3] for line in others)
        else:
            gap = min(line.bbox[1] for line in others) - candidate.bbox[3]
        if gap > _PAGE_NUMBER_GAP * height:
            dropped.append(candidate)
    return [line for line in lines if all(line is not candidate for candidate in dropped)]


def _is_margin_noise(line: Line, page: Page, running_heads: set[str]) -> bool:
    if not _in_margin(line, page):
        return False
    if _PAGE_NUMBER.match(line.text) or _margin_key(line) in running_heads:
        return True
    # A running head printed on one line with the page number ("2.2. Modeling  31")
    # that recurs on too few pages to be counted; only the top band is trusted.
    return line.bbox[3] <= page.height * _MARGIN_BAND and bool(_HEAD_WITH_PAGE_NUMBER.match(line.text.strip()))

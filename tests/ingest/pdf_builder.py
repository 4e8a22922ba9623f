"""Build small PDFs with chosen fonts for the ingest tests."""

from __future__ import annotations

from pathlib import Path

import pymupdf

# Style name -> base-14 font used by insert_text. "math" is Courier-Oblique, whose
# BaseFont is renamed to CMMI10 after writing, so it reads as a TeX math italic font.
# "smallcaps" is Helvetica renamed to CMCSC10, the name of TeX's small-caps font.
FONTS = {
    "regular": "Times-Roman",
    "bold": "Times-Bold",
    "italic": "Times-Italic",
    "math": "Courier-Oblique",
    "smallcaps": "Helvetica",
}
_RENAMED_FONTS = {"math": "CMMI10", "smallcaps": "CMCSC10"}
DEJAVU_SERIF = Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")

FONT_SIZE = 10.0
LINE_PITCH = 14.0
LEFT_MARGIN = 72.0
TOP_MARGIN = 90.0

# A line is a list of runs; a page is a list of lines. A run is (text, style) or
# (text, style, size in points). The style "skip" prints nothing and moves the pen
# right by its size, so INDENT starts a line with a paragraph indent. An empty line
# leaves one blank line of vertical space.
Run = tuple[str, str] | tuple[str, str, float]
PageSpec = list[list[Run]]
PARAGRAPH_INDENT = 15.0
INDENT: Run = ("", "skip", PARAGRAPH_INDENT)


def write_pdf(path: Path, pages: list[PageSpec], left: float = LEFT_MARGIN, toc: list[list] | None = None) -> Path:
    """Write `pages` to `path`, one printed line per entry, runs side by side.

    `toc` is the PDF outline as `pymupdf.Document.set_toc` takes it: [level, title, page] rows.
    """
    doc = pymupdf.open()
    for spec in pages:
        page = doc.new_page(width=595, height=842)
        y = TOP_MARGIN
        for line in spec:
            x = left
            for run in line:
                text, style = run[0], run[1]
                size = run[2] if len(run) > 2 else FONT_SIZE
                if style == "skip":
                    x += size
                    continue
                if style == "symbol":
                    # Proof end marks and dashes (U+25A1, U+2013) are outside the base-14 encodings.
                    page.insert_text((x, y), text, fontname="dejavu", fontfile=str(DEJAVU_SERIF), fontsize=size)
                else:
                    page.insert_text((x, y), text, fontname=FONTS[style], fontsize=size)
                x += text_width(text, style, size)
            y += LINE_PITCH
    _rename_fonts(doc)
    if toc:
        doc.set_toc(toc)
    doc.save(path)
    doc.close()
    return path


def text_width(text: str, style: str, size: float = FONT_SIZE) -> float:
    """Return how far `text` in `style` moves the pen, in points."""
    if style == "symbol":
        return pymupdf.Font(fontfile=str(DEJAVU_SERIF)).text_length(text, fontsize=size)
    return pymupdf.get_text_length(text, fontname=FONTS[style], fontsize=size)


def _rename_fonts(doc: pymupdf.Document) -> None:
    renamed = set()
    for page in doc:
        for xref, _ext, _type, basefont, *_ in page.get_fonts():
            for style, new_name in _RENAMED_FONTS.items():
                if basefont != FONTS[style] or xref in renamed:
                    continue
                renamed.add(xref)
                doc.xref_set_key(xref, "BaseFont", f"/{new_name}")
                # Math: flags 96 = nonsymbolic (32) + italic (64), so the span carries the italic
                # flag as CMMI spans of real TeX books do. Small caps: nonsymbolic (32) only.
                flags, angle = (96, -14) if style == "math" else (32, 0)
                descriptor = doc.get_new_xref()
                doc.update_object(
                    descriptor,
                    f"<< /Type /FontDescriptor /FontName /{new_name} /Flags {flags} /ItalicAngle {angle}"
                    " /FontBBox [0 -250 1000 750] /Ascent 750 /Descent -250 /CapHeight 683 /StemV 72 >>",
                )
                doc.xref_set_key(xref, "FontDescriptor", f"{descriptor} 0 R")


def text_page(*lines: str, style: str = "regular") -> PageSpec:
    """Return a page of plain lines in one style."""
    return [[(line, style)] for line in lines]

"""Build small PDFs with chosen fonts for the ingest tests."""

from __future__ import annotations

from pathlib import Path

import pymupdf

# Style name -> base-14 font used by insert_text. "math" is Courier-Oblique, whose
# BaseFont is renamed to CMMI10 after writing, so it reads as a TeX math italic font.
FONTS = {
    "regular": "Times-Roman",
    "bold": "Times-Bold",
    "italic": "Times-Italic",
    "math": "Courier-Oblique",
}
DEJAVU_SERIF = Path("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf")

FONT_SIZE = 10.0
LINE_PITCH = 14.0
LEFT_MARGIN = 72.0
TOP_MARGIN = 90.0

# A line is a list of (text, style) runs; a page is a list of lines.
Run = tuple[str, str]
PageSpec = list[list[Run]]


def write_pdf(path: Path, pages: list[PageSpec], left: float = LEFT_MARGIN) -> Path:
    """Write `pages` to `path`, one printed line per entry, runs side by side."""
    doc = pymupdf.open()
    for spec in pages:
        page = doc.new_page(width=595, height=842)
        y = TOP_MARGIN
        for line in spec:
            x = left
            for text, style in line:
                if style == "symbol":
                    # Proof end marks and dashes (U+25A1, U+2013) are outside the base-14 encodings.
                    page.insert_text((x, y), text, fontname="dejavu", fontfile=str(DEJAVU_SERIF), fontsize=FONT_SIZE)
                    x += pymupdf.Font(fontfile=str(DEJAVU_SERIF)).text_length(text, fontsize=FONT_SIZE)
                    continue
                page.insert_text((x, y), text, fontname=FONTS[style], fontsize=FONT_SIZE)
                x += pymupdf.get_text_length(text, fontname=FONTS[style], fontsize=FONT_SIZE)
            y += LINE_PITCH
    _rename_math_fonts(doc)
    doc.save(path)
    doc.close()
    return path


def _rename_math_fonts(doc: pymupdf.Document) -> None:
    for page in doc:
        for xref, _ext, _type, basefont, *_ in page.get_fonts():
            if basefont == FONTS["math"]:
                doc.xref_set_key(xref, "BaseFont", "/CMMI10")
                # Flags 96 = nonsymbolic (32) + italic (64), so the span carries the italic flag
                # as CMMI spans of real TeX books do.
                descriptor = doc.get_new_xref()
                doc.update_object(
                    descriptor,
                    "<< /Type /FontDescriptor /FontName /CMMI10 /Flags 96 /ItalicAngle -14"
                    " /FontBBox [0 -250 1000 750] /Ascent 750 /Descent -250 /CapHeight 683 /StemV 72 >>",
                )
                doc.xref_set_key(xref, "FontDescriptor", f"{descriptor} 0 R")


def text_page(*lines: str, style: str = "regular") -> PageSpec:
    """Return a page of plain lines in one style."""
    return [[(line, style)] for line in lines]

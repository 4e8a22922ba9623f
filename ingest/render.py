"""Render HTML to a paginated PDF with PyMuPDF's Story layout engine.

The main use is building the bundled sample chapter (``samples/convexity.html``), a small
textbook PDF with a known set of numbered items that the ingest pipeline and its tests can
run on without the external corpus.

Fonts: the CSS generic family ``serif`` maps to Charis SIL (regular, bold, italic, bold
italic), which MuPDF compiles into its library. Glyphs that Charis SIL lacks, such as ℝ, ∇,
‖, ∈, ⊆, ⋆ and □, are drawn from MuPDF's built-in Noto fallback fonts (Noto Sans Math, Noto
Serif, Noto Sans Symbols 2). Both sets ship inside the PyMuPDF 2.0 wheels, so rendering needs
no system fonts. Charis SIL applies the standard f-ligatures, so ``page.get_text()`` returns
"Deﬁnition" with U+FB01 unless the ``pymupdf.TEXT_PRESERVE_LIGATURES`` flag is cleared.
"""

from __future__ import annotations

import io
from pathlib import Path

import pymupdf

DEFAULT_PAPER = "letter"
DEFAULT_MARGIN_PT = 72.0

_FOOTER_CSS = "body { font-family: serif; font-size: 9pt; text-align: center; }"


def render_html_to_pdf(
    html: str,
    output: Path,
    *,
    css: str | None = None,
    paper: str = DEFAULT_PAPER,
    margin: float = DEFAULT_MARGIN_PT,
    page_numbers: bool = True,
) -> Path:
    """Lay out ``html`` on as many pages as needed and write the PDF to ``output``.

    ``css`` is applied on top of any ``<style>`` element in the document. ``paper`` is a
    PyMuPDF paper name such as "letter" or "a4", and ``margin`` is in points (1/72 inch) on
    all four sides. With ``page_numbers`` each page gets a centered page number in the bottom
    margin. The document's ``<title>``, if present, becomes the PDF title metadata.

    Raises ``ValueError`` for blank HTML, an unknown paper name, margins that leave no room
    for text, or a layout that stops making progress because a block that Story cannot split
    is taller than one page.
    """
    if not html.strip():
        raise ValueError("html is empty or whitespace only. Pass the HTML document to render.")

    page_rect = pymupdf.paper_rect(paper)
    if page_rect.is_empty:
        raise ValueError(f"unknown paper name {paper!r}. Use a PyMuPDF paper name such as 'letter' or 'a4'.")

    content_rect = page_rect + (margin, margin, -margin, -margin)
    if content_rect.is_empty:
        raise ValueError(f"margin of {margin} pt leaves no text area on {paper!r} paper. Use a smaller margin.")

    # The page number sits in the lower half of the bottom margin.
    footer_rect = pymupdf.Rect(
        content_rect.x0,
        page_rect.y1 - margin / 2,
        content_rect.x1,
        page_rect.y1 - margin / 8,
    )

    story = pymupdf.Story(html, user_css=css or "")
    # Story.place() invalidates the DOM, so the title has to be read before layout.
    title = _document_title(story)

    # With PyMuPDF 2.0, a block that cannot be split and is taller than the text area (for
    # example a long table row) makes Story.place() report more content forever while drawing
    # blank pages. A page that makes progress places at least one word or one element, so this
    # count bounds every layout that terminates.
    page_limit = len(html.split()) + html.count("<") + 1

    buffer = io.BytesIO()
    writer = pymupdf.DocumentWriter(buffer)

    page_number = 0
    more = True
    while more:
        page_number += 1
        if page_number > page_limit:
            writer.close()
            raise ValueError(
                f"layout did not finish within {page_limit} pages. A block that cannot be split "
                f"is probably taller than the {content_rect.height:.0f} pt text area. "
                "Split that block or use larger paper or smaller margins."
            )
        device = writer.begin_page(page_rect)
        more, _ = story.place(content_rect)
        story.draw(device)
        if page_numbers:
            _draw_page_number(device, footer_rect, page_number)
        writer.end_page()
    writer.close()

    document = pymupdf.open("pdf", buffer.getvalue())
    if title:
        document.set_metadata({"title": title, "creator": "Lemmagraph ingest.render"})

    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    document.save(output, garbage=3, deflate=True)
    document.close()
    return output


def sample_chapter_path() -> Path:
    """Return the path of the bundled sample chapter HTML in the repository's samples folder."""
    # NOTE: samples/ is not package data, so the path exists only in a source checkout or an
    # editable install, not in a wheel installed into site-packages.
    return Path(__file__).resolve().parents[1] / "samples" / "convexity.html"


def render_sample_chapter(output: Path) -> Path:
    """Render the bundled sample chapter to ``output`` and return that path."""
    source = sample_chapter_path()
    if not source.is_file():
        raise FileNotFoundError(f"sample chapter not found at {source}. Restore samples/convexity.html in the checkout.")
    return render_html_to_pdf(source.read_text(encoding="utf-8"), output)


def _draw_page_number(device: pymupdf.DeviceWrapper, rect: pymupdf.Rect, page_number: int) -> None:
    footer = pymupdf.Story(f"<p>{page_number}</p>", user_css=_FOOTER_CSS)
    footer.place(rect)
    footer.draw(device)


def _document_title(story: pymupdf.Story) -> str:
    title_element = story.document().find("title", None, None)
    if title_element is None or title_element.first_child is None:
        return ""
    return (title_element.first_child.text or "").strip()

from __future__ import annotations

import re
from pathlib import Path

import pymupdf
import pytest

from ingest.render import render_html_to_pdf, render_sample_chapter, sample_chapter_path

# Charis SIL renders "fi" as the ligature U+FB01, so text checks clear the flag that keeps it.
TEXT_FLAGS = pymupdf.TEXTFLAGS_TEXT & ~pymupdf.TEXT_PRESERVE_LIGATURES

ITEM_HEAD = re.compile(r"^(Definition|Notation|Example|Lemma|Theorem|Algorithm|Remark|Exercise) 1\.(\d+)$")

EXPECTED_HEADS = [
    "Definition 1.1",
    "Notation 1.2",
    "Example 1.3",
    "Lemma 1.4",
    "Definition 1.5",
    "Lemma 1.6",
    "Definition 1.7",
    "Lemma 1.8",
    "Definition 1.9",
    "Remark 1.10",
    "Definition 1.11",
    "Lemma 1.12",
    "Algorithm 1.13",
    "Lemma 1.14",
    "Remark 1.15",
    "Theorem 1.16",
    "Example 1.17",
    "Exercise 1.18",
    "Exercise 1.19",
    "Exercise 1.20",
    "Exercise 1.21",
    "Exercise 1.22",
    "Exercise 1.23",
    "Exercise 1.24",
]

MATH_SYMBOLS = "ℝ∇‖≤≥∈⊆⋆□⟨⟩→−θμλκε⋂⋯"


@pytest.fixture(scope="module")
def sample_pdf(tmp_path_factory: pytest.TempPathFactory) -> pymupdf.Document:
    path = render_sample_chapter(tmp_path_factory.mktemp("render") / "convexity.pdf")
    document = pymupdf.open(path)
    yield document
    document.close()


def _spans(document: pymupdf.Document) -> list[dict]:
    spans = []
    for page in document:
        for block in page.get_text("dict", flags=TEXT_FLAGS)["blocks"]:
            for line in block.get("lines", []):
                spans.extend(line["spans"])
    return spans


def _full_text(document: pymupdf.Document) -> str:
    return "".join(page.get_text(flags=TEXT_FLAGS) for page in document)


def test_sample_chapter_path_exists() -> None:
    path = sample_chapter_path()

    assert path.is_file()
    assert path.name == "convexity.html"
    assert path.parent.name == "samples"


def test_sample_has_several_pages(sample_pdf: pymupdf.Document) -> None:
    assert sample_pdf.page_count >= 3


def test_sample_text_has_items(sample_pdf: pymupdf.Document) -> None:
    text = _full_text(sample_pdf)

    assert "Definition 1.1" in text
    assert "Lemma" in text
    assert "Exercise" in text
    assert "by Definition 1.1" in text
    assert "(1.1)" in text
    assert "□" in text


def test_sample_item_heads_bold(sample_pdf: pymupdf.Document) -> None:
    bold_heads = [
        span["text"]
        for span in _spans(sample_pdf)
        if span["flags"] & pymupdf.TEXT_FONT_BOLD and ITEM_HEAD.match(span["text"])
    ]

    assert bold_heads == EXPECTED_HEADS


def test_sample_item_numbers_shared_counter(sample_pdf: pymupdf.Document) -> None:
    numbers = [int(ITEM_HEAD.match(head).group(2)) for head in EXPECTED_HEADS]

    assert numbers == list(range(1, len(EXPECTED_HEADS) + 1))


def test_sample_defined_terms_italic(sample_pdf: pymupdf.Document) -> None:
    italic_texts = {
        span["text"].strip() for span in _spans(sample_pdf) if span["flags"] & pymupdf.TEXT_FONT_ITALIC
    }

    for term in ("convex", "half-space", "L-smooth", "μ-strongly convex", "minimizer", "optimal value", "epigraph"):
        assert term in italic_texts, term


def test_sample_fonts_bold_and_italic(sample_pdf: pymupdf.Document) -> None:
    font_names = {span["font"] for span in _spans(sample_pdf)}

    assert any("Bold" in name for name in font_names), font_names
    assert any("Italic" in name for name in font_names), font_names


def test_sample_math_symbols_have_glyphs(sample_pdf: pymupdf.Document) -> None:
    # Glyph id 0 is .notdef, the empty box a font draws for a character it does not contain.
    glyphs_by_char: dict[str, set[int]] = {}
    for page in sample_pdf:
        for span in page.get_texttrace():
            for unicode_value, glyph_id, *_ in span["chars"]:
                glyphs_by_char.setdefault(chr(unicode_value), set()).add(glyph_id)

    for symbol in MATH_SYMBOLS:
        assert symbol in glyphs_by_char, f"{symbol!r} missing from the text layer"
        assert 0 not in glyphs_by_char[symbol], f"{symbol!r} drawn with .notdef"


def test_sample_page_numbers_in_footer(sample_pdf: pymupdf.Document) -> None:
    for page in sample_pdf:
        lines = page.get_text(flags=TEXT_FLAGS).split("\n")
        last_line = [line for line in lines if line.strip()][-1]

        assert last_line.strip() == str(page.number + 1)


def test_sample_title_metadata(sample_pdf: pymupdf.Document) -> None:
    assert sample_pdf.metadata["title"] == "Chapter 1: Convex sets and gradient descent"


def test_render_applies_user_css(tmp_path: Path) -> None:
    html = "<p>Plain paragraph text.</p>"

    path = render_html_to_pdf(html, tmp_path / "out.pdf", css="p { font-size: 20pt; }")

    with pymupdf.open(path) as document:
        sizes = {round(span["size"]) for span in _spans(document) if "Plain" in span["text"]}
    assert sizes == {20}


def test_render_a4_paper_without_footer(tmp_path: Path) -> None:
    path = render_html_to_pdf("<p>Body text.</p>", tmp_path / "out.pdf", paper="a4", page_numbers=False)

    with pymupdf.open(path) as document:
        assert document.page_count == 1
        assert round(document[0].rect.width) == 595
        assert round(document[0].rect.height) == 842
        assert document[0].get_text().strip() == "Body text."


def test_render_creates_output_folder(tmp_path: Path) -> None:
    output = tmp_path / "nested" / "folder" / "out.pdf"

    returned = render_html_to_pdf("<p>Body text.</p>", output)

    assert returned == output
    assert output.is_file()


def test_render_rejects_empty_html(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="empty"):
        render_html_to_pdf("  \n", tmp_path / "out.pdf")


def test_render_rejects_unknown_paper(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown paper"):
        render_html_to_pdf("<p>text</p>", tmp_path / "out.pdf", paper="napkin")


def test_render_rejects_oversized_margin(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="margin"):
        render_html_to_pdf("<p>text</p>", tmp_path / "out.pdf", margin=400)


def test_render_rejects_unsplittable_block(tmp_path: Path) -> None:
    # A single table cell taller than a page: Story cannot split it across pages.
    rows = "<br>".join(f"row {index}" for index in range(80))
    html = f"<p>intro</p><table><tr><td>{rows}</td></tr></table>"

    with pytest.raises(ValueError, match="did not finish"):
        render_html_to_pdf(html, tmp_path / "out.pdf")

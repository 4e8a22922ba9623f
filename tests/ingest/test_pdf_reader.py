from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest

from kg.errors import PdfError
from ingest.pdf_reader import PdfReader
from ingest.text import join_lines
from tests.ingest.pdf_builder import DEJAVU_SERIF, text_page, write_pdf

BODY = "This line carries ordinary body text of the book for the reader."


def _page_texts(path: Path) -> list[list[str]]:
    with PdfReader(path) as reader:
        return [[line.text for line in page.lines] for page in reader.pages()]


def test_running_heads_and_page_numbers_dropped(tmp_path: Path) -> None:
    doc = pymupdf.open()
    for number in range(1, 5):
        page = doc.new_page(width=595, height=842)
        page.insert_text((72, 40), f"Chapter {number}. Convex Sets", fontname="Times-Roman", fontsize=9)
        page.insert_text((72, 200), f"{BODY} Page body {number}.", fontname="Times-Roman", fontsize=10)
        page.insert_text((290, 820), str(number + 10), fontname="Times-Roman", fontsize=9)
    path = tmp_path / "heads.pdf"
    doc.save(path)

    pages = _page_texts(path)

    assert len(pages) == 4
    for number, lines in enumerate(pages, start=1):
        assert lines == [f"{BODY} Page body {number}."]


@pytest.mark.skipif(not DEJAVU_SERIF.is_file(), reason="needs the DejaVu Serif font for ligature glyphs")
def test_ligatures_expanded(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_font(fontname="dejavu", fontfile=str(DEJAVU_SERIF))
    page.insert_text((72, 100), "A \ufb01nite \ufb02ow is e\ufb00ective on every page.", fontname="dejavu", fontsize=10)
    path = tmp_path / "ligatures.pdf"
    doc.save(path)

    assert _page_texts(path) == [["A finite flow is effective on every page."]]


def test_hyphenated_word_joined(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "hyphen.pdf", [text_page("The feasible region is a poly-", "hedron in every case here.")])
    with PdfReader(path) as reader:
        lines = next(reader.pages()).lines

    joined = join_lines(lines)

    assert joined.text == "The feasible region is a polyhedron in every case here."
    assert joined.page_at(len(joined.text) - 1) == 1


def test_two_column_page_read_left_first(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    for row in range(8):
        y = 100 + 14 * row
        page.insert_text((50, y), f"left column line {row}", fontname="Times-Roman", fontsize=10)
        page.insert_text((320, y), f"right column line {row}", fontname="Times-Roman", fontsize=10)
    path = tmp_path / "columns.pdf"
    doc.save(path)

    lines = _page_texts(path)[0]

    assert lines == [f"left column line {row}" for row in range(8)] + [f"right column line {row}" for row in range(8)]


def test_split_pieces_of_one_line_merged(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 100), "Lemma", fontname="Times-Bold", fontsize=10)
    page.insert_text((110, 100), "2.3 (Jensen bound).", fontname="Times-Bold", fontsize=10)
    page.insert_text((72, 114), BODY, fontname="Times-Roman", fontsize=10)
    path = tmp_path / "split.pdf"
    doc.save(path)

    lines = _page_texts(path)[0]

    assert lines[0] == "Lemma 2.3 (Jensen bound)."


def test_not_a_pdf_rejected(tmp_path: Path) -> None:
    path = tmp_path / "notes.pdf"
    path.write_text("just some notes, not a PDF\n")

    with pytest.raises(PdfError, match="not a PDF") as raised:
        PdfReader(path)
    assert str(path) in str(raised.value)


def test_missing_file_rejected(tmp_path: Path) -> None:
    with pytest.raises(PdfError, match="not found"):
        PdfReader(tmp_path / "absent.pdf")


def test_truncated_pdf_rejected(tmp_path: Path) -> None:
    source = write_pdf(tmp_path / "whole.pdf", [text_page(BODY) for _ in range(5)])
    data = source.read_bytes()
    path = tmp_path / "truncated.pdf"
    path.write_bytes(data[: len(data) // 2])

    with pytest.raises(PdfError, match="truncated"):
        PdfReader(path)


def test_encrypted_pdf_rejected(tmp_path: Path) -> None:
    source = write_pdf(tmp_path / "plain.pdf", [text_page(BODY)])
    doc = pymupdf.open(source)
    path = tmp_path / "locked.pdf"
    doc.save(path, encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="secret", owner_pw="owner")

    with pytest.raises(PdfError, match="encrypted"):
        PdfReader(path)


def test_scanned_pdf_without_text_rejected(tmp_path: Path) -> None:
    doc = pymupdf.open()
    for _ in range(3):
        page = doc.new_page()
        pixmap = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 60, 60), False)
        pixmap.set_rect(pixmap.irect, (200, 200, 200))
        page.insert_image(pymupdf.Rect(72, 72, 300, 300), pixmap=pixmap)
    path = tmp_path / "scan.pdf"
    doc.save(path)

    with PdfReader(path) as reader:
        with pytest.raises(PdfError, match="no text layer"):
            list(reader.pages())


def test_page_number_above_margin_band_dropped(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    for row in range(3):
        page.insert_text((72, 600 + 14 * row), f"{BODY} Row {row}.", fontname="Times-Roman", fontsize=10)
    # 735 lies above the bottom margin band (the last 8 percent of the page height).
    page.insert_text((290, 735), "17", fontname="Times-Roman", fontsize=10)
    path = tmp_path / "folio.pdf"
    doc.save(path)

    assert _page_texts(path) == [[f"{BODY} Row {row}." for row in range(3)]]


def test_title_from_first_page_without_metadata(tmp_path) -> None:
    from ingest.pdf_reader import PdfReader

    document = pymupdf.open()
    page = document.new_page()
    page.insert_text((72, 100), "A Course in", fontsize=20)
    page.insert_text((72, 126), "Convexity", fontsize=20)
    page.insert_text((72, 200), "Lecture notes with exercises.", fontsize=10)
    path = tmp_path / "untitled.pdf"
    document.save(path)

    reader = PdfReader(path)

    assert reader.title == "A Course in Convexity"

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kg.models import BookGraph
from ingest.pipeline import ingest_pdf
from tests.ingest.pdf_builder import PageSpec, write_pdf


@pytest.fixture
def ingest_pages(tmp_path: Path) -> Callable[..., BookGraph]:
    """Write the given pages to a PDF and ingest it as book 'test'."""

    def run(pages: list[PageSpec], **options) -> BookGraph:
        path = write_pdf(tmp_path / "book.pdf", pages, **options)
        return ingest_pdf(path, "test")

    return run

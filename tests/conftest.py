"""Fixtures shared by every test package."""

from __future__ import annotations

from pathlib import Path

import pytest

# The evaluation corpus lives next to the checkout, never inside it.
CORPUS_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


@pytest.fixture(scope="session")
def embedder():
    """The real all-MiniLM-L6-v2 embedder, loaded once per test session."""
    from retrieval.embedding import SentenceEmbedder

    return SentenceEmbedder()


def corpus_book(name: str) -> Path:
    """Return a corpus book's folder, or skip the test saying why it cannot run."""
    folder = CORPUS_DIR / name
    if not (folder / "book.pdf").is_file() or not (folder / "gold.json").is_file():
        pytest.skip(f"corpus book {name!r} not found at {folder}: the shared corpus is absent")
    return folder

"""Fixtures for the formalize tests: the fake model server and a small sample book."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kg.models import Book, BookGraph, Entity, Reference
from retrieval.models import Dependency, DependencyContext
from tests.formalize.fake_openai import FakeOpenAI

BOOK_ID = "convex-sets"


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A running scripted chat completions server on 127.0.0.1."""
    server = FakeOpenAI().start()
    try:
        yield server
    finally:
        server.close()


# A stand-in for `lake env lean FILE`: it records its arguments and working directory,
# fails on files that contain BROKEN and hangs on files that contain SLOW.
FAKE_LAKE = """#!/bin/sh
printf '%s\\n' "$*" "$(pwd)" > "$(dirname "$0")/lake-call.txt"
if grep -q BROKEN "$3"; then
  echo "$3:5:24: error: unexpected token '='; expected term"
  exit 1
fi
if grep -q SLOW "$3"; then
  exec sleep 30
fi
echo "$3:5:8: warning: declaration uses 'sorry'"
"""


@pytest.fixture
def fake_lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Put a scripted `lake` first on PATH and return the folder that contains it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    lake = bin_dir / "lake"
    lake.write_text(FAKE_LAKE, encoding="utf-8")
    lake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    return bin_dir


def sample_book() -> BookGraph:
    """Three items of a small convex analysis book, where each item cites the ones before."""
    book = Book(
        id=BOOK_ID,
        title="Convex Sets",
        source_path="/books/convex-sets.pdf",
        page_count=40,
        sha256="0" * 64,
        ingested_at="2024-05-01T10:00:00+00:00",
    )
    definition = Entity(
        id=f"{BOOK_ID}:definition:1.1",
        book_id=BOOK_ID,
        kind="definition",
        number="1.1",
        title="Convex set",
        text="A set C in a real vector space is convex if (1 - t)x + ty lies in C for all x, y in C and t in [0, 1].",
        page=3,
        order=0,
    )
    lemma = Entity(
        id=f"{BOOK_ID}:lemma:1.2",
        book_id=BOOK_ID,
        kind="lemma",
        number="1.2",
        title=None,
        text="The intersection of two convex sets is convex (Definition 1.1).",
        page=4,
        order=1,
    )
    theorem = Entity(
        id=f"{BOOK_ID}:theorem:1.3",
        book_id=BOOK_ID,
        kind="theorem",
        number="1.3",
        title="Intersections",
        text="The intersection of any family of convex sets is convex. Compare Lemma 1.2.",
        page=5,
        order=2,
    )
    references = [
        Reference(source_id=lemma.id, target_id=definition.id, surface="Definition 1.1", page=4),
        Reference(source_id=theorem.id, target_id=lemma.id, surface="Lemma 1.2", page=5),
    ]
    return BookGraph(book=book, entities=[definition, lemma, theorem], references=references)


def theorem_context(graph: BookGraph) -> DependencyContext:
    """The context of Theorem 1.3 with its dependencies best first, not in reading order."""
    definition, lemma, theorem = graph.entities
    return DependencyContext(
        target=theorem,
        dependencies=[
            Dependency(entity=lemma, score=0.9, reasons=["cited"]),
            Dependency(entity=definition, score=0.7, reasons=["defines term"]),
        ],
    )

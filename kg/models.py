"""Typed records that travel between the pipeline stages and the graph stores."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# The theorem-like kinds Lemmagraph recognises, in the spelling stored in the graph.
KINDS: tuple[str, ...] = (
    "definition",
    "theorem",
    "lemma",
    "proposition",
    "corollary",
    "algorithm",
    "example",
    "exercise",
    "remark",
    "notation",
)

# Relationship types of the fixed schema. Stores never build a type from user text.
REFERENCES = "REFERENCES"
DEFINES = "DEFINES"
MENTIONS = "MENTIONS"
EDGE_TYPES: tuple[str, ...] = (REFERENCES, DEFINES, MENTIONS)
# Edges from a LeanTarget node: the item it formalizes and the context items its prompt used.
FORMALIZES = "FORMALIZES"
USED_CONTEXT = "USED_CONTEXT"

_BOOK_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def is_valid_book_id(book_id: str) -> bool:
    """Return whether `book_id` is lower-case ASCII letters, digits, '.', '_' or '-'."""
    return bool(_BOOK_ID.match(book_id))


def book_id_from_filename(stem: str) -> str:
    """Derive a book id from a file name stem, for example 'Convex Sets (v2)' -> 'convex-sets-v2'."""
    slug = re.sub(r"[^a-z0-9._-]+", "-", stem.lower()).strip("-._")
    return slug[:64] or "book"


def entity_id(book_id: str, kind: str, number: str | None, order: int) -> str:
    """Build the stable id of an item: book, kind and printed number.

    Unnumbered items take their reading-order position instead, so the id stays
    stable across re-ingests of the same PDF.
    """
    if number:
        return f"{book_id}:{kind}:{number}"
    return f"{book_id}:{kind}:u{order}"


@dataclass(frozen=True)
class Book:
    id: str
    title: str
    source_path: str
    page_count: int
    sha256: str
    ingested_at: str = ""


@dataclass
class Entity:
    """A numbered theorem-like item of a book: a definition, lemma, exercise and so on."""

    id: str
    book_id: str
    kind: str
    number: str | None
    title: str | None
    text: str
    page: int  # 1-based physical page of the PDF where the head is printed
    order: int  # position in reading order within the book, from 0
    proof: str = ""
    section: str | None = None

    @property
    def label(self) -> str:
        """Printed form such as 'Lemma 3.2', or 'Remark (unnumbered)'."""
        name = self.kind.capitalize()
        return f"{name} {self.number}" if self.number else f"{name} (unnumbered)"


@dataclass(frozen=True)
class Reference:
    """An explicit citation of one item by another, as printed ("by Lemma 3.2")."""

    source_id: str
    target_id: str
    surface: str  # the citation text as it appears in the PDF
    page: int
    in_proof: bool = False


@dataclass(frozen=True)
class Term:
    """A defined term, keyed by its normalized (lower-cased, lemmatized) form."""

    id: str
    book_id: str
    name: str
    surface: str


@dataclass(frozen=True)
class TermLink:
    """An item that defines (DEFINES) or mentions (MENTIONS) a term."""

    entity_id: str
    term_id: str
    type: str


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    type: str


@dataclass
class BookGraph:
    """Everything ingest extracted from one PDF, ready to be written as a unit."""

    book: Book
    entities: list[Entity] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    terms: list[Term] = field(default_factory=list)
    term_links: list[TermLink] = field(default_factory=list)


@dataclass(frozen=True)
class BookSummary:
    book: Book
    entity_count: int
    counts_by_kind: dict[str, int]


@dataclass
class LeanTarget:
    """One formalization attempt of an item: the informal statement, the Lean code and its check."""

    id: str
    entity_id: str
    book_id: str
    informal_statement: str
    lean_code: str
    status: str  # "draft", "checked" or "failed"
    check_output: str
    model: str
    created_at: str
    context_ids: list[str] = field(default_factory=list)
    lean_path: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0

"""Typed records that travel between the pipeline stages and the graph stores."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field

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
# An item that cites a section ("see Section 2.3", "§1.7"): from an item id to a section id.
CITES_SECTION = "CITES_SECTION"
EDGE_TYPES: tuple[str, ...] = (REFERENCES, DEFINES, MENTIONS, CITES_SECTION)
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


def section_id(book_id: str, number: str | None, title: str) -> str:
    """Build the id of a section from its printed number, else from a slug of its title."""
    if number:
        return f"{book_id}:section:{number}"
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return f"{book_id}:section:{slug[:48] or 'untitled'}"


def unique_id(identifier: str, used_ids: set[str]) -> str:
    """Return `identifier`, or with "~2", "~3"... appended when it is taken, and mark it used.

    Suffixes follow reading order, so ids stay stable across re-ingests of the same PDF.
    """
    if identifier in used_ids:
        copy = 2
        while f"{identifier}~{copy}" in used_ids:
            copy += 1
        identifier = f"{identifier}~{copy}"
    used_ids.add(identifier)
    return identifier


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
    section: str | None = None  # heading of the innermost section as printed, such as "2.3 Duality"
    section_id: str | None = None  # id of that section in `BookGraph.sections`

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
class Section:
    """A chapter, section or subsection of a book, from the PDF outline or its headings.

    `level` is 1 for chapters and grows with depth. `order` is the position in
    reading order within the book, from 0, and `parent_id` is None at the top level.
    """

    id: str
    book_id: str
    number: str | None  # as printed, such as "2.3"; None for "Preface" or "Exercises"
    title: str  # the heading without its number
    level: int
    page: int  # 1-based physical page of the PDF where the section starts
    parent_id: str | None
    order: int


@dataclass(frozen=True)
class SectionReference:
    """An explicit citation of a section by an item, as printed ("Section 2.3", "§1.7")."""

    source_id: str
    section_id: str
    surface: str
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
    sections: list[Section] = field(default_factory=list)
    section_references: list[SectionReference] = field(default_factory=list)


@dataclass(frozen=True)
class BookSummary:
    book: Book
    entity_count: int
    counts_by_kind: dict[str, int]


# Statuses of a check record.
PASSED = "passed"
FAILED = "failed"
SKIPPED = "skipped"
CHECK_STATUSES: tuple[str, ...] = (PASSED, FAILED, SKIPPED)


@dataclass(frozen=True)
class CheckRecord:
    """One check of a Lean target answer, such as "structure", "compile" or "semantic review".

    `round` is 0 for the first answer and n for the answer of the n-th repair round.
    """

    name: str
    status: str  # one of CHECK_STATUSES
    output: str
    round: int = 0


@dataclass
class LeanTarget:
    """One formalization attempt of an item: the informal statement, the Lean code and its checks.

    `status` is "checked" (every check passed, Lean compiled it), "draft" (every check
    that ran passed, but Lean did not compile it) or "failed", with the reason in
    `status_reason`. `checks` contains every check of every round, in order. `cost_usd`
    counts only requests sent by this attempt, so answers read from the response cache
    cost nothing, and it is 0.0 with `price_known` false when the model has no price.
    """

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
    status_reason: str = ""
    checks: list[CheckRecord] = field(default_factory=list)
    verdict: str = ""  # semantic review: "faithful", "weaker", "stronger", "different" or "" if none ran
    raw_answer: str = ""
    repair_rounds: int = 0
    dropped_context_ids: list[str] = field(default_factory=list)
    local_definitions: list[str] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    cost_usd: float = 0.0
    price_known: bool = False
    cached_calls: int = 0  # model calls read from the response cache instead of sent


def checks_to_json(checks: list[CheckRecord]) -> str:
    """Serialize check records to the JSON text that graph stores keep in one property."""
    return json.dumps([asdict(check) for check in checks], ensure_ascii=False)


def checks_from_json(text: str | None) -> list[CheckRecord]:
    """Parse the JSON text written by `checks_to_json`; empty or missing text gives no checks."""
    if not text:
        return []
    return [CheckRecord(**record) for record in json.loads(text)]


def strings_to_json(values: list[str]) -> str:
    """Serialize a list of strings for stores that keep it as one JSON text property."""
    return json.dumps(list(values), ensure_ascii=False)


def strings_from_json(text: str | None) -> list[str]:
    """Parse the JSON text written by `strings_to_json`; empty or missing text gives []."""
    if not text:
        return []
    return [str(value) for value in json.loads(text)]

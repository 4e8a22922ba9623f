"""Turn one PDF into a BookGraph: items, sections, references, terms and term links."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from kg.models import Book, BookGraph, Entity, Section, entity_id, unique_id

from ingest.items import HeadingLine, ItemExtractor, RawItem
from ingest.notation import SymbolFinder
from ingest.pdf_reader import Page, PdfReader
from ingest.references import ItemText, ReferenceResolver, SectionReferenceResolver, equation_tags
from ingest.sections import SectionLocator, raw_outline_headings, sections_from_headings, sections_from_outline
from ingest.terms import DefinitionSource, TermFinder
from ingest.text import join_lines

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]


def ingest_pdf(path: Path, book_id: str, progress: ProgressCallback | None = None) -> BookGraph:
    """Read the PDF at `path` and extract its items, references, terms, symbols and their links.

    `progress(done_pages, total_pages)` is called while pages are read.
    Raises kg.errors.PdfError when the file is not a readable PDF with text.
    """
    path = Path(path)
    with PdfReader(path) as reader:
        pages: list[Page] = []
        for page in reader.pages():
            pages.append(page)
            if progress is not None:
                progress(page.number, reader.page_count)
        toc = reader.toc()
        book = Book(
            id=book_id,
            title=reader.title or path.stem,
            source_path=str(path.resolve()),
            page_count=reader.page_count,
            sha256=_sha256(path),
            ingested_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )

    extractor = ItemExtractor(pages, toc)
    raw_items = extractor.extract()
    sections, locator = _build_sections(book_id, toc, extractor.headings, pages)
    entities, item_texts = _build_entities(book_id, raw_items, locator)
    references = ReferenceResolver(item_texts).find_all()
    section_references = SectionReferenceResolver(item_texts, sections).find_all()

    definitions = [
        DefinitionSource(entity, raw.statement, raw.head_length)
        for entity, raw in zip(entities, raw_items)
        if entity.kind == "definition"
    ]
    terms, term_links = TermFinder(book_id).find(definitions, entities) if entities else ([], [])
    symbols, symbol_links = SymbolFinder(book_id).find(entities)
    logger.info(
        "%s: %d items, %d references, %d terms, %d symbols, %d sections, %d section references on %d pages",
        path.name,
        len(entities),
        len(references),
        len(terms),
        len(symbols),
        len(sections),
        len(section_references),
        book.page_count,
    )
    terms = terms + symbols
    term_links = term_links + symbol_links
    return BookGraph(book, entities, references, terms, term_links, sections, section_references)


def _build_sections(
    book_id: str, toc: list[tuple[int, str, int]], headings: list[HeadingLine], pages: list[Page]
) -> tuple[list[Section], SectionLocator]:
    """Build the section tree from the outline, else from the heading lines found by font."""
    if toc:
        sections = sections_from_outline(book_id, toc, pages)
        return sections, SectionLocator(sections, raw_outline_headings(toc))
    sections = sections_from_headings(book_id, headings, pages)
    return sections, SectionLocator(sections, [heading.text for heading in headings])


def _build_entities(
    book_id: str, raw_items: list[RawItem], locator: SectionLocator
) -> tuple[list[Entity], list[ItemText]]:
    entities: list[Entity] = []
    item_texts: list[ItemText] = []
    used_ids: set[str] = set()
    for order, raw in enumerate(raw_items):
        # A (kind, number) printed twice (a restated theorem, an appendix that
        # restarts a counter) keeps the first id; later copies get "~2", "~3"...
        identifier = unique_id(entity_id(book_id, raw.kind, raw.number, order), used_ids)

        statement = join_lines(raw.statement, raw.head_length)
        proof = join_lines(raw.proof)
        entity = Entity(
            id=identifier,
            book_id=book_id,
            kind=raw.kind,
            number=raw.number,
            title=raw.title,
            text=statement.text,
            page=raw.page,
            order=order,
            proof=proof.text,
            section=raw.section,
            section_id=locator.section_of(raw.section, raw.page),
        )
        entities.append(entity)
        statement_tags = equation_tags([line.text for line in raw.statement])
        proof_tags = equation_tags([line.text for line in raw.proof])
        item_texts.append(ItemText(entity, statement, proof, statement_tags, proof_tags))
    return entities, item_texts


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()

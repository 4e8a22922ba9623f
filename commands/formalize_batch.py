"""Wire `lemmagraph formalize BOOK --chapter N | --section S | --all` to the batch runner."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from commands.endpoint_settings import EndpointChoice, batch_endpoints, unpriced_endpoints
from commands.services import ReopeningStore, Services
from formalize.batch import FORMALIZED_KINDS, BatchRunner, FormalizerAttempt, formalizer_builder, select_items
from formalize.batch_report import BatchReport
from formalize.endpoints import escalation_tiers
from kg.errors import LemmagraphError
from kg.models import KINDS, Entity
from kg.sections import find_section, section_label, section_with_subsections
from kg.store import GraphStore
from retrieval.book_snapshot import chapter_of

log = logging.getLogger(__name__)


@dataclass
class BatchPlan:
    """The work of one batch: its items, endpoints and escalation tiers, and the items of its scope it leaves out."""

    book_id: str
    scope: str  # such as "chapter 3", "section 1.4 Exercises" or "the book"
    items: list[Entity]
    choice: EndpointChoice
    tiers: list[list[str]] | None = None
    left_out: list[Entity] = field(default_factory=list)  # items of the scope of a kind a batch does not formalize
    unpriced: set[str] = field(default_factory=set)  # names of the endpoints with no price

    def left_out_counts(self) -> dict[str, int]:
        return dict(Counter(item.kind for item in self.left_out))


def plan_batch(
    services: Services,
    book_id: str,
    *,
    chapter: str | None,
    section: str | None,
    endpoints_file: Path | None,
    escalate: list[str] | None,
) -> BatchPlan:
    """Choose the endpoints and tiers, and select the items of the chapter, the section or the book.

    Raises LemmagraphError when the scope contains nothing to formalize, naming the
    chapters or the kinds that do exist.
    """
    choice = batch_endpoints(services, endpoints_file)
    tiers = escalation_tiers(escalate, choice.endpoints) if escalate else None
    store = services.store
    entities = store.entities(book_id)

    scope, section_ids = _scope(store, book_id, chapter, section)
    in_scope = select_items(entities, chapter=chapter, section=section, kinds=KINDS, section_ids=section_ids)
    items = [item for item in in_scope if item.kind in FORMALIZED_KINDS]
    left_out = [item for item in in_scope if item.kind not in FORMALIZED_KINDS]
    if not items:
        raise LemmagraphError(_nothing_to_formalize(book_id, scope, chapter, section_ids, in_scope, entities))
    if left_out:
        log.info("Leaving out %s of %s: a batch formalizes only %s", kind_counts(Counter(item.kind for item in left_out)),
                 scope, plural_list(FORMALIZED_KINDS))
    return BatchPlan(
        book_id=book_id,
        scope=scope,
        items=items,
        choice=choice,
        tiers=tiers,
        left_out=left_out,
        unpriced=unpriced_endpoints(choice.endpoints, services.settings.prices),
    )


def _scope(store: GraphStore, book_id: str, chapter: str | None, section: str | None) -> tuple[str, set[str] | None]:
    """Describe the scope and, for a section of a book with stored sections, return the section ids it covers."""
    if chapter is not None:
        return f"chapter {chapter}", None
    if section is None:
        return "the book", None
    sections = store.sections(book_id)
    if not sections:
        # A book ingested before sections were stored has none, so items are matched by their printed heading.
        return f"section {section}", None
    found = find_section(sections, section, book_id)
    return f"section {section_label(found)}", section_with_subsections(sections, found)


def _nothing_to_formalize(
    book_id: str,
    scope: str,
    chapter: str | None,
    section_ids: set[str] | None,
    in_scope: Sequence[Entity],
    entities: Sequence[Entity],
) -> str:
    """Say why a scope has no items to formalize and what exists instead."""
    start = f"no items to formalize in {scope} of {book_id}"
    if in_scope:
        example = in_scope[0].label
        return (
            f"{start}: it contains only {kind_counts(Counter(item.kind for item in in_scope))}, which a batch "
            f'does not formalize; formalize one by name, such as: lemmagraph formalize {book_id} "{example}"'
        )
    if not entities:
        return f"{start}: the book has no items; ingest it again"
    if section_ids is not None:
        return f"{start}: no item is printed in that section or its subsections; use --chapter or --all"
    if chapter is not None:
        chapters = sorted({number for number in map(chapter_of, entities) if number}, key=_number_key)
        if not chapters:
            return f"{start}: its items have no chapter numbers, so use --section or --all"
        return f"{start}: its chapters are {', '.join(chapters)}; or use --section or --all"
    headings = list(dict.fromkeys(entity.section for entity in entities if entity.section))
    return f"{start}: its items are printed under the headings {'; '.join(headings)}; or use --all"


def _number_key(number: str) -> tuple[int, int | str]:
    return (0, int(number)) if number.isdigit() else (1, number)


def kind_counts(counts: Counter[str] | dict[str, int]) -> str:
    """Describe counts of kinds, such as "2 examples, 2 remarks and 1 algorithm", most first."""
    return _and_list([
        f"{count} {kind if count == 1 else _plural(kind)}" for kind, count in Counter(counts).most_common()
    ])


def plural_list(kinds: Sequence[str]) -> str:
    """Name kinds in the plural, such as "definitions, lemmas and corollaries"."""
    return _and_list([_plural(kind) for kind in kinds])


def _plural(kind: str) -> str:
    return f"{kind[:-1]}ies" if kind.endswith("y") else f"{kind}s"


def _and_list(parts: Sequence[str]) -> str:
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def run_formalize_batch(
    services: Services,
    plan: BatchPlan,
    *,
    top: int,
    similarity_floor: float,
    redo: bool,
    progress: Callable[[BatchReport], None] | None,
) -> BatchReport:
    """Recover the contexts of the plan's items and run the batch on its endpoints."""
    from formalize.lean_project import LeanProject, bundled_lean_template
    from formalize.llm_cache import ResponseCache

    log.info("Recovering the contexts of %d items", len(plan.items))
    contexts = {item.id: services.formalization_context(item, top, similarity_floor) for item in plan.items}

    settings = services.settings
    lean = LeanProject(services.workspace.lean_dir, bundled_lean_template())
    lean.ensure()
    build = formalizer_builder(lean, settings.prices, settings.repair_rounds, settings.semantic_review)
    cache = ResponseCache(services.workspace.llm_cache_dir) if settings.use_llm_cache else None
    store = services.store
    release = None
    if settings.store != "neo4j":
        # The embedded store admits one process at a time, so the batch lets it go
        # between writes and `show` or `deps` can run in another shell meanwhile.
        store = ReopeningStore(services)
        release = services.release_store
    attempt = FormalizerAttempt(store, build, cache, release_store=release)
    runner = BatchRunner(store, plan.choice.endpoints, attempt, tiers=plan.tiers, redo=redo, progress=progress)
    try:
        return runner.run(contexts)
    finally:
        attempt.stop()

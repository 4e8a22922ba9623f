"""Wire `lemmagraph formalize BOOK --chapter N | --section S | --all` to the batch runner."""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Callable
from pathlib import Path

from commands.services import ReopeningStore, Services
from commands.settings import CONFIG_FILE_NAME
from formalize.batch import BatchReport, BatchRunner, FormalizerAttempt, formalizer_builder, select_items
from formalize.endpoints import DEFAULT_CONCURRENCY, Endpoint, escalation_tiers, load_endpoints
from formalize.llm import require_endpoint
from kg.errors import LemmagraphError

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT_NAME = "default"


def batch_endpoints(services: Services, endpoints_file: Path | None) -> list[Endpoint]:
    """Return the endpoints of a batch: from --endpoints, else the workspace config, else the single LLM settings."""
    if endpoints_file is not None:
        return load_endpoints(endpoints_file)
    workspace_config = services.settings.home / CONFIG_FILE_NAME
    if workspace_config.is_file():
        # resolve_settings has already rejected a config file that is not valid TOML.
        with workspace_config.open("rb") as handle:
            if "endpoints" in tomllib.load(handle):
                return load_endpoints(workspace_config)

    llm = services.llm_settings()
    require_endpoint(llm)
    settings = services.settings
    return [
        Endpoint(
            name=DEFAULT_ENDPOINT_NAME,
            base_url=llm.base_url or "",
            model=llm.model or "",
            api_key=llm.api_key,
            concurrency=DEFAULT_CONCURRENCY,
            context_window=settings.context_window,
            price=settings.prices.get(llm.model or ""),
            timeout_seconds=llm.timeout_seconds,
            # With no other endpoint to move a job to, the client's own retries are the only ones.
            max_retries=llm.max_retries,
        )
    ]


def run_formalize_batch(
    services: Services,
    book_id: str,
    *,
    chapter: str | None,
    section: str | None,
    top: int,
    similarity_floor: float,
    endpoints_file: Path | None,
    escalate: list[str] | None,
    redo: bool,
    progress: Callable[[BatchReport], None] | None,
) -> BatchReport:
    """Select the items, recover their contexts, and run the batch on the configured endpoints."""
    from formalize.lean_project import LeanProject, bundled_lean_template
    from formalize.llm_cache import ResponseCache

    endpoints = batch_endpoints(services, endpoints_file)
    tiers = escalation_tiers(escalate, endpoints) if escalate else None
    store = services.store
    items = select_items(store.entities(book_id), chapter=chapter, section=section)
    if not items:
        where = f"chapter {chapter}" if chapter else f"section {section}" if section else "the book"
        raise LemmagraphError(
            f"no items to formalize in {where} of {book_id}: check the number with `lemmagraph show` or use --all"
        )
    log.info("Recovering the contexts of %d items", len(items))
    contexts = {item.id: services.formalization_context(item, top, similarity_floor) for item in items}

    settings = services.settings
    lean = LeanProject(services.workspace.lean_dir, bundled_lean_template())
    lean.ensure()
    build = formalizer_builder(lean, settings.prices, settings.repair_rounds, settings.semantic_review)
    cache = ResponseCache(services.workspace.llm_cache_dir) if settings.use_llm_cache else None
    release = None
    if settings.store != "neo4j":
        # The embedded store admits one process at a time, so the batch lets it go
        # between writes and `show` or `deps` can run in another shell meanwhile.
        store = ReopeningStore(services)
        release = services.release_store
    attempt = FormalizerAttempt(store, build, cache, release_store=release)
    runner = BatchRunner(store, endpoints, attempt, tiers=tiers, redo=redo, progress=progress)
    try:
        return runner.run(contexts)
    finally:
        attempt.stop()

"""Commands that build prompts and formalize items: prompt and formalize."""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path

import click

from commands.console import print_json, print_table, print_target, services_for, stderr, stdout
from commands.endpoint_settings import ignored_flag_warnings, single_item_endpoint, unused_endpoint_warnings
from commands.references import resolve_item
from commands.services import ReopeningStore
from kg.errors import LemmagraphError
from retrieval.closure import DEFAULT_SIMILARITY_FLOOR

log = logging.getLogger(__name__)

# The exit status of a process stopped by SIGINT, as shells report it (128 + 2).
INTERRUPTED_EXIT_STATUS = 130

RERUN_HINT = "Running the command again sends new requests."
CACHED_RERUN_HINT = ("Its answers were removed from the response cache, so running the command again "
                     "sends new requests.")

_CONTEXT_WINDOW_HELP = ("Tokens the model accepts, prompt and answer together; context items are dropped, "
                        "least needed first, to fit [env LEMMAGRAPH_CONTEXT_WINDOW; default 32768].")
_SIMILARITY_FLOOR_HELP = ("The minimum score at which an item that only semantic similarity proposed, other than "
                          "a definition or notation, seeds the context closure; 0 seeds every one.")

@click.command()
@click.argument("book_id", metavar="BOOK")
@click.argument("ref", metavar="REF")
@click.option("--top", default=10, show_default=True, type=click.IntRange(min=1),
              help="How many ranked dependencies seed the context closure.")
@click.option("--similarity-floor", type=click.FloatRange(0.0, 1.0), default=DEFAULT_SIMILARITY_FLOOR,
              show_default=True, help=_SIMILARITY_FLOOR_HELP)
@click.option("--context-window", type=click.IntRange(min=1), default=None, help=_CONTEXT_WINDOW_HELP)
@click.pass_context
def prompt(ctx: click.Context, book_id: str, ref: str, top: int, similarity_floor: float,
           context_window: int | None) -> None:
    """Print exactly the prompt that `formalize` would send for REF.

    The dropped context items, if any, are listed on stderr.

    Example: lemmagraph prompt oor "Exercise 3.4" --context-window 8192
    """
    services = services_for(ctx, context_window=context_window)
    target = resolve_item(services.store, book_id, ref)
    built = services.formalization_prompt(services.formalization_context(target, top, similarity_floor))
    click.echo(built.render(), nl=False)
    stderr.print(
        f"{len(built.context_ids)} context items, about {built.estimated_tokens} tokens"
        + (f"; dropped to fit the context window: {', '.join(built.dropped_ids)}" if built.dropped_ids else ""),
        markup=False,
        soft_wrap=True,
    )


@click.command()
@click.argument("book_id", metavar="BOOK")
@click.argument("ref", metavar="[REF]", required=False)
@click.option("--chapter", default=None, help="Formalize every item of this chapter, such as 3.")
@click.option("--section", default=None,
              help='Formalize every item of this section and its subsections, given by its number, such as "3.2", '
                   'or by a title that only one section of the book has.')
@click.option("--all", "whole_book", is_flag=True, help="Formalize every item of the book.")
@click.option("--endpoints", "endpoints_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="TOML file with an [[endpoints]] array; one REF is formalized on its first endpoint "
                   "[default: [[endpoints]] in the workspace lemmagraph.toml, else the single --base-url endpoint].")
@click.option("--escalate", default=None,
              help="Comma-separated endpoint or model names, small first: a target that fails its checks "
                   "or review on one is sent to the next.")
@click.option("--redo", is_flag=True, help="In a batch, formalize items again even when one is already accepted.")
@click.option("--top", default=10, show_default=True, type=click.IntRange(min=1),
              help="How many ranked dependencies seed the context closure.")
@click.option("--similarity-floor", type=click.FloatRange(0.0, 1.0), default=DEFAULT_SIMILARITY_FLOOR,
              show_default=True, help=_SIMILARITY_FLOOR_HELP)
@click.option("--base-url", default=None, help="OpenAI-compatible endpoint [env OPENAI_BASE_URL].")
@click.option("--api-key", default=None, help="API key of the endpoint [env OPENAI_API_KEY].")
@click.option("--model", default=None, help="Model name [env LEMMAGRAPH_MODEL].")
@click.option("--timeout", default=None, type=float,
              help="Seconds to wait for one answer, a positive number [env LEMMAGRAPH_LLM_TIMEOUT; default 120].")
@click.option("--context-window", type=click.IntRange(min=1), default=None, help=_CONTEXT_WINDOW_HELP)
@click.option("--repair-rounds", type=click.IntRange(min=0), default=None,
              help="How many times a failed check is sent back to the model for a fix "
                   "[env LEMMAGRAPH_REPAIR_ROUNDS; default 2].")
@click.option("--no-cache", is_flag=True, help="Send every request even when the response cache has its answer.")
@click.option("--no-review", is_flag=True, help="Skip the semantic review (the second model call).")
@click.option("--json", "as_json", is_flag=True, help="Print the stored target, or the batch report, as JSON.")
@click.pass_context
def formalize(ctx: click.Context, book_id: str, ref: str | None, chapter: str | None, section: str | None,
              whole_book: bool, endpoints_file: Path | None, escalate: str | None, redo: bool, top: int,
              similarity_floor: float, base_url: str | None, api_key: str | None, model: str | None,
              timeout: float | None, context_window: int | None, repair_rounds: int | None, no_cache: bool,
              no_review: bool, as_json: bool) -> None:
    """Generate, check and store Lean 4 targets for REF, or for a chapter, a section or the whole book.

    Each run stores a new attempt and keeps the earlier ones. A batch formalizes
    the items an item needs first, runs independent items at once on every
    endpoint, and skips items already accepted, so a killed batch resumes where it
    stopped. Exit status 1 when a target failed its checks.

    One REF runs on the first endpoint of --endpoints when given, else on
    --base-url and --model (or [llm] and the environment), else on the first
    [[endpoints]] entry of the workspace lemmagraph.toml.

    With the embedded store, formalizing one REF closes the store during the model
    calls, and a batch closes it whenever a second passes without a store call. So
    `show` or `deps` can run in another shell meanwhile; one that starts while a
    target is being written fails with "locked by another process" and can be run again.

    Example: lemmagraph formalize oor --chapter 3 --endpoints endpoints.toml --escalate small,large
    """
    scopes = sum(1 for given in (ref, chapter, section, whole_book) if given)
    if scopes != 1:
        raise click.UsageError("give exactly one of REF, --chapter, --section or --all")
    flags = dict(base_url=base_url, api_key=api_key, model=model, timeout=timeout, context_window=context_window,
                 repair_rounds=repair_rounds, no_cache=no_cache, no_review=no_review)
    if ref is None:
        _formalize_batch(ctx, book_id, chapter, section, top, similarity_floor, endpoints_file,
                         escalation_names(escalate), redo, as_json, flags)
        return
    if escalate or redo:
        raise click.UsageError("--escalate and --redo apply to a batch: use --chapter, --section or --all")
    services = services_for(ctx, **flags)
    choice = single_item_endpoint(services, endpoints_file, flags)
    if choice is not None:
        _warn(ignored_flag_warnings(flags, choice))
    formalizer = services.formalizer(choice.endpoints[0] if choice else None)
    target = resolve_item(services.store, book_id, ref)
    context = services.formalization_context(target, top, similarity_floor)
    built = formalizer.prompt_for(context)

    # The model calls take minutes, so the store is closed during them and opened
    # again only to write the target.
    formalizer.store = ReopeningStore(services)
    services.release_store()
    result = formalizer.run(context, built)

    if as_json:
        print_json(asdict(result))
    else:
        print_target(result)
    if result.status == "failed":
        hint = CACHED_RERUN_HINT if services.settings.use_llm_cache else RERUN_HINT
        raise LemmagraphError(f"the Lean target of {target.label} failed: {result.status_reason.rstrip('.')}. {hint}")


def escalation_names(escalate: str | None) -> list[str] | None:
    """Split --escalate into names, or raise a usage error for an empty name such as in "small,,large"."""
    if escalate is None:
        return None
    names = [name.strip() for name in escalate.split(",")]
    if not all(names):
        raise click.BadParameter(
            f"{escalate!r} has an empty name: list endpoint or model names separated by commas, such as small,large",
            param_hint="--escalate",
        )
    return names


def _warn(warnings: list[str]) -> None:
    for warning in warnings:
        stderr.print(f"warning: {warning}", markup=False)


def _formalize_batch(ctx: click.Context, book_id: str, chapter: str | None, section: str | None, top: int,
                     similarity_floor: float, endpoints_file: Path | None, escalate: list[str] | None, redo: bool,
                     as_json: bool, flags: dict) -> None:
    from commands.batch_output import BatchProgress, report_dict, summary_lines, summary_tables
    from commands.formalize_batch import plan_batch, run_formalize_batch

    services = services_for(ctx, **flags)
    services.store.book(book_id)
    plan = plan_batch(services, book_id, chapter=chapter, section=section, endpoints_file=endpoints_file,
                      escalate=escalate)
    _warn(ignored_flag_warnings(flags, plan.choice) + unused_endpoint_warnings(plan.choice, plan.tiers))
    with BatchProgress(stderr, plan.unpriced) as progress:
        report = run_formalize_batch(services, plan, top=top, similarity_floor=similarity_floor, redo=redo,
                                     progress=progress.update)
    if as_json:
        print_json(report_dict(report, plan))
    else:
        for table in summary_tables(report, plan):
            print_table(table)
        for line in summary_lines(report, plan):
            stdout.print(line, markup=False)
    if report.interrupted:
        not_run = report.count("not run")
        stderr.print(f"interrupted: {not_run} targets not run; run the command again to resume", markup=False)
        ctx.exit(INTERRUPTED_EXIT_STATUS)
    if report.stop_reason:
        raise LemmagraphError(
            f"{report.stop_reason} Fix the endpoints and run the command again: it skips the accepted targets."
        )
    failed = report.count("failed")
    if failed:
        raise LemmagraphError(
            f"{failed} of {len(report.results)} targets failed. "
            "Run the command again to retry only those with new requests."
        )

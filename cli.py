"""The `lemmagraph` command line: parse arguments, call the stages, format results.

Exit status: 0 on success, 1 when a command fails, 2 on a usage error.
Results go to stdout; progress, warnings and errors go to stderr.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import asdict
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from commands.references import resolve_item
from commands.services import Services
from commands.settings import resolve_settings
from kg.errors import LemmagraphError, LlmError
from kg.models import KINDS, Entity, LeanTarget, book_id_from_filename, is_valid_book_id
from retrieval.models import DependencyContext

log = logging.getLogger("lemmagraph")
stdout = Console(highlight=False, soft_wrap=True)
stderr = Console(stderr=True, highlight=False)

SAMPLE_BOOK_ID = "sample-convexity"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Workspace folder for the graph, vectors and Lean files [env LEMMAGRAPH_HOME].")
@click.option("--store", type=click.Choice(["embedded", "neo4j"]), default=None,
              help="Graph store backend [env LEMMAGRAPH_STORE; default embedded].")
@click.option("--neo4j-uri", default=None,
              help="Neo4j server for --store neo4j, such as bolt://127.0.0.1:7687 [env NEO4J_URI].")
@click.option("--neo4j-username", default=None, help="Neo4j user name [env NEO4J_USERNAME; default neo4j].")
@click.option("--neo4j-password", default=None,
              help="Neo4j password [env NEO4J_PASSWORD, which other users cannot see in the process list].")
@click.option("--neo4j-database", default=None,
              help="Neo4j database name [env NEO4J_DATABASE; default: the server's default database].")
@click.option("-v", "--verbose", count=True, help="Log more to stderr (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Log only errors.")
@click.pass_context
def main(
    ctx: click.Context,
    home: Path | None,
    store: str | None,
    neo4j_uri: str | None,
    neo4j_username: str | None,
    neo4j_password: str | None,
    neo4j_database: str | None,
    verbose: int,
    quiet: bool,
) -> None:
    """Turn a textbook PDF into a graph of its items and generate Lean 4 targets.

    Example: lemmagraph ingest book.pdf --book oor && lemmagraph deps oor "Exercise 3.4"
    """
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    ctx.obj = {
        "home": home,
        "store": store,
        "neo4j_uri": neo4j_uri,
        "neo4j_username": neo4j_username,
        "neo4j_password": neo4j_password,
        "neo4j_database": neo4j_database,
    }


def _services(ctx: click.Context, **flags: object) -> Services:
    settings = resolve_settings({**ctx.obj, **flags})
    services = Services(settings)
    ctx.call_on_close(services.close)
    return services


def _print_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _entity_dict(entity: Entity) -> dict:
    return {
        "id": entity.id,
        "kind": entity.kind,
        "number": entity.number,
        "title": entity.title,
        "page": entity.page,
    }


# --- ingest and browse -------------------------------------------------------


@main.command()
@click.argument("pdf", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--book", "book_id", help="Book id [default: derived from the file name].")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def ingest(ctx: click.Context, pdf: Path, book_id: str | None, as_json: bool) -> None:
    """Read a PDF into the graph, replacing an earlier ingest of the same book.

    Example: lemmagraph ingest textbook.pdf --book oor
    """
    book_id = book_id or book_id_from_filename(pdf.stem)
    if not is_valid_book_id(book_id):
        raise click.BadParameter(
            f"{book_id!r} is not a valid book id: use lower-case letters, digits, '.', '_' or '-'",
            param_hint="--book",
        )
    services = _services(ctx)
    graph, seconds = _ingest_with_progress(services, pdf, book_id)

    counts: dict[str, int] = {}
    for entity in graph.entities:
        counts[entity.kind] = counts.get(entity.kind, 0) + 1
    if not graph.entities:
        stderr.print(f"warning: no numbered items recognized in {pdf}; the book is stored empty")
    summary = {
        "book": asdict(graph.book),
        "items": len(graph.entities),
        "items_by_kind": dict(sorted(counts.items())),
        "references": len(graph.references),
        "terms": len(graph.terms),
        "seconds": round(seconds, 2),
    }
    if as_json:
        _print_json(summary)
        return
    kinds = ", ".join(f"{count} {kind}" for kind, count in summary["items_by_kind"].items())
    stdout.print(
        f"ingested {book_id}: {graph.book.page_count} pages, {len(graph.entities)} items"
        f" ({kinds or 'none'}), {len(graph.references)} references, {len(graph.terms)} terms"
        f" in {seconds:.1f} s"
    )


def _ingest_with_progress(services: Services, pdf: Path, book_id: str):
    started = time.perf_counter()
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
        disable=not stderr.is_terminal,
    ) as progress:
        task = progress.add_task(f"reading {pdf.name}", total=None)

        def on_page(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        graph = services.ingest(pdf, book_id, progress=on_page)
    return graph, time.perf_counter() - started


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def books(ctx: click.Context, as_json: bool) -> None:
    """List the ingested books.

    Example: lemmagraph books --json
    """
    summaries = _services(ctx).store.books()
    if as_json:
        _print_json(
            [
                {"book": asdict(summary.book), "items": summary.entity_count,
                 "items_by_kind": summary.counts_by_kind}
                for summary in summaries
            ]
        )
        return
    if not summaries:
        stdout.print("no books yet: ingest one with 'lemmagraph ingest PATH.pdf'")
        return
    table = Table("book", "title", "pages", "items", "ingested")
    for summary in summaries:
        book = summary.book
        table.add_row(book.id, book.title, str(book.page_count), str(summary.entity_count), book.ingested_at)
    stdout.print(table)


@main.command()
@click.argument("book_id", metavar="BOOK")
@click.option("--yes", is_flag=True, help="Delete without asking, even on a terminal.")
@click.pass_context
def delete(ctx: click.Context, book_id: str, yes: bool) -> None:
    """Delete a book: its items, terms, edges, Lean target records and vectors.

    Lean files already written into the workspace stay on disk.

    Example: lemmagraph delete oor --yes
    """
    services = _services(ctx)
    summary = services.store.book(book_id)
    if not yes and sys.stdin.isatty():
        click.confirm(f"delete {book_id} with its {summary.entity_count} items?", abort=True)
    services.store.delete_book(book_id)
    services.vectors.delete(book_id)
    stdout.print(f"deleted {book_id}")


@main.command()
@click.argument("book_id", metavar="BOOK")
@click.argument("ref", metavar="REF")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def show(ctx: click.Context, book_id: str, ref: str, as_json: bool) -> None:
    """Show one item, its citations and its Lean targets.

    Example: lemmagraph show oor "Exercise 3.4"
    """
    services = _services(ctx)
    store = services.store
    entity = resolve_item(store, book_id, ref)
    references = store.references_from(entity.id)
    defined = store.terms_defined_by(entity.id)
    targets = store.targets(entity.id)
    if as_json:
        _print_json(
            {
                **_entity_dict(entity),
                "section": entity.section,
                "text": entity.text,
                "proof": entity.proof,
                "references": [asdict(reference) for reference in references],
                "defines": [term.surface for term in defined],
                "lean_targets": [asdict(target) for target in targets],
                "latest_target": asdict(targets[-1]) if targets else None,
                "earlier_attempts": max(len(targets) - 1, 0),
            }
        )
        return
    title = f" ({entity.title})" if entity.title else ""
    stdout.print(f"[bold]{entity.label}{title}[/bold]  page {entity.page}  id {entity.id}")
    stdout.print(entity.text, markup=False)
    if entity.proof:
        stdout.print("Proof. " + entity.proof, markup=False)
    if references:
        cited = ", ".join(reference.surface for reference in references)
        stdout.print(f"cites: {cited}", markup=False)
    if defined:
        stdout.print("defines: " + ", ".join(term.surface for term in defined), markup=False)
    if targets:
        _print_target(targets[-1])
        earlier = len(targets) - 1
        stdout.print(f"{earlier} earlier attempt{'s' if earlier != 1 else ''} (lemmagraph show --json lists them)"
                     if earlier else "no earlier attempts", markup=False)


# --- dependencies, prompts and formalization ------------------------------------


@main.command()
@click.argument("book_id", metavar="BOOK")
@click.argument("ref", metavar="REF")
@click.option("--top", default=10, show_default=True, type=click.IntRange(min=1),
              help="How many dependencies to return.")
@click.option("--closure", is_flag=True,
              help="Add what the dependencies' own statements need and order items so each follows what it uses.")
@click.option("--budget", "budget_tokens", type=click.IntRange(min=0), default=None,
              help="With --closure: drop the least needed items until the estimated tokens (characters/4) fit.")
@click.option("--format", "output_format", type=click.Choice(["tree", "json", "dot", "svg"]), default="tree",
              show_default=True, help="Output format; dot and svg draw the dependency graph (svg needs Graphviz).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (same as --format json).")
@click.pass_context
def deps(ctx: click.Context, book_id: str, ref: str, top: int, closure: bool, budget_tokens: int | None,
         output_format: str, as_json: bool) -> None:
    """Recover the items that REF depends on, best first, each with its reasons.

    Example: lemmagraph deps oor "Exercise 3.4" --closure --budget 2000 --format dot
    """
    from commands.dependency_output import context_dict, render_dot, render_svg

    if budget_tokens is not None and not closure:
        raise click.UsageError("--budget applies to the closure: add --closure")
    services = _services(ctx)
    target = resolve_item(services.store, book_id, ref)
    if closure:
        context = services.closure(target, top, budget_tokens)
    else:
        context = services.dependencies(target, top)

    output_format = "json" if as_json else output_format
    if output_format == "json":
        _print_json(context_dict(context))
    elif output_format == "dot":
        click.echo(render_dot(context), nl=False)
    elif output_format == "svg":
        click.echo(render_svg(render_dot(context)), nl=False)
    else:
        _print_context(context)


def _print_context(context: DependencyContext) -> None:
    from commands.dependency_output import print_tree

    print_tree(stdout, context)


@main.command()
@click.argument("text")
@click.option("--book", "book_id", default=None, help="Search only this book [default: every book].")
@click.option("--kind", type=click.Choice(KINDS), default=None, help="Return only items of this kind.")
@click.option("--top", default=10, show_default=True, type=click.IntRange(min=1), help="How many items to return.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def search(ctx: click.Context, text: str, book_id: str | None, kind: str | None, top: int, as_json: bool) -> None:
    """Find the items closest in meaning to TEXT; loads the embedding model.

    Example: lemmagraph search "basic feasible solution" --book oor --kind definition
    """
    from retrieval.search import SemanticSearcher

    services = _services(ctx)
    searcher = SemanticSearcher(services.store, services.vectors, services.embedder)
    try:
        hits = searcher.search(text, book_ids=[book_id] if book_id else None, kind=kind, top=top)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="TEXT") from error
    if as_json:
        _print_json([
            {"book_id": hit.entity.book_id, **_entity_dict(hit.entity), "similarity": round(hit.similarity, 4)}
            for hit in hits
        ])
        return
    if not hits:
        stdout.print("no items found: ingest a book first with 'lemmagraph ingest PATH.pdf'")
    for hit in hits:
        entity = hit.entity
        title = f" ({entity.title})" if entity.title else ""
        stdout.print(f"{hit.similarity:.2f}  {entity.book_id}  {entity.label}{title}, page {entity.page}", markup=False)


_CONTEXT_WINDOW_HELP = ("Tokens the model accepts, prompt and answer together; context items are dropped, "
                        "least needed first, to fit [env LEMMAGRAPH_CONTEXT_WINDOW; default 32768].")


@main.command()
@click.argument("book_id", metavar="BOOK")
@click.argument("ref", metavar="REF")
@click.option("--top", default=10, show_default=True, type=click.IntRange(min=1),
              help="How many ranked dependencies seed the context closure.")
@click.option("--context-window", type=click.IntRange(min=1), default=None, help=_CONTEXT_WINDOW_HELP)
@click.pass_context
def prompt(ctx: click.Context, book_id: str, ref: str, top: int, context_window: int | None) -> None:
    """Print exactly the prompt that `formalize` would send for REF.

    The dropped context items, if any, are listed on stderr.

    Example: lemmagraph prompt oor "Exercise 3.4" --context-window 8192
    """
    services = _services(ctx, context_window=context_window)
    target = resolve_item(services.store, book_id, ref)
    built = services.formalization_prompt(services.formalization_context(target, top))
    click.echo(built.render(), nl=False)
    stderr.print(
        f"{len(built.context_ids)} context items, about {built.estimated_tokens} tokens"
        + (f"; dropped to fit the context window: {', '.join(built.dropped_ids)}" if built.dropped_ids else ""),
        markup=False,
        soft_wrap=True,
    )


@main.command()
@click.argument("book_id", metavar="BOOK")
@click.argument("ref", metavar="[REF]", required=False)
@click.option("--chapter", default=None, help="Formalize every item of this chapter, such as 3.")
@click.option("--section", default=None, help='Formalize every item of this section, such as "3.2".')
@click.option("--all", "whole_book", is_flag=True, help="Formalize every item of the book.")
@click.option("--endpoints", "endpoints_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="TOML file with an [[endpoints]] array for a batch [default: [[endpoints]] in the "
                   "workspace lemmagraph.toml, else the single --base-url endpoint].")
@click.option("--escalate", default=None,
              help="Comma-separated endpoint or model names, small first: a target that fails its checks "
                   "or review on one is sent to the next.")
@click.option("--redo", is_flag=True, help="In a batch, formalize items again even when one is already accepted.")
@click.option("--top", default=10, show_default=True, type=click.IntRange(min=1),
              help="How many ranked dependencies seed the context closure.")
@click.option("--base-url", default=None, help="OpenAI-compatible endpoint [env OPENAI_BASE_URL].")
@click.option("--api-key", default=None, help="API key of the endpoint [env OPENAI_API_KEY].")
@click.option("--model", default=None, help="Model name [env LEMMAGRAPH_MODEL].")
@click.option("--timeout", default=None, type=float, help="Seconds to wait for one answer [default 120].")
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
              base_url: str | None, api_key: str | None, model: str | None, timeout: float | None,
              context_window: int | None, repair_rounds: int | None, no_cache: bool, no_review: bool,
              as_json: bool) -> None:
    """Generate, check and store Lean 4 targets for REF, or for a chapter, a section or the whole book.

    Each run stores a new attempt and keeps the earlier ones. A batch formalizes
    the items an item needs first, runs independent items at once on every
    endpoint, and skips items already accepted, so a killed batch resumes where it
    stopped. Exit status 1 when a target failed its checks.

    Example: lemmagraph formalize oor --chapter 3 --endpoints endpoints.toml --escalate small,large
    """
    scopes = sum(1 for given in (ref, chapter, section, whole_book) if given)
    if scopes != 1:
        raise click.UsageError("give exactly one of REF, --chapter, --section or --all")
    if ref is None:
        _formalize_batch(ctx, book_id, chapter, section, top, endpoints_file, escalate, redo, as_json,
                         dict(base_url=base_url, api_key=api_key, model=model, timeout=timeout,
                              context_window=context_window, repair_rounds=repair_rounds,
                              no_cache=no_cache, no_review=no_review))
        return
    if endpoints_file or escalate or redo:
        raise click.UsageError("--endpoints, --escalate and --redo apply to a batch: use --chapter, --section or --all")
    services = _services(ctx, base_url=base_url, api_key=api_key, model=model, timeout=timeout,
                         context_window=context_window, repair_rounds=repair_rounds,
                         no_cache=no_cache, no_review=no_review)
    formalizer = services.formalizer()
    target = resolve_item(services.store, book_id, ref)
    result = formalizer.run(services.formalization_context(target, top))
    if as_json:
        _print_json(asdict(result))
    else:
        _print_target(result)
    if result.status == "failed":
        raise LemmagraphError(f"the Lean target of {target.label} failed: {result.status_reason}")


def _formalize_batch(ctx: click.Context, book_id: str, chapter: str | None, section: str | None, top: int,
                     endpoints_file: Path | None, escalate: str | None, redo: bool, as_json: bool,
                     flags: dict) -> None:
    from commands.batch_output import BatchProgress, makespan_lines, report_dict, summary_tables
    from commands.formalize_batch import run_formalize_batch

    services = _services(ctx, **flags)
    services.store.book(book_id)
    tiers = [name.strip() for name in escalate.split(",") if name.strip()] if escalate else None
    with BatchProgress(stderr) as progress:
        report = run_formalize_batch(services, book_id, chapter=chapter, section=section, top=top,
                                     endpoints_file=endpoints_file, escalate=tiers, redo=redo,
                                     progress=progress.update)
    if as_json:
        _print_json(report_dict(report))
    else:
        for table in summary_tables(report):
            stdout.print(table)
        for line in makespan_lines(report):
            stdout.print(line, markup=False)
    failed = report.count("failed")
    if failed:
        raise LemmagraphError(f"{failed} of {len(report.results)} targets failed; rerun to retry only those")


def _print_target(target: LeanTarget) -> None:
    reason = f" ({target.status_reason})" if target.status_reason else ""
    stdout.print(f"[bold]Lean target {target.id}[/bold]: {target.status}{reason}", highlight=False)
    cost = f"{target.cost_usd:.4f} USD" if target.price_known else "unknown price"
    cached = f", {target.cached_calls} answers from cache" if target.cached_calls else ""
    stdout.print(
        f"model {target.model}, {target.prompt_tokens} prompt + {target.completion_tokens} completion tokens, "
        f"{cost}{cached}, {target.repair_rounds} repair rounds, verdict {target.verdict or 'none'}",
        markup=False,
    )
    if target.dropped_context_ids:
        stdout.print("dropped from the context: " + ", ".join(target.dropped_context_ids), markup=False)
    stdout.print(target.informal_statement, markup=False)
    stdout.print(target.lean_code, markup=False)
    stdout.print(target.check_output, markup=False)
    if target.lean_path:
        stdout.print(f"written to {target.lean_path}", markup=False)


# --- export and evaluation -----------------------------------------------------


@main.command()
@click.argument("book_id", metavar="BOOK")
@click.option("--format", "export_format", type=click.Choice(["json", "cam-jsonl", "blueprint"]), default="json",
              show_default=True,
              help="json: items and edges; cam-jsonl: one benchmark record per formalized exercise; "
                   "blueprint: leanblueprint LaTeX of the items.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of stdout.")
@click.pass_context
def export(ctx: click.Context, book_id: str, export_format: str, output: Path | None) -> None:
    """Export a book's items and edges, its formalized exercises, or a blueprint.

    Example: lemmagraph export oor --format cam-jsonl -o oor.jsonl
    """
    from formalize.blueprint import export_blueprint
    from formalize.export import export_cam_jsonl, export_json

    store = _services(ctx).store
    if export_format == "cam-jsonl":
        document = export_cam_jsonl(store, book_id)
    elif export_format == "blueprint":
        document = export_blueprint(store, book_id)
    else:
        document = json.dumps(export_json(store, book_id), indent=2, ensure_ascii=False) + "\n"
    if output:
        output.write_text(document, encoding="utf-8")
        stderr.print(f"wrote {output}")
    else:
        click.echo(document, nl=False)


@main.command(name="eval")
@click.argument("book_id", metavar="BOOK")
@click.option("--gold", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="Gold file (gold.json) of the book.")
@click.option("--task", type=click.Choice(["items", "deps"]), default="items", show_default=True,
              help="items: extracted items and references; deps: dependency recovery against gold edges.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--verbose", "list_errors", is_flag=True,
              help="List every missed and spurious item and edge (items), or add per-kind scores (deps).")
@click.pass_context
def evaluate(ctx: click.Context, book_id: str, gold: Path, task: str, as_json: bool, list_errors: bool) -> None:
    """Score the stored items and references of BOOK, or its dependency recovery, against a gold file.

    Example: lemmagraph eval oor --gold ../shared/corpus/open-optimization-or/gold.json --task deps
    """
    if task == "deps":
        from commands.dependency_evaluation import print_dependency_report
        from retrieval.evaluation import evaluate_dependencies

        services = _services(ctx)
        evaluation = evaluate_dependencies(services.store, services.vectors, book_id, gold)
        if as_json:
            _print_json(evaluation.to_dict())
            return
        print_dependency_report(stdout, evaluation, verbose=list_errors)
        return

    from commands.evaluation import evaluate_stored_book, print_report

    report = evaluate_stored_book(_services(ctx).store, book_id, gold)
    if as_json:
        _print_json(report.to_dict())
        return
    print_report(stdout, report, verbose=list_errors)


# --- demo ------------------------------------------------------------------------


@main.command()
@click.option("--base-url", default=None, help="OpenAI-compatible endpoint [env OPENAI_BASE_URL].")
@click.option("--api-key", default=None, help="API key of the endpoint [env OPENAI_API_KEY].")
@click.option("--model", default=None, help="Model name [env LEMMAGRAPH_MODEL].")
@click.pass_context
def demo(ctx: click.Context, base_url: str | None, api_key: str | None, model: str | None) -> None:
    """Run the whole pipeline on the bundled sample chapter.

    Renders the sample to PDF, ingests it, recovers the dependencies of one
    exercise, prints its prompt, and formalizes it when an endpoint is configured.

    Example: lemmagraph demo
    """
    from ingest.render import render_sample_chapter

    services = _services(ctx, base_url=base_url, api_key=api_key, model=model)
    pdf = render_sample_chapter(services.workspace.home / "samples" / "convexity.pdf")
    stderr.print(f"rendered the sample chapter to {pdf}")
    graph, seconds = _ingest_with_progress(services, pdf, SAMPLE_BOOK_ID)
    stdout.print(f"ingested {SAMPLE_BOOK_ID}: {len(graph.entities)} items, "
                 f"{len(graph.references)} references in {seconds:.1f} s")

    exercise = _demo_exercise(graph)
    stdout.rule(f"dependencies of {exercise.label}")
    _print_context(services.dependencies(exercise, top=6))

    stdout.rule(f"prompt for {exercise.label}")
    context = services.formalization_context(exercise, top=6)
    click.echo(services.formalization_prompt(context).render())

    stdout.rule("formalization")
    from formalize.llm import require_endpoint

    try:
        require_endpoint(services.llm_settings())
    except LlmError as error:
        stdout.print(f"skipped: {error}", markup=False)
        return
    _print_target(services.formalizer().run(context))


def _demo_exercise(graph) -> Entity:
    """Pick the first exercise that cites another item, else the first exercise, else any item."""
    citing = {reference.source_id for reference in graph.references}
    exercises = [entity for entity in graph.entities if entity.kind == "exercise"]
    for entity in exercises:
        if entity.id in citing:
            return entity
    if exercises:
        return exercises[0]
    if not graph.entities:
        raise LemmagraphError("the sample chapter produced no items: the ingest stage is broken")
    return graph.entities[-1]


def run() -> None:
    """Entry point that turns Lemmagraph errors into one line on stderr and exit status 1."""
    try:
        status = main(standalone_mode=False)
    except click.exceptions.Abort:
        stderr.print("aborted")
        sys.exit(1)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except LemmagraphError as error:
        stderr.print(f"error: {error}", markup=False)
        sys.exit(1)
    except BrokenPipeError:
        # The reader of stdout went away (for example `| head`); that is not a failure.
        sys.stderr.close()
        sys.exit(0)
    sys.exit(status if isinstance(status, int) else 0)


if __name__ == "__main__":
    run()

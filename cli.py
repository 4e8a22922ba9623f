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
from kg.models import Entity, LeanTarget, book_id_from_filename, is_valid_book_id
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
@click.option("-v", "--verbose", count=True, help="Log more to stderr (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Log only errors.")
@click.pass_context
def main(ctx: click.Context, home: Path | None, store: str | None, verbose: int, quiet: bool) -> None:
    """Turn a textbook PDF into a graph of its items and generate Lean 4 targets.

    Example: lemmagraph ingest book.pdf --book oor && lemmagraph deps oor "Exercise 3.4"
    """
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    ctx.obj = {"home": home, "store": store}


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
    for target in targets:
        _print_target(target)


# --- dependencies, prompts and formalization ------------------------------------


@main.command()
@click.argument("book_id", metavar="BOOK")
@click.argument("ref", metavar="REF")
@click.option("--top", default=10, show_default=True, type=click.IntRange(min=1),
              help="How many dependencies to return.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def deps(ctx: click.Context, book_id: str, ref: str, top: int, as_json: bool) -> None:
    """Recover the items that REF depends on, best first, each with its reasons.

    Example: lemmagraph deps oor "Exercise 3.4" --top 5
    """
    services = _services(ctx)
    target = resolve_item(services.store, book_id, ref)
    context = services.dependencies(target, top)
    if as_json:
        _print_json(_context_dict(context))
        return
    _print_context(context)


def _context_dict(context: DependencyContext) -> dict:
    return {
        "target": _entity_dict(context.target),
        "dependencies": [
            {**_entity_dict(dependency.entity), "score": dependency.score, "reasons": dependency.reasons}
            for dependency in context.dependencies
        ],
    }


def _print_context(context: DependencyContext) -> None:
    stdout.print(f"[bold]{context.target.label}[/bold] (page {context.target.page}) depends on:")
    if not context.dependencies:
        stdout.print("  nothing found")
    for dependency in context.dependencies:
        entity = dependency.entity
        title = f" ({entity.title})" if entity.title else ""
        stdout.print(f"  {dependency.score:.2f}  {entity.label}{title}, page {entity.page}", markup=False)
        for reason in dependency.reasons:
            stdout.print(f"          - {reason}", markup=False)


@main.command()
@click.argument("book_id", metavar="BOOK")
@click.argument("ref", metavar="REF")
@click.option("--top", default=10, show_default=True, type=click.IntRange(min=1),
              help="How many dependencies go into the prompt.")
@click.pass_context
def prompt(ctx: click.Context, book_id: str, ref: str, top: int) -> None:
    """Print exactly the prompt that `formalize` would send for REF.

    Example: lemmagraph prompt oor "Exercise 3.4"
    """
    from formalize.prompt import PromptBuilder

    services = _services(ctx)
    target = resolve_item(services.store, book_id, ref)
    context = services.dependencies(target, top)
    click.echo(PromptBuilder().build(context).render())


@main.command()
@click.argument("book_id", metavar="BOOK")
@click.argument("ref", metavar="REF")
@click.option("--top", default=10, show_default=True, type=click.IntRange(min=1),
              help="How many dependencies go into the prompt.")
@click.option("--base-url", default=None, help="OpenAI-compatible endpoint [env OPENAI_BASE_URL].")
@click.option("--api-key", default=None, help="API key of the endpoint [env OPENAI_API_KEY].")
@click.option("--model", default=None, help="Model name [env LEMMAGRAPH_MODEL].")
@click.option("--timeout", default=None, type=float, help="Seconds to wait for one answer [default 120].")
@click.option("--json", "as_json", is_flag=True, help="Print the stored target as JSON.")
@click.pass_context
def formalize(ctx: click.Context, book_id: str, ref: str, top: int, base_url: str | None,
              api_key: str | None, model: str | None, timeout: float | None, as_json: bool) -> None:
    """Generate, check and store a Lean 4 target for REF from its graph context.

    Example: lemmagraph formalize oor "Exercise 3.4" --base-url http://127.0.0.1:8000/v1 --model m
    """
    services = _services(ctx, base_url=base_url, api_key=api_key, model=model, timeout=timeout)
    formalizer = services.formalizer()
    target = resolve_item(services.store, book_id, ref)
    context = services.dependencies(target, top)
    result = formalizer.run(context)
    if as_json:
        _print_json(asdict(result))
        return
    _print_target(result)


def _print_target(target: LeanTarget) -> None:
    stdout.print(f"[bold]Lean target {target.id}[/bold]: {target.status} (model {target.model})")
    stdout.print(target.informal_statement, markup=False)
    stdout.print(target.lean_code, markup=False)
    stdout.print(target.check_output, markup=False)
    if target.lean_path:
        stdout.print(f"written to {target.lean_path}", markup=False)


# --- export and evaluation -----------------------------------------------------


@main.command()
@click.argument("book_id", metavar="BOOK")
@click.option("--format", "export_format", type=click.Choice(["json"]), default="json",
              show_default=True, help="Export format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of stdout.")
@click.pass_context
def export(ctx: click.Context, book_id: str, export_format: str, output: Path | None) -> None:
    """Export a book's items and edges.

    Example: lemmagraph export oor --format json -o oor.json
    """
    from formalize.export import export_json

    document = json.dumps(export_json(_services(ctx).store, book_id), indent=2, ensure_ascii=False)
    if output:
        output.write_text(document + "\n", encoding="utf-8")
        stderr.print(f"wrote {output}")
    else:
        click.echo(document)


@main.command(name="eval")
@click.argument("book_id", metavar="BOOK")
@click.option("--gold", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="Gold file (gold.json) of the book.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--verbose", "list_errors", is_flag=True, help="List every missed and spurious item and edge.")
@click.pass_context
def evaluate(ctx: click.Context, book_id: str, gold: Path, as_json: bool, list_errors: bool) -> None:
    """Score the stored items and references of BOOK against a gold file.

    Example: lemmagraph eval oor --gold ../shared/corpus/open-optimization-or/gold.json
    """
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
    from formalize.prompt import PromptBuilder
    from ingest.render import render_sample_chapter

    services = _services(ctx, base_url=base_url, api_key=api_key, model=model)
    pdf = render_sample_chapter(services.workspace.home / "samples" / "convexity.pdf")
    stderr.print(f"rendered the sample chapter to {pdf}")
    graph, seconds = _ingest_with_progress(services, pdf, SAMPLE_BOOK_ID)
    stdout.print(f"ingested {SAMPLE_BOOK_ID}: {len(graph.entities)} items, "
                 f"{len(graph.references)} references in {seconds:.1f} s")

    exercise = _demo_exercise(graph)
    stdout.rule(f"dependencies of {exercise.label}")
    context = services.dependencies(exercise, top=6)
    _print_context(context)

    stdout.rule(f"prompt for {exercise.label}")
    click.echo(PromptBuilder().build(context).render())

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

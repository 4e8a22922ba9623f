"""Commands that read books in and out: ingest, books, delete, show, export and eval."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from commands.console import print_json, print_target, services_for, stderr, stdout
from commands.dependency_output import entity_dict
from commands.references import resolve_item
from commands.services import Services
from kg.models import book_id_from_filename, is_valid_book_id


@click.command()
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
    services = services_for(ctx)
    services.open_store()
    graph, seconds = ingest_with_progress(services, pdf, book_id)

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
        print_json(summary)
        return
    kinds = ", ".join(f"{count} {kind}" for kind, count in summary["items_by_kind"].items())
    stdout.print(
        f"ingested {book_id}: {graph.book.page_count} pages, {len(graph.entities)} items"
        f" ({kinds or 'none'}), {len(graph.references)} references, {len(graph.terms)} terms"
        f" in {seconds:.1f} s"
    )


def ingest_with_progress(services: Services, pdf: Path, book_id: str):
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


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def books(ctx: click.Context, as_json: bool) -> None:
    """List the ingested books.

    Example: lemmagraph books --json
    """
    summaries = services_for(ctx).store.books()
    if as_json:
        print_json(
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


@click.command()
@click.argument("book_id", metavar="BOOK")
@click.option("--yes", is_flag=True, help="Delete without asking, even on a terminal.")
@click.pass_context
def delete(ctx: click.Context, book_id: str, yes: bool) -> None:
    """Delete a book: its items, terms, edges, Lean target records and vectors.

    Lean files already written into the workspace stay on disk.

    Example: lemmagraph delete oor --yes
    """
    services = services_for(ctx)
    summary = services.store.book(book_id)
    if not yes and sys.stdin.isatty():
        click.confirm(f"delete {book_id} with its {summary.entity_count} items?", abort=True)
    services.store.delete_book(book_id)
    services.vectors.delete(book_id)
    stdout.print(f"deleted {book_id}")


@click.command()
@click.argument("book_id", metavar="BOOK")
@click.argument("ref", metavar="REF")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def show(ctx: click.Context, book_id: str, ref: str, as_json: bool) -> None:
    """Show one item, its citations and its Lean targets.

    Example: lemmagraph show oor "Exercise 3.4"
    """
    services = services_for(ctx)
    store = services.store
    entity = resolve_item(store, book_id, ref)
    references = store.references_from(entity.id)
    section_references = store.section_references_from(entity.id)
    defined = store.terms_defined_by(entity.id)
    targets = store.targets(entity.id)
    if as_json:
        print_json(
            {
                **entity_dict(entity),
                "section": entity.section,
                "text": entity.text,
                "proof": entity.proof,
                "references": [asdict(reference) for reference in references],
                "section_references": [asdict(reference) for reference in section_references],
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
        stdout.print(entity.proof, markup=False)
    if references:
        cited = ", ".join(reference.surface for reference in references)
        stdout.print(f"cites: {cited}", markup=False)
    if section_references:
        numbers = {section.id: section.number for section in store.sections(entity.book_id)}
        cited_ids = dict.fromkeys(reference.section_id for reference in section_references)
        cited_sections = ", ".join(f"§{numbers.get(section_id) or section_id}" for section_id in cited_ids)
        stdout.print(f"cites sections: {cited_sections}", markup=False)
    if defined:
        stdout.print("defines: " + ", ".join(term.surface for term in defined), markup=False)
    if targets:
        print_target(targets[-1])
        earlier = len(targets) - 1
        stdout.print(f"{earlier} earlier attempt{'s' if earlier != 1 else ''} (lemmagraph show --json lists them)"
                     if earlier else "no earlier attempts", markup=False)


@click.command()
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

    store = services_for(ctx).store
    record_summary = ""  # such as "3 records", for the cam-jsonl format only
    if export_format == "cam-jsonl":
        document = export_cam_jsonl(store, book_id)
        count = document.count("\n")
        record_summary = f"{count} record" + ("" if count == 1 else "s")
    elif export_format == "blueprint":
        document = export_blueprint(store, book_id)
    else:
        document = json.dumps(export_json(store, book_id), indent=2, ensure_ascii=False) + "\n"
    if output:
        output.write_text(document, encoding="utf-8")
        written = f"wrote {record_summary} to {output}" if record_summary else f"wrote {output}"
        stderr.print(written, markup=False, highlight=False)
    else:
        click.echo(document, nl=False)
        if record_summary:
            stderr.print(record_summary, markup=False, highlight=False)
    if export_format == "cam-jsonl" and not document:
        stderr.print(
            f"warning: {book_id} has no exercise with a Lean target, so the cam-jsonl export is empty. "
            f'Formalize exercises first, such as: lemmagraph formalize {book_id} "Exercise 1.1"',
            markup=False,
            highlight=False,
        )


@click.command(name="eval")
@click.argument("book_id", metavar="BOOK")
@click.option("--gold", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="Gold file (gold.json) of the book.")
@click.option("--task", type=click.Choice(["items", "deps", "context"]), default="items", show_default=True,
              help="items: extracted items and references; deps: dependency recovery against gold edges; "
                   "context: precision, recall and size of prompt contexts, without and with the similarity floor.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--verbose", "list_errors", is_flag=True,
              help="List every missed and spurious item and edge (items), or add per-kind scores (deps, context).")
@click.pass_context
def evaluate(ctx: click.Context, book_id: str, gold: Path, task: str, as_json: bool, list_errors: bool) -> None:
    """Score the stored items and references of BOOK, its dependency recovery or its prompt contexts against gold.

    Example: lemmagraph eval oor --gold ../shared/corpus/open-optimization-or/gold.json --task deps
    """
    if task == "context":
        from commands.context_evaluation import print_context_report
        from retrieval.context_evaluation import evaluate_context

        services = services_for(ctx)
        context_evaluation = evaluate_context(services.store, services.vectors, book_id, gold)
        if as_json:
            print_json(context_evaluation.to_dict())
            return
        print_context_report(stdout, context_evaluation, verbose=list_errors)
        return
    if task == "deps":
        from commands.dependency_evaluation import print_dependency_report
        from retrieval.evaluation import evaluate_dependencies

        services = services_for(ctx)
        evaluation = evaluate_dependencies(services.store, services.vectors, book_id, gold)
        if as_json:
            print_json(evaluation.to_dict())
            return
        print_dependency_report(stdout, evaluation, verbose=list_errors)
        return

    from commands.evaluation import evaluate_stored_book, print_report

    report = evaluate_stored_book(services_for(ctx).store, book_id, gold)
    if report.items.gold and not report.items.true_positives:
        stderr.print(
            f"warning: no item of {book_id} matches {gold}: check that the gold file belongs to this book",
            markup=False,
        )
    if as_json:
        print_json(report.to_dict())
        return
    print_report(stdout, report, verbose=list_errors)

"""Commands that recover dependencies and search items: deps and search."""

from __future__ import annotations

import click

from commands.console import print_context, print_json, services_for, stdout
from commands.dependency_output import entity_dict
from commands.references import resolve_item
from kg.models import KINDS
from retrieval.closure import DEFAULT_SIMILARITY_FLOOR


@click.command()
@click.argument("book_id", metavar="BOOK")
@click.argument("ref", metavar="REF")
@click.option("--top", default=10, show_default=True, type=click.IntRange(min=1),
              help="How many dependencies to return.")
@click.option("--closure", is_flag=True,
              help="Add what the dependencies' own statements need and order items so each follows what it uses.")
@click.option("--budget", "budget_tokens", type=click.IntRange(min=0), default=None,
              help="With --closure: drop the least needed items until the estimated tokens (characters/4) fit.")
@click.option("--similarity-floor", type=click.FloatRange(0.0, 1.0), default=None,
              help="With --closure: the minimum score at which an item that only semantic similarity proposed, "
                   "other than a definition or notation, seeds the closure; 0 seeds every one "
                   f"[default: {DEFAULT_SIMILARITY_FLOOR}].")
@click.option("--format", "output_format", type=click.Choice(["tree", "json", "dot", "svg"]), default="tree",
              show_default=True, help="Output format; dot and svg draw the dependency graph (svg needs Graphviz).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (same as --format json).")
@click.pass_context
def deps(ctx: click.Context, book_id: str, ref: str, top: int, closure: bool, budget_tokens: int | None,
         similarity_floor: float | None, output_format: str, as_json: bool) -> None:
    """Recover the items that REF depends on, best first, each with its reasons.

    Example: lemmagraph deps oor "Exercise 3.4" --closure --budget 2000 --format dot
    """
    from commands.dependency_output import context_dict, render_dot, render_svg

    if budget_tokens is not None and not closure:
        raise click.UsageError("--budget applies to the closure: add --closure")
    if similarity_floor is not None and not closure:
        raise click.UsageError("--similarity-floor applies to the closure: add --closure")
    services = services_for(ctx)
    target = resolve_item(services.store, book_id, ref)
    if closure:
        floor = DEFAULT_SIMILARITY_FLOOR if similarity_floor is None else similarity_floor
        context = services.closure(target, top, budget_tokens, similarity_floor=floor)
    else:
        context = services.dependencies(target, top)

    output_format = "json" if as_json else output_format
    if output_format == "json":
        print_json(context_dict(context))
    elif output_format == "dot":
        click.echo(render_dot(context), nl=False)
    elif output_format == "svg":
        click.echo(render_svg(render_dot(context)), nl=False)
    else:
        print_context(context)


@click.command()
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

    services = services_for(ctx)
    searcher = SemanticSearcher(services.store, services.vectors, services.embedder)
    try:
        hits = searcher.search(text, book_ids=[book_id] if book_id else None, kind=kind, top=top)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="TEXT") from error
    if as_json:
        print_json([
            {"book_id": hit.entity.book_id, **entity_dict(hit.entity), "similarity": round(hit.similarity, 4)}
            for hit in hits
        ])
        return
    if not hits:
        stdout.print("no items found: ingest a book first with 'lemmagraph ingest PATH.pdf'")
    for hit in hits:
        entity = hit.entity
        title = f" ({entity.title})" if entity.title else ""
        stdout.print(f"{hit.similarity:.2f}  {entity.book_id}  {entity.label}{title}, page {entity.page}", markup=False)

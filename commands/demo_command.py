"""The demo command: the whole pipeline on the bundled sample chapter."""

from __future__ import annotations

import click

from commands.console import print_context, print_target, services_for, stderr, stdout
from commands.library_commands import ingest_with_progress
from kg.errors import LemmagraphError, LlmError
from kg.models import Entity

SAMPLE_BOOK_ID = "sample-convexity"


@click.command()
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

    services = services_for(ctx, base_url=base_url, api_key=api_key, model=model)
    pdf = render_sample_chapter(services.workspace.home / "samples" / "convexity.pdf")
    stderr.print(f"rendered the sample chapter to {pdf}")
    graph, seconds = ingest_with_progress(services, pdf, SAMPLE_BOOK_ID)
    stdout.print(f"ingested {SAMPLE_BOOK_ID}: {len(graph.entities)} items, "
                 f"{len(graph.references)} references in {seconds:.1f} s")

    exercise = _demo_exercise(graph)
    stdout.rule(f"dependencies of {exercise.label}")
    print_context(services.dependencies(exercise, top=6))

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
    print_target(services.formalizer().run(context))


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

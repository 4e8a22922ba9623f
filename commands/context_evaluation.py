"""`lemmagraph eval --task context`: print how much of each prompt context the gold edges need."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from retrieval.context_evaluation import ALL_SOURCES, ContextEvaluation


def print_context_report(console: Console, evaluation: ContextEvaluation, *, verbose: bool) -> None:
    """Print one table per source group with a row per similarity floor; `verbose` adds each source kind."""
    groups = [ALL_SOURCES, *sorted({group for run in evaluation.runs for group in run.groups} - {ALL_SOURCES})]
    printed_groups = groups if verbose else [ALL_SOURCES]
    for group in printed_groups:
        title = "all gold sources" if group == ALL_SOURCES else f"gold sources of kind {group}"
        table = Table(
            "floor", "sources", "precision", "direct P", "recall", "items", "tokens",
            title=title,
        )
        for run in evaluation.runs:
            score = run.groups.get(group)
            if score is None:
                continue
            table.add_row(
                f"{run.similarity_floor:.2f}",
                str(score.sources),
                f"{score.precision:.3f}",
                f"{score.direct_precision:.3f}",
                f"{score.recall:.3f}",
                f"{score.mean_items:.1f}",
                f"{score.mean_tokens:.0f}",
            )
        console.print(table)

    console.print(
        f"{evaluation.gold_sources} gold sources with edges; "
        f"{len(evaluation.skipped_sources)} skipped because no stored item matches them; "
        f"contexts seeded by the top {evaluation.top} dependencies, as `lemmagraph prompt` builds them"
    )
    console.print(
        "floor: the similarity floor of the closure seeds (0 seeds every proposal). "
        "precision: share of context items that the source needs through gold edges at any depth; "
        "direct P counts direct gold targets only. recall: share of direct gold targets in the context. "
        "items and tokens: means per source, tokens estimated as characters / 4 of the context items."
    )
    if not verbose:
        console.print("add --verbose for scores by source kind and the skipped sources")
        return
    console.print(f"\n[bold]skipped sources[/bold] ({len(evaluation.skipped_sources)})")
    for gold_id in evaluation.skipped_sources:
        console.print(f"  {gold_id}", markup=False)

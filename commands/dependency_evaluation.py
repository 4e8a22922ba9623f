"""`lemmagraph eval --task deps`: print how well dependency recovery finds the gold edges."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from retrieval.evaluation import RECALL_CUTOFFS, DependencyEvaluation


def print_dependency_report(console: Console, evaluation: DependencyEvaluation, *, verbose: bool) -> None:
    """Print one table per gold edge kind with a row per variant; `verbose` adds the per-kind groups."""
    groups = sorted({group for scores in evaluation.variants.values() for group in scores})
    shown = [group for group in groups if verbose or "/" not in group]
    for group in shown:
        table = Table(
            "variant", "sources", "edges",
            *(f"R@{k}" for k in RECALL_CUTOFFS), "MRR", "P@10",
            title=f"gold {group} edges",
        )
        for variant, scores in evaluation.variants.items():
            score = scores.get(group)
            if score is None:
                continue
            table.add_row(
                variant,
                str(score.sources),
                str(score.edges),
                *(f"{score.recall[k]:.3f}" for k in RECALL_CUTOFFS),
                f"{score.mrr:.3f}",
                f"{score.precision_at_10:.3f}",
            )
        console.print(table)

    console.print(
        f"{evaluation.gold_sources} gold sources with edges; "
        f"{len(evaluation.skipped_sources)} skipped because no stored item matches them; "
        f"{len(evaluation.unmatched_targets)} gold targets with no stored item count as misses"
    )
    if not verbose:
        console.print("R@k is recall@k and P@10 precision@10; add --verbose for scores by source kind")
        return
    for heading, ids in (
        ("skipped sources", evaluation.skipped_sources),
        ("unmatched targets", evaluation.unmatched_targets),
    ):
        console.print(f"\n[bold]{heading}[/bold] ({len(ids)})")
        for gold_id in ids:
            console.print(f"  {gold_id}", markup=False)

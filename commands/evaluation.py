"""`lemmagraph eval`: score what the store holds for a book against a gold file."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from ingest.evaluation import ExtractionReport, Score, evaluate_extraction
from kg.models import BookGraph
from kg.store import GraphStore


def evaluate_stored_book(store: GraphStore, book_id: str, gold_path: Path) -> ExtractionReport:
    """Rebuild the book's items and citations from the store and score them against gold."""
    summary = store.book(book_id)
    entities = store.entities(book_id)
    references = [
        reference for entity in entities for reference in store.references_from(entity.id)
    ]
    graph = BookGraph(book=summary.book, entities=entities, references=references)
    return evaluate_extraction(graph, gold_path)


def print_report(console: Console, report: ExtractionReport, *, verbose: bool) -> None:
    table = Table("items", "gold", "found", "matched", "precision", "recall", "F1")
    for kind, score in sorted(report.items_by_kind.items()):
        table.add_row(kind, *_score_cells(score))
    table.add_row("[bold]all[/bold]", *_score_cells(report.items))
    console.print(table)
    console.print(f"page accuracy of matched items: {report.page_accuracy:.3f}")
    correct_titles = report.titled_items - len(report.wrong_titles)
    console.print(
        f"title accuracy of matched items with a gold title: {report.title_accuracy:.3f} "
        f"({correct_titles} of {report.titled_items}); "
        f"{len(report.spurious_titles)} titles stored on items that gold prints untitled"
    )

    references = report.references
    console.print(
        f"REFERENCES edges vs gold ref edges: precision {references.precision:.3f}, "
        f"recall {references.recall:.3f} ({references.true_positives} matched, "
        f"{references.predicted} found, {references.gold} gold)"
    )
    if not verbose:
        return
    for heading, lines in (
        ("missed items", report.missed_items),
        ("spurious items", report.spurious_items),
        ("wrong pages", report.wrong_pages),
        ("wrong titles", report.wrong_titles),
        ("spurious titles", report.spurious_titles),
        ("missed edges", report.missed_edges),
        ("spurious edges", report.spurious_edges),
    ):
        console.print(f"\n[bold]{heading}[/bold] ({len(lines)})")
        for line in lines:
            console.print(f"  {line}", markup=False)


def _score_cells(score: Score) -> list[str]:
    return [
        str(score.gold),
        str(score.predicted),
        str(score.true_positives),
        f"{score.precision:.3f}",
        f"{score.recall:.3f}",
        f"{score.f1:.3f}",
    ]

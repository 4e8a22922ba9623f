"""Render a batch formalization: the live progress on stderr, the summary table and the JSON report."""

from __future__ import annotations

from dataclasses import asdict

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from formalize.batch import ACCEPTED_STATUS, FAILED_STATUS, NOT_RUN_STATUS, SKIPPED_STATUS, BatchReport


def _money(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.4f}"


def endpoint_table(report: BatchReport) -> Table:
    """Return one row per endpoint: accepted, rejected, faults, running, breaker, tokens and cost."""
    table = Table("endpoint", "model", "accepted", "rejected", "faults", "429s", "running", "breaker",
                  "prompt tok", "completion tok", "cost USD", title="endpoints")
    for usage in report.endpoints:
        table.add_row(
            usage.name,
            usage.model,
            str(usage.accepted),
            str(usage.rejected),
            str(usage.faults),
            str(usage.rate_limited),
            str(usage.running),
            usage.breaker,
            str(usage.prompt_tokens),
            str(usage.completion_tokens),
            _money(usage.cost_usd),
        )
    return table


def progress_view(report: BatchReport) -> Group:
    """Return the live view: totals, elapsed time and cost so far, then the endpoint table."""
    done = report.count(ACCEPTED_STATUS) + report.count(SKIPPED_STATUS)
    line = (
        f"{done}/{len(report.results)} done, {report.count(FAILED_STATUS)} failed, "
        f"{sum(usage.running for usage in report.endpoints)} running, "
        f"{report.actual_seconds:.1f} s elapsed (predicted {report.predicted_seconds:.1f} s), "
        f"cost so far {report.cost_usd:.4f} USD"
    )
    return Group(line, endpoint_table(report))


class BatchProgress:
    """A rich live display on stderr, refreshed by the runner's progress callback.

    It draws nothing when stderr is not a terminal, so logs and pipes stay clean.
    """

    def __init__(self, console: Console) -> None:
        self._live = Live(console=console, refresh_per_second=4, transient=True) if console.is_terminal else None

    def __enter__(self) -> BatchProgress:
        if self._live is not None:
            self._live.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._live is not None:
            self._live.__exit__(*exc_info)

    def update(self, report: BatchReport) -> None:
        if self._live is not None:
            self._live.update(progress_view(report))


def summary_tables(report: BatchReport) -> list[Table]:
    """Return the per-target table and the per-endpoint table of a finished batch."""
    targets = Table(title="targets")
    # The short columns never wrap, so a narrow console squeezes only the checks.
    for name in ("item", "status", "endpoint", "attempts", "cost USD"):
        targets.add_column(name, no_wrap=True)
    targets.add_column("checks or reason")
    for result in report.results:
        style = {ACCEPTED_STATUS: "green", FAILED_STATUS: "red", NOT_RUN_STATUS: "yellow"}.get(result.status, "")
        targets.add_row(
            result.entity.label,
            f"[{style}]{result.status}[/{style}]" if style else result.status,
            result.endpoint or result.model,
            str(len(result.attempts)),
            _money(result.cost_usd),
            result.reason or result.checks,
        )
    return [targets, endpoint_table(report)]


def makespan_lines(report: BatchReport) -> list[str]:
    """Return the makespan against its prediction and lower bounds, and the cost against an all-large run."""
    lines = [f"makespan {report.actual_seconds:.2f} s, predicted {report.predicted_seconds:.2f} s"]
    if report.bound is not None:
        lines.append(
            f"lower bound from the configured seconds per job: {report.bound.seconds:.2f} s "
            f"(critical path {report.bound.critical_path:.2f} s, throughput {report.bound.throughput:.2f} s)"
        )
    if report.observed_bound is not None:
        lines.append(f"lower bound from the observed seconds per job: {report.observed_bound.seconds:.2f} s")
    cost = f"cost {report.cost_usd:.4f} USD"
    if report.all_large_cost_usd is not None:
        cost += f", estimated {report.all_large_cost_usd:.4f} USD with every target on the last tier"
    lines.append(cost)
    return lines


def report_dict(report: BatchReport) -> dict:
    """Return the report as JSON-ready data: the same facts as the summary tables."""
    return {
        "finished": report.finished,
        "makespan_seconds": round(report.actual_seconds, 3),
        "predicted_seconds": round(report.predicted_seconds, 3),
        "lower_bound_seconds": round(report.bound.seconds, 3) if report.bound else None,
        "critical_path_seconds": round(report.bound.critical_path, 3) if report.bound else None,
        "observed_lower_bound_seconds": round(report.observed_bound.seconds, 3) if report.observed_bound else None,
        "cost_usd": round(report.cost_usd, 6),
        "all_large_cost_usd": report.all_large_cost_usd,
        "counts": {
            status: report.count(status)
            for status in (ACCEPTED_STATUS, SKIPPED_STATUS, FAILED_STATUS, NOT_RUN_STATUS)
        },
        "targets": [
            {
                "item_id": result.entity.id,
                "label": result.entity.label,
                "status": result.status,
                "endpoint": result.endpoint,
                "model": result.model,
                "target_id": result.target_id,
                "checks": result.checks,
                "cost_usd": round(result.cost_usd, 6),
                "reason": result.reason,
                "attempts": [asdict(attempt) for attempt in result.attempts],
            }
            for result in report.results
        ],
        "endpoints": [asdict(usage) for usage in report.endpoints],
    }

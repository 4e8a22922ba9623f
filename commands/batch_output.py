"""Render a batch formalization: the live progress on stderr, the summary table and the JSON report."""

from __future__ import annotations

from dataclasses import asdict

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from formalize.batch import (
    ACCEPTED_STATUS,
    FAILED_STATUS,
    NOT_RUN_STATUS,
    SKIPPED_STATUS,
    BatchReport,
    TargetResult,
)


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


def status_text(result: TargetResult) -> str:
    """Return a target's status in the words `show` uses: checked, draft, failed or not run.

    A skipped target names the status of the earlier run's target, such as "skipped: draft".
    """
    if result.status == ACCEPTED_STATUS:
        return result.target_status or ACCEPTED_STATUS
    if result.status == SKIPPED_STATUS:
        return f"{SKIPPED_STATUS}: {result.target_status}" if result.target_status else SKIPPED_STATUS
    return result.status


def summary_tables(report: BatchReport) -> list[Table]:
    """Return the per-target table and the per-endpoint table of a finished batch."""
    targets = Table(title="targets")
    # The short columns never wrap, so a narrow console squeezes only the checks.
    for name in ("item", "status", "endpoint", "attempts", "cost USD"):
        targets.add_column(name, no_wrap=True)
    targets.add_column("checks or reason")
    for result in report.results:
        style = {ACCEPTED_STATUS: "green", FAILED_STATUS: "red", NOT_RUN_STATUS: "yellow"}.get(result.status, "")
        status = status_text(result)
        targets.add_row(
            result.entity.label,
            f"[{style}]{status}[/{style}]" if style else status,
            # Skipped and not-run rows have no endpoint of this batch.
            result.endpoint or "-",
            str(len(result.attempts)),
            _money(result.cost_usd),
            result.reason or result.checks,
        )
    return [targets, endpoint_table(report)]


def counts_line(report: BatchReport) -> str:
    """Return the number of targets per batch status, saying what accepted and skipped mean."""
    return (
        f"{len(report.results)} targets: {report.count(ACCEPTED_STATUS)} accepted (checked or draft), "
        f"{report.count(SKIPPED_STATUS)} skipped (checked or draft in an earlier run), "
        f"{report.count(FAILED_STATUS)} failed, {report.count(NOT_RUN_STATUS)} not run"
    )


def makespan_lines(report: BatchReport) -> list[str]:
    """Return the target counts, the wall time against the schedule's prediction and the least
    possible time, and the cost against an all-large run."""
    lines = [
        counts_line(report),
        f"Wall time {report.actual_seconds:.2f} s. The schedule predicted {report.predicted_seconds:.2f} s "
        "from the configured seconds per job.",
    ]
    if report.bound is not None:
        bound = report.bound
        lines.append(
            f"No schedule could finish under {bound.seconds:.2f} s with the configured seconds per job and the "
            f"endpoints' limits. The longest chain of dependent items takes {bound.critical_path:.2f} s, and the "
            f"endpoints' concurrency and request rates need {bound.throughput:.2f} s to run every job."
        )
    if report.observed_bound is not None:
        lines.append(
            f"With the measured seconds per job, no schedule could finish under {report.observed_bound.seconds:.2f} s."
        )
    cost = f"Cost {report.cost_usd:.4f} USD"
    if report.all_large_cost_usd is not None:
        cost += f", estimated {report.all_large_cost_usd:.4f} USD with every target on the last tier"
    lines.append(cost + ".")
    return lines


def report_dict(report: BatchReport) -> dict:
    """Return the report as JSON-ready data: the same facts as the summary tables."""
    return {
        "finished": report.finished,
        "stop_reason": report.stop_reason,
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
                "target_status": result.target_status,
                "checks": result.checks,
                "cost_usd": round(result.cost_usd, 6),
                "reason": result.reason,
                "attempts": [asdict(attempt) for attempt in result.attempts],
            }
            for result in report.results
        ],
        "endpoints": [asdict(usage) for usage in report.endpoints],
    }

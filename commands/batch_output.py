"""Render a batch formalization: the live progress on stderr, the summary tables and the JSON report."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from commands.formalize_batch import BatchPlan, kind_counts, plural_list
from formalize.batch import FORMALIZED_KINDS
from formalize.batch_report import (
    ACCEPTED_STATUS,
    FAILED_STATUS,
    NOT_RUN_STATUS,
    SKIPPED_STATUS,
    BatchReport,
    TargetResult,
)
from kg.models import PASSED

UNKNOWN_COST = "unknown"
PRICE_FIX = ("give each a price = { input = ..., output = ... } in USD per million tokens in its [[endpoints]] "
             "entry, or list its model under [prices] in lemmagraph.toml")


def _money(value: float | None) -> str:
    return UNKNOWN_COST if value is None else f"{value:.4f}"


def _ran_on(report: BatchReport, endpoint_names: Collection[str]) -> list[str]:
    """Return the names among `endpoint_names` of the endpoints that ran an attempt in this batch, in order."""
    used = {attempt.endpoint for result in report.results for attempt in result.attempts}
    return [usage.name for usage in report.endpoints if usage.name in endpoint_names and usage.name in used]


def target_cost(result: TargetResult, unpriced: Collection[str]) -> float | None:
    """Return a target's cost in this batch, or None when an attempt ran on an endpoint without a price."""
    if any(attempt.endpoint in unpriced for attempt in result.attempts):
        return None
    return result.cost_usd


def endpoint_table(report: BatchReport, unpriced: Collection[str] = (), running: bool = False) -> Table:
    """Return the endpoints as columns, with one row per measure: model, job counts, breaker, tokens, cost.

    Endpoints are few and measures many, so this fits 80 columns where a row per
    endpoint would not. `running` adds the row of jobs running now, for the live view.
    """
    table = Table("", *(usage.name for usage in report.endpoints), title="endpoints")
    usages = report.endpoints
    rows = [
        ("model", [usage.model for usage in usages]),
        ("accepted", [str(usage.accepted) for usage in usages]),
        ("rejected", [str(usage.rejected) for usage in usages]),
        ("faults", [str(usage.faults) for usage in usages]),
        ("HTTP 429", [str(usage.rate_limited) for usage in usages]),
    ]
    if running:
        rows.append(("running", [str(usage.running) for usage in usages]))
    rows += [
        ("breaker", [usage.breaker for usage in usages]),
        ("prompt tokens", [str(usage.prompt_tokens) for usage in usages]),
        ("completion tokens", [str(usage.completion_tokens) for usage in usages]),
        ("cost USD", [_money(None if usage.name in unpriced else usage.cost_usd) for usage in usages]),
    ]
    for measure, cells in rows:
        table.add_row(measure, *cells)
    return table


def cost_so_far(report: BatchReport, unpriced: Collection[str]) -> str:
    """Return the known cost, naming the endpoints that ran without a price and so are not counted."""
    excluded = _ran_on(report, unpriced)
    if not excluded:
        return f"{report.cost_usd:.4f} USD"
    return f"{report.cost_usd:.4f} USD without {_endpoints_named(excluded)}, which {_has(excluded)} no price"


def _endpoints_named(names: list[str]) -> str:
    return f"endpoint {names[0]}" if len(names) == 1 else f"endpoints {', '.join(names)}"


def _has(names: list[str]) -> str:
    return "has" if len(names) == 1 else "have"


def progress_view(report: BatchReport, unpriced: Collection[str] = ()) -> Group:
    """Return the live view: totals, elapsed time and cost so far, then the endpoint table."""
    done = report.count(ACCEPTED_STATUS) + report.count(SKIPPED_STATUS)
    line = (
        f"{done}/{len(report.results)} done, {report.count(FAILED_STATUS)} failed, "
        f"{sum(usage.running for usage in report.endpoints)} running, "
        f"{report.actual_seconds:.1f} s elapsed (predicted {report.predicted_seconds:.1f} s), "
        f"cost so far {cost_so_far(report, unpriced)}"
    )
    return Group(line, endpoint_table(report, unpriced, running=True))


class BatchProgress:
    """A rich live display on stderr, refreshed by the runner's progress callback.

    It draws nothing when stderr is not a terminal, so logs and pipes stay clean.
    """

    def __init__(self, console: Console, unpriced: Collection[str] = ()) -> None:
        self._live = Live(console=console, refresh_per_second=4, transient=True) if console.is_terminal else None
        self._unpriced = unpriced

    def __enter__(self) -> BatchProgress:
        if self._live is not None:
            self._live.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._live is not None:
            self._live.__exit__(*exc_info)

    def update(self, report: BatchReport) -> None:
        if self._live is not None:
            self._live.update(progress_view(report, self._unpriced))


def status_text(result: TargetResult) -> str:
    """Return a target's status in the words `show` uses: checked, draft, failed or not run.

    A skipped target names the status of the earlier run's target, such as "skipped: draft".
    """
    if result.status == ACCEPTED_STATUS:
        return result.target_status or ACCEPTED_STATUS
    if result.status == SKIPPED_STATUS:
        return f"{SKIPPED_STATUS}: {result.target_status}" if result.target_status else SKIPPED_STATUS
    return result.status


def compact_checks(checks: str) -> str:
    """Shorten "parse: passed, structure: passed, compile: skipped" to "2 passed, compile skipped".

    Checks that passed are counted, and every other check is named with its status.
    """
    if not checks:
        return ""
    passed = 0
    others = []
    for check in checks.split(", "):
        name, _, status = check.rpartition(": ")
        if status == PASSED:
            passed += 1
        else:
            others.append(f"{name} {status}")
    if not others:
        return f"all {passed} passed"
    return ", ".join(([f"{passed} passed"] if passed else []) + others)


def summary_tables(report: BatchReport, plan: BatchPlan) -> list[Table]:
    """Return the per-target table and the per-endpoint table of a finished batch."""
    targets = Table(title="targets")
    # The short columns never wrap, so a narrow console squeezes the model and the checks.
    for name in ("item", "status"):
        targets.add_column(name, no_wrap=True)
    targets.add_column("model", overflow="fold")
    targets.add_column("attempts", no_wrap=True, justify="right")
    targets.add_column("cost USD", no_wrap=True, justify="right")
    targets.add_column("checks or reason")
    for result in report.results:
        style = {ACCEPTED_STATUS: "green", FAILED_STATUS: "red", NOT_RUN_STATUS: "yellow"}.get(result.status, "")
        status = status_text(result)
        targets.add_row(
            result.entity.label,
            f"[{style}]{status}[/{style}]" if style else status,
            # A skipped row names the model of the earlier run; a row that never ran has none.
            result.model or "-",
            str(len(result.attempts)),
            _money(target_cost(result, plan.unpriced)),
            result.reason or compact_checks(result.checks),
        )
    return [targets, endpoint_table(report, plan.unpriced)]


def counts_line(report: BatchReport) -> str:
    """Return the number of targets per batch status, saying what accepted and skipped mean."""
    return (
        f"{len(report.results)} targets: {report.count(ACCEPTED_STATUS)} accepted (checked or draft), "
        f"{report.count(SKIPPED_STATUS)} skipped (checked or draft in an earlier run), "
        f"{report.count(FAILED_STATUS)} failed, {report.count(NOT_RUN_STATUS)} not run"
    )


def left_out_line(plan: BatchPlan) -> str | None:
    """Return which items of the scope the batch left out by their kind, or None when it left out none."""
    if not plan.left_out:
        return None
    return (
        f"Left out {kind_counts(plan.left_out_counts())} of {plan.scope}, because a batch formalizes only "
        f"{plural_list(FORMALIZED_KINDS)}. Formalize one of them by name, such as: "
        f'lemmagraph formalize {plan.book_id} "{plan.left_out[0].label}"'
    )


def schedule_lines(report: BatchReport, plan: BatchPlan) -> list[str]:
    """Return the wall time against the schedule's prediction and the least possible time.

    A batch whose every target was accepted earlier scheduled nothing, so it gets the wall time only.
    A prediction and a bound from the default seconds per job would mean nothing, so when a
    scheduled endpoint sets no expected_seconds, only the bound from measured times is given.
    """
    if report.count(SKIPPED_STATUS) == len(report.results):
        return [f"Wall time {report.actual_seconds:.2f} s."]
    unset = _unestimated_endpoints(plan)
    if unset:
        lines = [
            f"Wall time {report.actual_seconds:.2f} s. No prediction, because {_and_names(unset)} "
            f"set{'s' if len(unset) == 1 else ''} no expected_seconds: set it in each [[endpoints]] entry to a "
            "typical time per item to get one."
        ]
    else:
        lines = [f"Wall time {report.actual_seconds:.2f} s. The schedule predicted {report.predicted_seconds:.2f} s "
                 "from each endpoint's expected_seconds."]
        if report.bound is not None:
            bound = report.bound
            lines.append(
                f"No schedule could finish under {bound.seconds:.2f} s with those seconds per job and the "
                f"endpoints' limits. The longest chain of dependent items takes {bound.critical_path:.2f} s, and "
                f"the endpoints' concurrency and request rates need {bound.throughput:.2f} s to run every job."
            )
    if report.observed_bound is not None:
        lines.append(
            f"With the measured seconds per job, no schedule could finish under {report.observed_bound.seconds:.2f} s."
        )
    return lines


def _unestimated_endpoints(plan: BatchPlan) -> list[str]:
    """Name the endpoints of the first tier that set no expected_seconds."""
    first_tier = set(plan.tiers[0]) if plan.tiers else None
    endpoints = [endpoint for endpoint in plan.choice.endpoints if first_tier is None or endpoint.name in first_tier]
    return [endpoint.name for endpoint in endpoints if endpoint.expected_seconds is None]


def _and_names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def cost_line(report: BatchReport, plan: BatchPlan) -> str:
    """Return the cost, naming endpoints without a price, and with --escalate the estimate on the last tier."""
    excluded = _ran_on(report, plan.unpriced)
    ran = _ran_on(report, [usage.name for usage in report.endpoints])
    if excluded and len(excluded) == len(ran):
        line = f"Cost unknown, because {_endpoints_named(excluded)} {_has(excluded)} no price: {PRICE_FIX}"
    elif excluded:
        line = (f"Cost {report.cost_usd:.4f} USD, excluding {_endpoints_named(excluded)}, which {_has(excluded)} "
                f"no price: {PRICE_FIX}")
    else:
        line = f"Cost {report.cost_usd:.4f} USD"
    if plan.tiers and report.all_large_cost_usd is not None:
        line += f". Estimated {report.all_large_cost_usd:.4f} USD with every target on the last tier"
    return line + "."


def summary_lines(report: BatchReport, plan: BatchPlan) -> list[str]:
    """Return the lines under the tables: target counts, left-out items, schedule and cost."""
    lines = [counts_line(report)]
    left_out = left_out_line(plan)
    if left_out:
        lines.append(left_out)
    return lines + schedule_lines(report, plan) + [cost_line(report, plan)]


def report_dict(report: BatchReport, plan: BatchPlan) -> dict:
    """Return the report as JSON-ready data: the same facts as the summary.

    A cost is null when an endpoint without a price ran the attempts it counts.
    """
    endpoints = []
    for usage in report.endpoints:
        data = asdict(usage)
        if usage.name in plan.unpriced:
            data["cost_usd"] = None
        endpoints.append(data)
    targets = []
    for result in report.results:
        cost = target_cost(result, plan.unpriced)
        targets.append({
            "item_id": result.entity.id,
            "label": result.entity.label,
            "status": result.status,
            "endpoint": result.endpoint,
            "model": result.model,
            "target_id": result.target_id,
            "target_status": result.target_status,
            "checks": result.checks,
            "cost_usd": None if cost is None else round(cost, 6),
            "reason": result.reason,
            "attempts": [asdict(attempt) for attempt in result.attempts],
        })
    return {
        "scope": plan.scope,
        "finished": report.finished,
        "interrupted": report.interrupted,
        "stop_reason": report.stop_reason,
        "makespan_seconds": round(report.actual_seconds, 3),
        "predicted_seconds": round(report.predicted_seconds, 3),
        "lower_bound_seconds": round(report.bound.seconds, 3) if report.bound else None,
        "critical_path_seconds": round(report.bound.critical_path, 3) if report.bound else None,
        "observed_lower_bound_seconds": round(report.observed_bound.seconds, 3) if report.observed_bound else None,
        "cost_usd": round(report.cost_usd, 6),
        "cost_excludes_endpoints": _ran_on(report, plan.unpriced),
        "all_large_cost_usd": report.all_large_cost_usd if plan.tiers else None,
        "counts": {
            status: report.count(status)
            for status in (ACCEPTED_STATUS, SKIPPED_STATUS, FAILED_STATUS, NOT_RUN_STATUS)
        },
        "left_out": plan.left_out_counts(),
        "targets": targets,
        "endpoints": endpoints,
    }

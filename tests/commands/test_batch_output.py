"""The batch summary: table widths in a terminal and in a pipe, costs without a price, schedule lines."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from commands.batch_output import compact_checks, report_dict, summary_lines, summary_tables
from commands.console import print_table
from commands.endpoint_settings import EndpointChoice
from commands.formalize_batch import BatchPlan
from formalize.batch_report import ACCEPTED_STATUS, SKIPPED_STATUS, AttemptRecord, BatchReport, EndpointUsage, TargetResult
from formalize.endpoints import Endpoint
from formalize.pricing import ModelPrice
from formalize.scheduler import MakespanBound
from kg.models import Entity

CHECKS = "parse: passed, structure: passed, compile: skipped, semantic review: passed"
SMALL_MODEL = "qwen2.5-coder-7b-instruct"
LARGE_MODEL = "qwen2.5-72b-instruct"


def item(number: str, kind: str = "exercise") -> Entity:
    return Entity(f"b:{kind}:{number}", "b", kind, number, None, "text", 1, int(number.split(".")[1]))


def accepted(number: str, endpoint: str, model: str, cost: float) -> TargetResult:
    attempt = AttemptRecord(endpoint=endpoint, model=model, outcome="accepted", seconds=3.0, target_id="t",
                            status="draft", checks=CHECKS, prompt_tokens=2000, completion_tokens=400, cost_usd=cost)
    return TargetResult(item(number), ACCEPTED_STATUS, endpoint, model, "t", "draft", CHECKS, "", [attempt])


def endpoints(**options) -> list[Endpoint]:
    return [
        Endpoint("small", "http://127.0.0.1:9/v1", SMALL_MODEL, **options),
        Endpoint("large", "http://127.0.0.1:9/v1", LARGE_MODEL, price=ModelPrice(1.0, 2.0), **options),
    ]


def plan(tiers=None, unpriced=frozenset({"small"}), **options) -> BatchPlan:
    return BatchPlan(book_id="b", scope="chapter 1", items=[], choice=EndpointChoice(endpoints(**options),
                     Path("endpoints.toml")), tiers=tiers, unpriced=set(unpriced))


@pytest.fixture
def report() -> BatchReport:
    results = [accepted(f"1.{n}", "small", SMALL_MODEL, 0.0) for n in range(1, 6)]
    results.append(accepted("1.6", "large", LARGE_MODEL, 0.0028))
    return BatchReport(
        results=results,
        endpoints=[
            EndpointUsage("small", SMALL_MODEL, accepted=5, prompt_tokens=10000, completion_tokens=2000),
            EndpointUsage("large", LARGE_MODEL, accepted=1, prompt_tokens=2000, completion_tokens=400,
                          cost_usd=0.0028),
        ],
        predicted_seconds=120.0,
        actual_seconds=18.5,
        bound=MakespanBound(critical_path=120.0, throughput=90.0),
        all_large_cost_usd=0.0168,
        finished=True,
    )


def rendered(tables, console: Console) -> str:
    for table in tables:
        print_table(table, console)
    return console.file.getvalue()


def test_terminal_tables_fit_80_columns(report):
    console = Console(file=io.StringIO(), width=80, force_terminal=True, color_system=None)

    text = rendered(summary_tables(report, plan()), console)

    lines = text.splitlines()
    targets_body = lines[lines.index(next(line for line in lines if line.startswith("┡"))) + 1:]
    targets_body = targets_body[: targets_body.index(next(line for line in targets_body if line.startswith("└")))]
    assert max(len(line) for line in lines) <= 80
    assert "…" not in text, "no cell is cut short"
    assert len(targets_body) <= 3 * len(report.results), "an item takes at most three lines"
    assert SMALL_MODEL in text, "the endpoints table shows whole model names"


def test_piped_tables_as_wide_as_content(report):
    console = Console(file=io.StringIO(), width=80)

    text = rendered(summary_tables(report, plan()), console)

    assert not console.is_terminal
    assert "…" not in text
    assert f"│ Exercise 1.1 │ draft  │ {SMALL_MODEL} │" in text, "each target row stays on one line"
    assert "3 passed, compile skipped" in text


def test_targets_table_shows_model(report):
    console = Console(file=io.StringIO(), width=200)

    text = rendered(summary_tables(report, plan()), console)

    header = next(line for line in text.splitlines() if "item" in line)
    assert "model" in header
    assert "endpoint" not in header


def test_unpriced_cost_unknown(report):
    console = Console(file=io.StringIO(), width=200)

    text = rendered(summary_tables(report, plan()), console)
    lines = summary_lines(report, plan())
    data = report_dict(report, plan())

    assert "0.0000" not in text, "an endpoint without a price is not free"
    assert "unknown" in text
    assert any(line.startswith("Cost 0.0028 USD, excluding endpoint small, which has no price") for line in lines)
    assert data["cost_excludes_endpoints"] == ["small"]
    assert data["endpoints"][0]["cost_usd"] is None
    assert data["targets"][0]["cost_usd"] is None
    assert data["targets"][5]["cost_usd"] == 0.0028


def test_cost_unknown_when_no_price(report):
    for result in report.results:
        result.attempts[0].endpoint = "small"

    lines = summary_lines(report, plan())

    assert any(line.startswith("Cost unknown, because endpoint small has no price") for line in lines)


def test_unset_expected_seconds_gives_no_prediction(report):
    lines = summary_lines(report, plan())

    schedule = next(line for line in lines if line.startswith("Wall time"))
    assert "No prediction, because small and large set no expected_seconds" in schedule
    assert not any("predicted" in line for line in lines), "a prediction from a default would mislead"
    assert not any(line.startswith("No schedule could finish under") for line in lines)


def test_configured_expected_seconds(report):
    lines = summary_lines(report, plan(expected_seconds=20.0))

    schedule = next(line for line in lines if "predicted" in line)
    assert schedule.endswith("from each endpoint's expected_seconds.")


def test_all_skipped_prints_no_schedule(report):
    for result in report.results:
        result.status = SKIPPED_STATUS
        result.attempts = []
    report.predicted_seconds = 0.0
    report.bound = MakespanBound(critical_path=0.0, throughput=0.0)

    lines = summary_lines(report, plan())

    assert not any("schedule" in line for line in lines)
    assert any(line.startswith("Wall time") for line in lines)


def test_last_tier_estimate_only_with_escalation(report):
    plain = summary_lines(report, plan())
    escalated = summary_lines(report, plan(tiers=[["small"], ["large"]]))

    assert "last tier" not in " ".join(plain)
    assert report_dict(report, plan())["all_large_cost_usd"] is None
    assert "Estimated 0.0168 USD with every target on the last tier" in escalated[-1]


def test_left_out_kinds_line(report):
    batch_plan = plan()
    batch_plan.left_out = [item("1.7", "example"), item("1.8", "example"), item("1.9", "remark")]

    lines = summary_lines(report, batch_plan)

    assert any(line.startswith("Left out 2 examples and 1 remark of chapter 1") for line in lines)
    assert report_dict(report, batch_plan)["left_out"] == {"example": 2, "remark": 1}


@pytest.mark.parametrize(
    ("checks", "expected"),
    [
        (CHECKS, "3 passed, compile skipped"),
        ("parse: passed, structure: passed, compile: passed, semantic review: passed", "all 4 passed"),
        ("parse: passed, structure: failed, compile: skipped", "1 passed, structure failed, compile skipped"),
        ("parse: failed", "parse failed"),
        ("", ""),
    ],
)
def test_compact_checks(checks, expected):
    assert compact_checks(checks) == expected

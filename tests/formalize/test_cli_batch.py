"""The batch form of `lemmagraph formalize` end to end, on the ingested sample chapter and a simulated model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.formalize.scripted_model import SimulatedModel, serve
from tests.formalize.test_cli_formalize import BOOK, EXERCISE, home, ingested_home, run_cli  # noqa: F401


@pytest.fixture
def model_server():
    server = serve(SimulatedModel("sample-model"))
    yield server
    server.close()


def endpoints_file(tmp_path: Path, base_url: str) -> Path:
    path = tmp_path / "endpoints.toml"
    path.write_text(
        f'[[endpoints]]\nname = "local"\nbase_url = "{base_url}"\nmodel = "sample-model"\n'
        "concurrency = 2\nexpected_seconds = 0.05\nprice = { input = 1.0, output = 2.0 }\n",
        encoding="utf-8",
    )
    return path


def test_batch_formalizes_whole_book(capsys, monkeypatch, home: Path, tmp_path: Path, model_server):
    config = endpoints_file(tmp_path, model_server.base_url)

    status, out, _ = run_cli(
        capsys, monkeypatch, "--home", str(home), "formalize", BOOK, "--all", "--endpoints", str(config), "--json"
    )
    rerun_status, rerun_out, _ = run_cli(
        capsys, monkeypatch, "--home", str(home), "formalize", BOOK, "--all", "--endpoints", str(config), "--json"
    )

    report, rerun = json.loads(out), json.loads(rerun_out)
    assert (status, rerun_status) == (0, 0)
    assert report["counts"]["accepted"] == len(report["targets"]) > 3
    assert {target["model"] for target in report["targets"]} == {"sample-model"}
    assert report["cost_usd"] > 0
    assert rerun["counts"]["skipped"] == len(report["targets"])
    assert rerun["cost_usd"] == 0


def test_batch_summary_table(capsys, monkeypatch, home: Path, tmp_path: Path, model_server):
    config = endpoints_file(tmp_path, model_server.base_url)

    status, out, _ = run_cli(
        capsys, monkeypatch, "--home", str(home), "formalize", BOOK, "--chapter", "1", "--endpoints", str(config)
    )

    assert status == 0
    # A table cell may wrap in the 80 columns of a captured console, so check single words.
    assert "Exercise" in out
    assert "draft" in out, "the status column uses the stored status words"
    assert "accepted (checked or draft)" in out
    assert "Wall time" in out
    assert "No schedule could finish under" in out
    assert "makespan" not in out


def test_batch_rerun_rows_consistent(capsys, monkeypatch, home: Path, tmp_path: Path, model_server):
    config = endpoints_file(tmp_path, model_server.base_url)
    args = ["--home", str(home), "formalize", BOOK, "--chapter", "1", "--endpoints", str(config)]
    run_cli(capsys, monkeypatch, *args)
    monkeypatch.setenv("COLUMNS", "200")

    status, out, _ = run_cli(capsys, monkeypatch, *args)

    rows = [line for line in out.splitlines() if "skipped" in line and "│" in line]
    assert status == 0
    assert rows
    for row in rows:
        cells = [cell.strip() for cell in row.split("│")]
        assert cells[2] == "skipped: draft"
        assert cells[3] == "-", "a skipped row has no endpoint of this batch"


@pytest.mark.parametrize(
    "args",
    [
        [EXERCISE, "--all"],
        [],
        [EXERCISE, "--escalate", "a,b"],
    ],
)
def test_batch_usage_errors(capsys, monkeypatch, home: Path, args):
    status, _, err = run_cli(capsys, monkeypatch, "--home", str(home), "formalize", BOOK, *args)

    assert status == 2
    assert "REF" in err or "batch" in err


def test_batch_unknown_chapter(capsys, monkeypatch, home: Path, tmp_path: Path, model_server):
    config = endpoints_file(tmp_path, model_server.base_url)

    status, _, err = run_cli(
        capsys, monkeypatch, "--home", str(home), "formalize", BOOK, "--chapter", "9", "--endpoints", str(config)
    )

    assert status == 1
    assert "no items to formalize in chapter 9" in err

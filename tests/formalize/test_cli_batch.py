"""The batch form of `lemmagraph formalize` end to end, on the ingested sample chapter and a simulated model."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.formalize.scripted_model import SimulatedModel, serve
from tests.formalize.test_cli_formalize import BOOK, EXERCISE, home, ingested_home, run_cli  # noqa: F401

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def model_server():
    server = serve(SimulatedModel("sample-model"))
    yield server
    server.close()


def endpoints_file(tmp_path: Path, base_url: str, price: str = "price = { input = 1.0, output = 2.0 }\n",
                   extra: str = "") -> Path:
    path = tmp_path / "endpoints.toml"
    path.write_text(
        f'[[endpoints]]\nname = "local"\nbase_url = "{base_url}"\nmodel = "sample-model"\n'
        f"concurrency = 2\nexpected_seconds = 0.05\n{price}{extra}",
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
    assert "│ Exercise 1.18 " in out
    assert "draft" in out, "the status column uses the stored status words"
    assert "accepted (checked or draft)" in out
    assert "Wall time" in out
    assert "No schedule could finish under" in out
    assert "makespan" not in out
    assert "last tier" not in out, "without --escalate there is no last tier to compare with"


def test_batch_piped_summary_not_cut(capsys, monkeypatch, home: Path, tmp_path: Path, model_server):
    config = endpoints_file(tmp_path, model_server.base_url)
    monkeypatch.delenv("COLUMNS", raising=False)

    status, out, _ = run_cli(
        capsys, monkeypatch, "--home", str(home), "formalize", BOOK, "--chapter", "1", "--endpoints", str(config)
    )

    rows = [line for line in out.splitlines() if line.startswith("│ Exercise 1.18 ")]
    assert status == 0
    assert "…" not in out, "captured stdout is not a terminal, so no cell is cut short"
    assert len(rows) == 1
    assert [cell.strip() for cell in rows[0].split("│")][1:-1] == [
        "Exercise 1.18", "draft", "sample-model", "1", "0.0028", "3 passed, compile skipped"
    ]
    assert "│ model             │ sample-model │" in out


def test_batch_unpriced_cost_unknown(capsys, monkeypatch, home: Path, tmp_path: Path, model_server):
    config = endpoints_file(tmp_path, model_server.base_url, price="")

    status, out, _ = run_cli(
        capsys, monkeypatch, "--home", str(home), "formalize", BOOK, "--section", "1.4", "--endpoints", str(config)
    )

    rows = [line for line in out.splitlines() if line.startswith("│ Exercise")]
    assert status == 0
    assert rows
    assert all("│  unknown │" in row for row in rows)
    assert "0.0000" not in out
    assert "Cost unknown, because endpoint local has no price" in out


def test_batch_section_by_number_or_title(capsys, monkeypatch, home: Path, tmp_path: Path, model_server):
    config = endpoints_file(tmp_path, model_server.base_url)
    args = ["--home", str(home), "formalize", BOOK, "--endpoints", str(config), "--json"]

    by_number_status, by_number, _ = run_cli(capsys, monkeypatch, *args, "--section", "1.4")
    by_title_status, by_title, _ = run_cli(capsys, monkeypatch, *args, "--section", "Exercises")

    numbered, titled = json.loads(by_number), json.loads(by_title)
    assert (by_number_status, by_title_status) == (0, 0)
    assert numbered["scope"] == titled["scope"] == "section 1.4 Exercises"
    assert [target["label"] for target in titled["targets"]] == [f"Exercise 1.{n}" for n in range(18, 25)]


def test_batch_left_out_kinds(capsys, monkeypatch, home: Path, tmp_path: Path, model_server):
    config = endpoints_file(tmp_path, model_server.base_url)

    status, out, _ = run_cli(
        capsys, monkeypatch, "--home", str(home), "formalize", BOOK, "--chapter", "1", "--endpoints", str(config)
    )

    assert status == 0
    assert "Left out 2 examples, 2 remarks and 1 algorithm of chapter 1" in out


def test_batch_warns_ignored_flags(capsys, monkeypatch, home: Path, tmp_path: Path, model_server):
    config = endpoints_file(tmp_path, model_server.base_url)

    status, _, err = run_cli(
        capsys, monkeypatch, "--home", str(home), "formalize", BOOK, "--section", "1.4", "--endpoints", str(config),
        "--timeout", "5", "--context-window", "4096", "--model", "other", "--base-url", "http://127.0.0.1:9/v1",
    )

    assert status == 0
    for flag, key in [("--timeout", "timeout_seconds"), ("--context-window", "context_window"),
                      ("--model", "model"), ("--base-url", "base_url")]:
        assert err.count(f"warning: {flag} is ignored") == 1
        assert f"set {key} in its [[endpoints]] entries" in err


def test_batch_escalate_unused_endpoint(capsys, monkeypatch, home: Path, tmp_path: Path, model_server):
    second = f'\n[[endpoints]]\nname = "spare"\nbase_url = "{model_server.base_url}"\nmodel = "sample-model"\n'
    config = endpoints_file(tmp_path, model_server.base_url, extra=second)

    status, out, err = run_cli(
        capsys, monkeypatch, "--home", str(home), "formalize", BOOK, "--section", "1.4", "--endpoints", str(config),
        "--escalate", "local", "--json",
    )

    assert status == 0
    assert "warning: endpoint spare (model sample-model) is not named by --escalate" in err
    assert json.loads(out)["endpoints"][1]["accepted"] == 0


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
        assert cells[3] == "sample-model", "a skipped row names the model of the earlier run"
        assert cells[4] == "0", "a skipped row has no attempt in this batch"
    assert "predicted" not in out, "a batch that skips every item schedules nothing"
    assert "No schedule could finish" not in out


@pytest.mark.parametrize(
    "args",
    [
        [EXERCISE, "--all"],
        [],
        [EXERCISE, "--escalate", "a,b"],
        ["--all", "--escalate", ","],
        ["--all", "--escalate", "a,,b"],
    ],
)
def test_batch_usage_errors(capsys, monkeypatch, home: Path, args):
    status, _, err = run_cli(capsys, monkeypatch, "--home", str(home), "formalize", BOOK, *args)

    assert status == 2
    assert "REF" in err or "batch" in err or "empty name" in err


def test_batch_unknown_chapter(capsys, monkeypatch, home: Path, tmp_path: Path, model_server):
    config = endpoints_file(tmp_path, model_server.base_url)

    status, _, err = run_cli(
        capsys, monkeypatch, "--home", str(home), "formalize", BOOK, "--chapter", "9", "--endpoints", str(config)
    )

    assert status == 1
    assert "no items to formalize in chapter 9 of sample: its chapters are 1" in err
    assert "lemmagraph show" not in err, "show lists no chapters"


def test_ctrl_c_prints_summary_and_exits_130(home: Path, tmp_path: Path):
    server = serve(SimulatedModel("sample-model", latency_seconds=0.5))
    config = endpoints_file(tmp_path, server.base_url)
    command = [sys.executable, "-c", "import cli; cli.run()", "--home", str(home), "formalize", BOOK, "--chapter", "1",
               "--endpoints", str(config)]
    # No Lean toolchain on PATH, so targets are drafts whatever the machine has.
    environment = {**os.environ, "PYTHONPATH": str(REPO), "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin"}
    process = subprocess.Popen(command, cwd=REPO, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        deadline = time.monotonic() + 60
        while not server.requests and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
        server.close()

    assert process.returncode == 130, err
    assert "not run" in out, "the summary lists the targets the batch did not reach"
    assert "interrupted:" in err
    assert "Traceback" not in err

"""The prompt, formalize, show and export commands end to end, against the scripted model server.

The sample chapter is ingested once with the real pipeline and embedder, and each
test works on its own copy of that workspace.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import cli
from formalize.prompt import render_messages
from tests.formalize.fake_openai import FakeOpenAI, RecordedRequest, ScriptedResponse, chat_completion

REPO = Path(__file__).resolve().parents[2]
BOOK = "sample"
EXERCISE = "Exercise 1.18"
LEAN_CODE = """import Mathlib

namespace Sample.Exercise1_18

theorem exercise_claim (s : Set ℝ) (hs : Convex ℝ s) : Convex ℝ (s ∩ s) := by
  sorry

end Sample.Exercise1_18
"""
ANSWER = json.dumps(
    {
        "informal_statement": "The intersection of a convex set with itself is convex.",
        "lean_code": LEAN_CODE,
        "local_definitions": [],
        "assumptions": [],
    }
)
FAITHFUL = json.dumps({"back_translation": "s ∩ s is convex.", "verdict": "faithful", "reasons": ["same claim"]})


def run_cli(capsys, monkeypatch, *args: str) -> tuple[int, str, str]:
    """Run `lemmagraph ARGS` in-process and return the exit status, stdout and stderr."""
    monkeypatch.setattr(sys, "argv", ["lemmagraph", *args])
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        cli.run()
    captured = capsys.readouterr()
    code = exit_info.value.code
    return (code if isinstance(code, int) else 0), captured.out, captured.err


@pytest.fixture(scope="module")
def ingested_home(tmp_path_factory) -> Path:
    from ingest.render import render_sample_chapter

    pdf = render_sample_chapter(tmp_path_factory.mktemp("sample") / "convexity.pdf")
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(sys, "argv", ["lemmagraph", "--home", str(home), "ingest", str(pdf), "--book", BOOK])
        with pytest.raises(SystemExit) as exit_info:
            cli.run()
    assert exit_info.value.code in (0, None)
    return home


@pytest.fixture
def home(ingested_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the ingested workspace, with no LLM settings in the environment and no `lake`."""
    for variable in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "LEMMAGRAPH_MODEL", "LEMMAGRAPH_HOME",
                     "LEMMAGRAPH_STORE", "LEMMAGRAPH_CONTEXT_WINDOW", "LEMMAGRAPH_REPAIR_ROUNDS"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setattr(shutil, "which", lambda name, *args, **kwargs: None)
    copy = tmp_path / "home"
    shutil.copytree(ingested_home, copy)
    return copy


def formalize_args(home: Path, server: FakeOpenAI, *extra: str) -> list[str]:
    return ["--home", str(home), "formalize", BOOK, EXERCISE, "--base-url", server.base_url,
            "--model", "fake-model", *extra]


def test_prompt_prints_exactly_what_is_sent(capsys, monkeypatch, home: Path, fake_openai: FakeOpenAI):
    status, printed, _ = run_cli(capsys, monkeypatch, "--home", str(home), "prompt", BOOK, EXERCISE)
    fake_openai.push_answer(ANSWER)
    fake_openai.push_answer(FAITHFUL)

    run_cli(capsys, monkeypatch, *formalize_args(home, fake_openai))

    assert status == 0
    assert printed == render_messages(fake_openai.requests[0].body["messages"])


def test_prompt_reports_dropped_items(capsys, monkeypatch, home: Path):
    # Floor 0 seeds every similarity proposal, so the context is too large for the small window.
    prompt_args = ("--home", str(home), "prompt", BOOK, EXERCISE, "--similarity-floor", "0")
    _, full, _ = run_cli(capsys, monkeypatch, *prompt_args)

    status, cut, err = run_cli(capsys, monkeypatch, *prompt_args, "--context-window", "1600")

    assert status == 0
    assert "dropped to fit the context window: sample:" in err
    assert len(cut) < len(full)
    assert len(cut) <= (1600 - 400) * 4 + 40, "the budget counts the message contents, not the role lines"


def test_formalize_stores_and_shows_attempts(capsys, monkeypatch, home: Path, fake_openai: FakeOpenAI):
    fake_openai.push_answer(ANSWER, prompt_tokens=2000, completion_tokens=300)
    fake_openai.push_answer(FAITHFUL, prompt_tokens=800, completion_tokens=60)

    first_status, first_out, _ = run_cli(capsys, monkeypatch, *formalize_args(home, fake_openai, "--json"))
    second_status, second_out, _ = run_cli(capsys, monkeypatch, *formalize_args(home, fake_openai, "--json"))
    show_status, shown, _ = run_cli(capsys, monkeypatch, "--home", str(home), "show", BOOK, EXERCISE)
    _, shown_json, _ = run_cli(capsys, monkeypatch, "--home", str(home), "show", BOOK, EXERCISE, "--json")

    first, second = json.loads(first_out), json.loads(second_out)
    assert (first_status, second_status, show_status) == (0, 0, 0)
    assert first["status"] == "draft"
    assert first["verdict"] == "faithful"
    assert len(fake_openai.requests) == 2, "the second run reads both answers from the cache"
    assert second["cached_calls"] == 2
    assert second["id"] != first["id"]
    assert f"Lean target {second['id']}" in shown
    assert "1 earlier attempt" in shown
    assert "0.0000 USD, 2 answers from cache" in shown, "answers read from the cache cost nothing"
    item = json.loads(shown_json)
    assert item["earlier_attempts"] == 1
    assert item["latest_target"]["id"] == second["id"]
    assert [target["id"] for target in item["lean_targets"]] == [first["id"], second["id"]]
    assert (home / "cache" / "llm").is_dir()


def test_formalize_prices_from_config(capsys, monkeypatch, home: Path, fake_openai: FakeOpenAI):
    (home / "lemmagraph.toml").write_text(
        '[prices]\n"fake-model" = { input = 3.0, output = 15.0 }\n', encoding="utf-8"
    )
    fake_openai.push_answer(ANSWER, prompt_tokens=2000, completion_tokens=300)
    fake_openai.push_answer(FAITHFUL, prompt_tokens=800, completion_tokens=60)

    status, out, _ = run_cli(capsys, monkeypatch, *formalize_args(home, fake_openai, "--json"))

    target = json.loads(out)
    assert status == 0
    assert target["price_known"] is True
    assert target["cost_usd"] == pytest.approx((2800 * 3.0 + 360 * 15.0) / 1_000_000)


def test_formalize_failed_target_exits_1(capsys, monkeypatch, home: Path, fake_openai: FakeOpenAI):
    fake_openai.push_answer("I cannot do this.")

    status, out, err = run_cli(capsys, monkeypatch, *formalize_args(home, fake_openai, "--repair-rounds", "0"))

    assert status == 1
    assert "failed" in out
    assert "unknown price" in out
    assert "could not be parsed" in err
    assert len(fake_openai.requests) == 1


def test_export_cam_jsonl_after_formalize(capsys, monkeypatch, home: Path, fake_openai: FakeOpenAI):
    fake_openai.push_answer(ANSWER)
    fake_openai.push_answer(FAITHFUL)
    run_cli(capsys, monkeypatch, *formalize_args(home, fake_openai))

    status, out, _ = run_cli(capsys, monkeypatch, "--home", str(home), "export", BOOK, "--format", "cam-jsonl")

    (record,) = [json.loads(line) for line in out.splitlines()]
    assert status == 0
    assert record["number"] == "1.18"
    assert record["lean_theorem"] == "Sample.Exercise1_18.exercise_claim"
    assert record["context"], "the exercise's recovered context is part of the record"
    assert all(set(item) == {"id", "kind", "number", "text"} for item in record["context"])


def test_export_blueprint_writes_file(capsys, monkeypatch, home: Path, tmp_path: Path):
    output = tmp_path / "content.tex"

    status, _, _ = run_cli(
        capsys, monkeypatch, "--home", str(home), "export", BOOK, "--format", "blueprint", "-o", str(output)
    )

    latex = output.read_text(encoding="utf-8")
    assert status == 0
    assert "\\label{sample:definition:1.1}" in latex
    assert "\\uses{" in latex


def test_invalid_prices_name_model(capsys, monkeypatch, home: Path):
    (home / "lemmagraph.toml").write_text('[prices]\n"fake-model" = { input = "cheap" }\n', encoding="utf-8")

    status, _, err = run_cli(capsys, monkeypatch, "--home", str(home), "prompt", BOOK, EXERCISE)

    assert status == 1
    assert "fake-model" in err
    assert "USD per million tokens" in err


HTML_PAGE = "<!DOCTYPE html><html><body><h1>Welcome to nginx!</h1></body></html>"


def closed_port_url() -> str:
    """Return a base URL on 127.0.0.1 where nothing listens, so connections are refused."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def test_formalize_html_body_names_url(capsys, monkeypatch, home: Path, fake_openai: FakeOpenAI):
    fake_openai.push_raw(200, HTML_PAGE, "text/html")

    status, _, err = run_cli(capsys, monkeypatch, *formalize_args(home, fake_openai))

    assert status == 1
    assert "Traceback" not in err
    assert fake_openai.base_url in err
    assert "not an OpenAI-compatible JSON response" in err
    assert "/v1" in err


def test_batch_html_body_names_url(capsys, monkeypatch, home: Path, fake_openai: FakeOpenAI):
    for _ in range(30):
        fake_openai.push_raw(200, HTML_PAGE, "application/json")

    status, out, err = run_cli(
        capsys, monkeypatch, "--home", str(home), "formalize", BOOK, "--chapter", "1",
        "--base-url", fake_openai.base_url, "--model", "fake-model", "--json",
    )

    report = json.loads(out)
    assert status == 1
    assert "Traceback" not in err
    assert report["counts"]["failed"] == len(report["targets"])
    for target in report["targets"]:
        assert "not an OpenAI-compatible JSON response" in target["reason"]
        assert fake_openai.base_url in target["reason"]


@pytest.mark.parametrize("value", ["notaurl", "localhost:8080/v1", "http://"])
def test_formalize_invalid_base_url(capsys, monkeypatch, home: Path, value: str):
    status, _, err = run_cli(
        capsys, monkeypatch, "--home", str(home), "formalize", BOOK, EXERCISE, "--base-url", value, "--model", "m"
    )

    assert status == 1
    assert f"Invalid endpoint URL {value!r}" in err
    assert "http://127.0.0.1:8080/v1" in err
    assert "Could not connect" not in err


def test_batch_unreachable_endpoint_reports(capsys, monkeypatch, home: Path):
    monkeypatch.setenv("LEMMAGRAPH_LLM_MAX_RETRIES", "0")
    url = closed_port_url()
    started = time.monotonic()

    status, out, err = run_cli(
        capsys, monkeypatch, "--home", str(home), "formalize", BOOK, "--chapter", "1",
        "--base-url", url, "--model", "fake-model",
    )

    assert time.monotonic() - started < 20
    assert status == 1
    assert "not run" in out, "the report table is printed before the error"
    assert "every endpoint is failing" in err
    assert url in " ".join(err.split())
    assert "Connection error" in err
    assert "stalled" not in err


def test_failed_target_rerun_sends_requests(capsys, monkeypatch, home: Path, fake_openai: FakeOpenAI):
    other = FakeOpenAI().start()
    try:
        fake_openai.push_answer("I cannot do this.")
        first_status, _, first_err = run_cli(
            capsys, monkeypatch, *formalize_args(home, fake_openai, "--repair-rounds", "0")
        )
        other.push_answer(ANSWER)
        other.push_answer(FAITHFUL)
        second_status, second_out, _ = run_cli(
            capsys, monkeypatch, *formalize_args(home, other, "--repair-rounds", "0", "--json")
        )
    finally:
        other.close()

    assert first_status == 1
    assert "running the command again sends new requests" in " ".join(first_err.split())
    assert "could not be parsed: The model" not in first_err
    assert second_status == 0
    assert json.loads(second_out)["cached_calls"] == 0
    assert len(other.requests) == 2


def test_formalize_releases_store_during_requests(capsys, monkeypatch, home: Path, fake_openai: FakeOpenAI):
    from kg.workspace import Workspace

    graph_path = Workspace(home).graph_path
    opened: list[subprocess.CompletedProcess] = []

    def open_store_elsewhere(request: RecordedRequest) -> ScriptedResponse:
        # Another process opens the embedded store while the model call is in flight.
        opened.append(subprocess.run(
            [sys.executable, "-c", f"from kg.ladybug_store import LadybugStore; LadybugStore({str(graph_path)!r}).close()"],
            cwd=REPO, capture_output=True, text=True, timeout=120,
        ))
        return ScriptedResponse(200, chat_completion(ANSWER))

    fake_openai.push_responder(open_store_elsewhere)
    fake_openai.push_answer(FAITHFUL)

    status, out, _ = run_cli(capsys, monkeypatch, *formalize_args(home, fake_openai, "--json"))

    assert status == 0
    assert opened[0].returncode == 0, opened[0].stderr
    stored_status, shown, _ = run_cli(capsys, monkeypatch, "--home", str(home), "show", BOOK, EXERCISE, "--json")
    assert json.loads(shown)["latest_target"]["id"] == json.loads(out)["id"]


def test_export_cam_jsonl_counts_records(capsys, monkeypatch, home: Path, fake_openai: FakeOpenAI, tmp_path: Path):
    output = tmp_path / "records.jsonl"
    empty_status, _, empty_err = run_cli(
        capsys, monkeypatch, "--home", str(home), "export", BOOK, "--format", "cam-jsonl", "-o", str(output)
    )
    fake_openai.push_answer(ANSWER)
    fake_openai.push_answer(FAITHFUL)
    run_cli(capsys, monkeypatch, *formalize_args(home, fake_openai))

    status, _, err = run_cli(
        capsys, monkeypatch, "--home", str(home), "export", BOOK, "--format", "cam-jsonl", "-o", str(output)
    )

    assert empty_status == 0
    assert f"wrote 0 records to {output}" in " ".join(empty_err.split())
    assert "warning:" in empty_err
    assert "no exercise with a Lean target" in " ".join(empty_err.split())
    assert status == 0
    assert f"wrote 1 record to {output}" in " ".join(err.split())
    assert "warning" not in err


def test_formalize_uses_workspace_endpoint(capsys, monkeypatch, home: Path, fake_openai: FakeOpenAI):
    (home / "lemmagraph.toml").write_text(
        f'[[endpoints]]\nname = "first"\nbase_url = "{fake_openai.base_url}"\nmodel = "endpoint-model"\n'
        "price = { input = 3.0, output = 15.0 }\n\n"
        '[[endpoints]]\nname = "second"\nbase_url = "http://127.0.0.1:9/v1"\nmodel = "unused-model"\n',
        encoding="utf-8",
    )
    fake_openai.push_answer(ANSWER, prompt_tokens=2000, completion_tokens=300)
    fake_openai.push_answer(FAITHFUL, prompt_tokens=800, completion_tokens=60)

    status, out, _ = run_cli(capsys, monkeypatch, "--home", str(home), "formalize", BOOK, EXERCISE, "--json")

    target = json.loads(out)
    assert status == 0
    assert len(fake_openai.requests) == 2
    assert fake_openai.requests[0].body["model"] == "endpoint-model"
    assert target["price_known"] is True, "the endpoint's price applies"


def test_formalize_without_model_names_endpoints(capsys, monkeypatch, home: Path):
    status, _, err = run_cli(capsys, monkeypatch, "--home", str(home), "formalize", BOOK, EXERCISE)

    assert status == 1
    assert "No language model is configured" in err
    assert "[[endpoints]]" in err


@pytest.mark.parametrize(
    ("args", "variable", "config", "origin"),
    [
        (["--timeout", "-1"], None, None, "from --timeout"),
        (["--timeout", "0"], None, None, "from --timeout"),
        ([], "-5", None, "from LEMMAGRAPH_LLM_TIMEOUT"),
        ([], None, "[llm]\ntimeout_seconds = -1\n", "from [llm] timeout_seconds in"),
    ],
)
def test_formalize_invalid_timeout(capsys, monkeypatch, home: Path, fake_openai: FakeOpenAI, args, variable, config,
                                   origin):
    if variable is not None:
        monkeypatch.setenv("LEMMAGRAPH_LLM_TIMEOUT", variable)
    if config is not None:
        (home / "lemmagraph.toml").write_text(config, encoding="utf-8")

    status, _, err = run_cli(capsys, monkeypatch, *formalize_args(home, fake_openai, *args))

    assert status == 1
    assert "Traceback" not in err
    assert origin in err
    assert "give a positive number of seconds" in err
    assert fake_openai.requests == [], "no request is sent with an invalid timeout"

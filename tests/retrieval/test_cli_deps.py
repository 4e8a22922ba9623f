"""`lemmagraph deps`, `search`, `prompt` and `eval` through the real entry point on the chain book."""

from __future__ import annotations

import json
import shutil
import sys

import pytest

import cli
from kg.ladybug_store import LadybugStore
from kg.workspace import Workspace
from retrieval.closure import DEFAULT_SIMILARITY_FLOOR
from retrieval.indexing import index_book
from retrieval.vector_index import FaissVectorIndex
from tests.retrieval.conftest import chain_book


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    from retrieval.embedding import SentenceEmbedder

    home = tmp_path_factory.mktemp("home")
    workspace = Workspace(home).ensure()
    graph = chain_book()
    index_book(graph, SentenceEmbedder(), FaissVectorIndex(workspace))
    with LadybugStore(workspace.graph_path) as store:
        store.write_book(graph)
    return home


def run(capsys, monkeypatch, home, *args):
    monkeypatch.setattr(sys, "argv", ["lemmagraph", "--home", str(home), *args])
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        cli.run()
    captured = capsys.readouterr()
    return exit_info.value.code or 0, captured.out, captured.err


def test_deps_json_shape(capsys, monkeypatch, home):
    status, out, _ = run(capsys, monkeypatch, home, "deps", "chain", "Exercise 1.6", "--json")

    assert status == 0
    data = json.loads(out)
    assert set(data) == {"target", "dependencies"}
    assert data["dependencies"][0]["id"] == "chain:lemma:1.3"
    assert set(data["dependencies"][0]) == {"id", "kind", "number", "title", "page", "score", "reasons"}


def test_deps_format_json_same_as_alias(capsys, monkeypatch, home):
    _, alias, _ = run(capsys, monkeypatch, home, "deps", "chain", "Exercise 1.6", "--json")
    _, formatted, _ = run(capsys, monkeypatch, home, "deps", "chain", "Exercise 1.6", "--format", "json")

    assert alias == formatted


def test_deps_closure_tree_reports_budget(capsys, monkeypatch, home):
    status, out, _ = run(capsys, monkeypatch, home, "deps", "chain", "Exercise 1.6", "--closure", "--budget", "40")

    assert status == 0
    assert "needs, in dependency order" in out
    assert "of a 40-token budget" in out
    assert "dropped to fit the budget" in out


def test_deps_budget_needs_closure(capsys, monkeypatch, home):
    status, _, err = run(capsys, monkeypatch, home, "deps", "chain", "Exercise 1.6", "--budget", "40")

    assert status == 2
    assert "--closure" in err


def test_deps_dot_output(capsys, monkeypatch, home):
    status, out, _ = run(capsys, monkeypatch, home, "deps", "chain", "Exercise 1.6", "--format", "dot")

    assert status == 0
    assert out.startswith("digraph dependencies {")


def test_deps_svg_without_dot_fails_clearly(capsys, monkeypatch, home):
    monkeypatch.setattr(shutil, "which", lambda name: None)

    status, _, err = run(capsys, monkeypatch, home, "deps", "chain", "Exercise 1.6", "--format", "svg")

    assert status == 1
    assert "graphviz" in err


def test_search_json(capsys, monkeypatch, home):
    status, out, _ = run(capsys, monkeypatch, home, "search", "bread and cakes", "--book", "chain", "--top", "1", "--json")

    assert status == 0
    hits = json.loads(out)
    assert hits[0]["number"] == "1.4"
    assert hits[0]["book_id"] == "chain"


def test_eval_task_deps_json(capsys, monkeypatch, home, tmp_path):
    gold = tmp_path / "gold.json"
    gold.write_text(json.dumps({
        "items": [{"id": "l", "kind": "lemma", "number": "1.3"}, {"id": "e", "kind": "exercise", "number": "1.6"}],
        "edges": [{"src": "e", "dst": "l", "via": "ref"}],
    }), encoding="utf-8")

    status, out, _ = run(capsys, monkeypatch, home, "eval", "chain", "--gold", str(gold), "--task", "deps", "--json")

    assert status == 0
    report = json.loads(out)
    assert report["variants"]["fused"]["ref"]["recall"]["@5"] == 1.0
    assert report["variants"]["fused"]["ref"]["mrr"] == 1.0


def test_deps_closure_lists_below_floor(capsys, monkeypatch, home):
    status, out, _ = run(capsys, monkeypatch, home, "deps", "chain", "Exercise 1.6", "--closure", "--json")

    assert status == 0
    data = json.loads(out)
    assert data["similarity_floor"] == DEFAULT_SIMILARITY_FLOOR
    assert [item["id"] for item in data["below_floor"]] == ["chain:example:1.4"]
    assert "chain:example:1.4" not in [item["id"] for item in data["dependencies"]]


def test_deps_closure_floor_zero_keeps_all(capsys, monkeypatch, home):
    status, out, _ = run(capsys, monkeypatch, home, "deps", "chain", "Exercise 1.6", "--closure",
                         "--similarity-floor", "0", "--json")

    assert status == 0
    data = json.loads(out)
    assert data["below_floor"] == []
    assert "chain:example:1.4" in [item["id"] for item in data["dependencies"]]


def test_deps_floor_needs_closure(capsys, monkeypatch, home):
    status, _, err = run(capsys, monkeypatch, home, "deps", "chain", "Exercise 1.6", "--similarity-floor", "0.2")

    assert status == 2
    assert "--closure" in err


def test_prompt_similarity_floor(capsys, monkeypatch, home):
    _, floored, _ = run(capsys, monkeypatch, home, "prompt", "chain", "Exercise 1.6")
    _, unfloored, err = run(capsys, monkeypatch, home, "prompt", "chain", "Exercise 1.6", "--similarity-floor", "0")

    assert "bakery" not in floored
    assert "bakery" in unfloored
    assert "5 context items" in err


@pytest.fixture
def exercise_gold(tmp_path):
    """Gold for the chain book with one edge: Exercise 1.6 cites Lemma 1.3."""
    gold = tmp_path / "gold.json"
    gold.write_text(json.dumps({
        "items": [{"id": "l", "kind": "lemma", "number": "1.3"}, {"id": "e", "kind": "exercise", "number": "1.6"}],
        "edges": [{"src": "e", "dst": "l", "via": "ref"}],
    }), encoding="utf-8")
    return gold


def test_eval_task_context_json(capsys, monkeypatch, home, exercise_gold):
    status, out, _ = run(capsys, monkeypatch, home, "eval", "chain", "--gold", str(exercise_gold), "--task", "context",
                         "--json")

    assert status == 0
    report = json.loads(out)
    assert report["top"] == 10
    unfloored, floored = report["runs"]
    assert unfloored["similarity_floor"] == 0.0
    assert floored["similarity_floor"] == DEFAULT_SIMILARITY_FLOOR
    assert floored["groups"]["all"]["recall"] == 1.0
    assert floored["groups"]["all"]["mean_items"] < unfloored["groups"]["all"]["mean_items"]


def test_eval_task_context_text(capsys, monkeypatch, home, exercise_gold):
    status, out, _ = run(capsys, monkeypatch, home, "eval", "chain", "--gold", str(exercise_gold), "--task", "context",
                         "--verbose")

    assert status == 0
    assert "all gold sources" in out
    assert "gold sources of kind exercise" in out
    assert "1 gold sources with edges" in out


def test_deps_budget_drops_everything(capsys, monkeypatch, home):
    status, out, _ = run(capsys, monkeypatch, home, "deps", "chain", "Exercise 1.6", "--closure", "--budget", "1")

    assert status == 0
    assert "nothing found" not in out
    assert "none kept: all 4 items were dropped to fit the 1-token budget" in " ".join(out.split())
    assert "Raise --budget to at least" in out


@pytest.fixture
def foreign_gold(tmp_path):
    """Gold of another book: three sources with edges, of which only one matches a stored item of chain."""
    gold = tmp_path / "gold.json"
    gold.write_text(json.dumps({
        "items": [
            {"id": "a", "kind": "lemma", "number": "7.1"},
            {"id": "b", "kind": "theorem", "number": "7.2"},
            {"id": "c", "kind": "exercise", "number": "1.6"},
            {"id": "d", "kind": "lemma", "number": "1.3"},
        ],
        "edges": [
            {"src": "b", "dst": "a", "via": "ref"},
            {"src": "a", "dst": "d", "via": "uses"},
            {"src": "c", "dst": "d", "via": "ref"},
        ],
    }), encoding="utf-8")
    return gold


@pytest.mark.parametrize("task", ["deps", "context"])
def test_eval_foreign_gold_fails(capsys, monkeypatch, home, foreign_gold, task):
    status, out, err = run(capsys, monkeypatch, home, "eval", "chain", "--gold", str(foreign_gold), "--task", task)

    assert status == 1
    assert out == ""
    assert "2 of the 3 gold sources" in err
    assert "may belong to another book" in err

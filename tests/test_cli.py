"""The command line end to end on the bundled sample chapter, through the real entry point."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import cli
from kg.factory import open_graph_store
from kg.models import Book, BookGraph, Entity, Section, SectionReference
from kg.workspace import Workspace

COMMANDS = ["ingest", "books", "delete", "show", "deps", "search", "prompt", "formalize", "export", "eval", "demo"]


@dataclass
class Result:
    status: int
    out: str
    err: str


def invoke(capsys, monkeypatch, *args: str) -> Result:
    """Run `lemmagraph ARGS` in-process through `cli.run` and capture its exit status."""
    monkeypatch.setattr(sys, "argv", ["lemmagraph", *args])
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        cli.run()
    captured = capsys.readouterr()
    code = exit_info.value.code
    # SystemExit(None) means success; any other non-integer code means failure.
    if not isinstance(code, int):
        code = 0 if code is None else 1
    return Result(code, captured.out, captured.err)


REPO = Path(__file__).resolve().parents[1]
# Opens the embedded store at argv[1], prints "holding", and keeps the store open until stdin closes.
HOLD_STORE_SCRIPT = (
    "import sys\n"
    "from kg.ladybug_store import LadybugStore\n"
    "store = LadybugStore(sys.argv[1])\n"
    "print('holding', flush=True)\n"
    "sys.stdin.read()\n"
    "store.close()\n"
)


@pytest.fixture(scope="module")
def sample_pdf(tmp_path_factory) -> Path:
    from ingest.render import render_sample_chapter

    return render_sample_chapter(tmp_path_factory.mktemp("sample") / "convexity.pdf")


@pytest.fixture(scope="module")
def home(tmp_path_factory, sample_pdf) -> Path:
    """A workspace with the sample chapter ingested once for the whole module."""
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(sys, "argv", ["lemmagraph", "--home", str(home), "ingest", str(sample_pdf), "--book", "sample"])
        with pytest.raises(SystemExit) as exit_info:
            cli.run()
    assert exit_info.value.code in (0, None)
    return home


@pytest.fixture(autouse=True)
def no_llm_environment(monkeypatch):
    for variable in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "LEMMAGRAPH_MODEL", "LEMMAGRAPH_HOME", "LEMMAGRAPH_STORE"):
        monkeypatch.delenv(variable, raising=False)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_example(capsys, monkeypatch, command):
    result = invoke(capsys, monkeypatch, command, "--help")

    assert result.status == 0
    assert "Example: lemmagraph" in result.out


def test_books_lists_sample(capsys, monkeypatch, home):
    result = invoke(capsys, monkeypatch, "--home", str(home), "books", "--json")

    books = json.loads(result.out)
    assert [entry["book"]["id"] for entry in books] == ["sample"]
    assert books[0]["items"] >= 10
    assert books[0]["items_by_kind"]["exercise"] >= 3


def test_show_prints_item_json(capsys, monkeypatch, home):
    result = invoke(capsys, monkeypatch, "--home", str(home), "show", "sample", "Definition 1.1", "--json")

    item = json.loads(result.out)
    assert result.status == 0
    assert item["id"] == "sample:definition:1.1"
    assert item["kind"] == "definition"
    assert "convex" in item["text"].lower()


def test_deps_json_shape_and_citation(capsys, monkeypatch, home):
    exported = json.loads(invoke(capsys, monkeypatch, "--home", str(home), "export", "sample", "--format", "json").out)
    citing_exercises = {
        edge["source"] for edge in exported["edges"]
        if edge["type"] == "REFERENCES" and ":exercise:" in edge["source"]
    }
    assert citing_exercises, "the sample chapter should have exercises that cite items"
    exercise_id = sorted(citing_exercises)[0]
    cited = {edge["target"] for edge in exported["edges"] if edge["type"] == "REFERENCES" and edge["source"] == exercise_id}

    result = invoke(capsys, monkeypatch, "--home", str(home), "deps", "sample", exercise_id, "--top", "8", "--json")

    data = json.loads(result.out)
    assert data["target"]["id"] == exercise_id
    found = {dependency["id"]: dependency for dependency in data["dependencies"]}
    assert cited <= set(found)
    for dependency in data["dependencies"]:
        assert set(dependency) == {"id", "kind", "number", "title", "page", "score", "reasons"}
        assert dependency["reasons"]
    scores = [dependency["score"] for dependency in data["dependencies"]]
    assert scores == sorted(scores, reverse=True)


def test_export_json_document(capsys, monkeypatch, home):
    result = invoke(capsys, monkeypatch, "--home", str(home), "export", "sample", "--format", "json")

    document = json.loads(result.out)
    assert document["book"]["id"] == "sample"
    ids = {entity["id"] for entity in document["entities"]}
    assert all(set(entity) == {"id", "kind", "number", "title", "page", "text"} for entity in document["entities"])
    references = [edge for edge in document["edges"] if edge["type"] == "REFERENCES"]
    assert references
    assert all(edge["source"] in ids and edge["target"] in ids for edge in references)


def test_export_json_lists_sections(capsys, monkeypatch, home):
    result = invoke(capsys, monkeypatch, "--home", str(home), "export", "sample", "--format", "json")

    document = json.loads(result.out)
    assert list(document) == ["book", "entities", "edges", "sections"]
    numbers = [section["number"] for section in document["sections"]]
    assert numbers == ["1", "1.1", "1.2", "1.3", "1.4"]
    chapter = document["sections"][0]["id"]
    assert [section["parent_id"] for section in document["sections"]] == [None] + [chapter] * 4


def _write_book_citing_sections(home: Path) -> None:
    book = Book("cited", "Cited", "/books/cited.pdf", 3, "cd" * 32)
    section = Section("cited:section:2.3", "cited", "2.3", "Duality", 2, 2, None, 0)
    lemma = Entity("cited:lemma:2.4", "cited", "lemma", "2.4", None, "A claim.", 3, 0,
                   section="2.3 Duality", section_id=section.id)
    citation = SectionReference(lemma.id, section.id, "Section 2.3", 3)
    store = open_graph_store(Workspace(home))
    try:
        store.write_book(BookGraph(book, [lemma], sections=[section], section_references=[citation]))
    finally:
        store.close()


def test_show_lists_cited_sections(capsys, monkeypatch, tmp_path):
    home = tmp_path / "home"
    _write_book_citing_sections(home)

    text = invoke(capsys, monkeypatch, "--home", str(home), "show", "cited", "Lemma 2.4")
    shown = json.loads(invoke(capsys, monkeypatch, "--home", str(home), "show", "cited", "Lemma 2.4", "--json").out)

    assert text.status == 0
    assert "cites sections: \u00a72.3" in text.out
    assert shown["section_references"] == [
        {"source_id": "cited:lemma:2.4", "section_id": "cited:section:2.3", "surface": "Section 2.3",
         "page": 3, "in_proof": False}
    ]


def test_prompt_contains_target_text(capsys, monkeypatch, home):
    shown = json.loads(invoke(capsys, monkeypatch, "--home", str(home), "show", "sample", "Definition 1.1", "--json").out)

    result = invoke(capsys, monkeypatch, "--home", str(home), "prompt", "sample", "Definition 1.1")

    assert result.status == 0
    assert shown["text"][:60] in result.out


def test_unknown_item_suggests_close_matches(capsys, monkeypatch, home):
    result = invoke(capsys, monkeypatch, "--home", str(home), "show", "sample", "Exercise 1.30")

    assert result.status == 1
    assert "no Exercise 1.30 in sample" in result.err
    assert "did you mean" in result.err


def test_unknown_book_fails_cleanly(capsys, monkeypatch, home):
    result = invoke(capsys, monkeypatch, "--home", str(home), "deps", "nope", "Lemma 1.1")

    assert result.status == 1
    assert "nope" in result.err
    assert "Traceback" not in result.err


def test_formalize_without_endpoint_names_settings(capsys, monkeypatch, home):
    result = invoke(capsys, monkeypatch, "--home", str(home), "formalize", "sample", "Definition 1.1")

    assert result.status == 1
    assert "OPENAI_BASE_URL" in result.err
    assert "LEMMAGRAPH_MODEL" in result.err


def test_ingest_not_a_pdf_keeps_store(capsys, monkeypatch, home, tmp_path):
    bogus = tmp_path / "notes.pdf"
    bogus.write_text("plain text, not a PDF")

    result = invoke(capsys, monkeypatch, "--home", str(home), "ingest", str(bogus), "--book", "sample")

    assert result.status == 1
    assert str(bogus) in result.err
    books = json.loads(invoke(capsys, monkeypatch, "--home", str(home), "books", "--json").out)
    assert books[0]["items"] >= 10


def test_failed_vector_write_keeps_book_and_vectors(capsys, monkeypatch, tmp_path, sample_pdf):
    import faiss

    home = tmp_path / "home"
    assert invoke(capsys, monkeypatch, "--home", str(home), "ingest", str(sample_pdf), "--book", "kept").status == 0
    stored = json.loads(invoke(capsys, monkeypatch, "--home", str(home), "books", "--json").out)
    vectors_before = (home / "vectors" / "kept.faiss").read_bytes()

    def full_disk(*args):
        raise RuntimeError("No space left on device")

    monkeypatch.setattr(faiss, "write_index", full_disk)
    result = invoke(capsys, monkeypatch, "--home", str(home), "ingest", str(sample_pdf), "--book", "kept")
    monkeypatch.undo()

    assert result.status == 1
    assert "could not write the vectors of book 'kept'" in result.err
    books = json.loads(invoke(capsys, monkeypatch, "--home", str(home), "books", "--json").out)
    assert books[0]["book"]["ingested_at"] == stored[0]["book"]["ingested_at"], "the stored book was not rewritten"
    assert (home / "vectors" / "kept.faiss").read_bytes() == vectors_before
    assert not list((home / "vectors").glob("*.tmp"))
    assert invoke(capsys, monkeypatch, "--home", str(home), "deps", "kept", "Exercise 1.18").status == 0


def test_ingest_into_locked_store_fails_before_reading(capsys, monkeypatch, tmp_path, sample_pdf):
    import subprocess

    import commands.services
    import ingest.pipeline

    home = tmp_path / "home"
    assert invoke(capsys, monkeypatch, "--home", str(home), "books").status == 0
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_STORE_SCRIPT, str(home / "graph.lbdb")],
        cwd=REPO, stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        monkeypatch.setattr(ingest.pipeline, "ingest_pdf", lambda *args, **kwargs: pytest.fail("the PDF was read"))
        monkeypatch.setattr(commands.services, "STORE_OPEN_WAIT_SECONDS", 0.3)

        result = invoke(capsys, monkeypatch, "--home", str(home), "ingest", str(sample_pdf), "--book", "late")
    finally:
        holder.communicate("", timeout=30)

    assert result.status == 1
    assert "locked by another process" in result.err


def test_command_waits_for_briefly_locked_store(capsys, monkeypatch, tmp_path):
    import subprocess
    import threading

    home = tmp_path / "home"
    assert invoke(capsys, monkeypatch, "--home", str(home), "books").status == 0
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_STORE_SCRIPT, str(home / "graph.lbdb")],
        cwd=REPO, stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True,
    )
    assert holder.stdout.readline().strip() == "holding"
    release = threading.Timer(1.0, holder.stdin.close)
    release.start()
    try:
        result = invoke(capsys, monkeypatch, "--home", str(home), "books", "--json")
    finally:
        release.join()
        holder.wait(timeout=30)

    assert result.status == 0, result.err
    assert json.loads(result.out) == []


def test_invalid_book_id_is_usage_error(capsys, monkeypatch, tmp_path, sample_pdf):
    result = invoke(capsys, monkeypatch, "--home", str(tmp_path), "ingest", str(sample_pdf), "--book", "Bad Id!")

    assert result.status == 2
    assert "not a valid book id" in result.err


def test_delete_removes_book_and_vectors(capsys, monkeypatch, tmp_path, sample_pdf):
    assert invoke(capsys, monkeypatch, "--home", str(tmp_path), "ingest", str(sample_pdf), "--book", "gone").status == 0
    assert (tmp_path / "vectors" / "gone.faiss").is_file()

    result = invoke(capsys, monkeypatch, "--home", str(tmp_path), "delete", "gone", "--yes")

    assert result.status == 0
    assert json.loads(invoke(capsys, monkeypatch, "--home", str(tmp_path), "books", "--json").out) == []
    assert not (tmp_path / "vectors" / "gone.faiss").exists()


def test_delete_unknown_book_fails(capsys, monkeypatch, tmp_path):
    result = invoke(capsys, monkeypatch, "--home", str(tmp_path), "delete", "nope", "--yes")

    assert result.status == 1
    assert "nope" in result.err


def test_closed_stdout_pipe_exits_zero(tmp_path):
    """A reader that stops early (`| head`) is not a failure, for rich and plain output alike."""
    import subprocess

    from kg.ladybug_store import LadybugStore
    from kg.models import Book, BookGraph, Entity

    # Far more than a pipe buffer holds, so the writer sees the closed pipe.
    long_text = "a convex set contains every segment between two of its points. " * 5000
    graph = BookGraph(
        Book("big", "Big book", "big.pdf", 1, "0" * 64),
        entities=[Entity("big:lemma:1.1", "big", "lemma", "1.1", None, long_text, 1, 0)],
    )
    with LadybugStore(tmp_path / "graph.lbdb") as store:
        store.write_book(graph)

    lemmagraph = Path(sys.executable).with_name("lemmagraph")
    for arguments in (["show", "big", "Lemma 1.1"], ["export", "big"]):
        with subprocess.Popen(
            [str(lemmagraph), "--home", str(tmp_path), *arguments],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        ) as process:
            process.stdout.read(5)
            process.stdout.close()
            status = process.wait(timeout=120)
            err = process.stderr.read().decode()

        assert status == 0, (arguments, err)
        assert "Traceback" not in err


def test_uncreatable_home_fails_cleanly(capsys, monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")

    result = invoke(capsys, monkeypatch, "--home", str(blocker / "home"), "books")

    assert result.status == 1
    assert "cannot create the workspace folder" in result.err
    assert "--home" in result.err


def test_eval_warns_on_gold_of_other_book(capsys, monkeypatch, home, tmp_path):
    gold = tmp_path / "gold.json"
    gold.write_text(json.dumps({
        "items": [{"id": "x", "kind": "lemma", "number": "9.9", "page": 1, "title": None}],
        "edges": [],
    }))

    result = invoke(capsys, monkeypatch, "--home", str(home), "eval", "sample", "--gold", str(gold))

    assert result.status == 0
    assert "check that the gold file belongs to this book" in result.err

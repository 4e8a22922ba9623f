"""The command line prints the same JSON whichever graph store contains the book.

The sample chapter is ingested through `cli.run` once into the embedded store
and once into the Neo4j test server. Every read command's JSON output is then
compared. Only the book's `ingested_at` differs between the two ingests, so
that one field is removed after checking that both outputs have it.

`deps` ranks by cosine similarity: the embedded store searches FAISS exactly,
and the Neo4j vector index re-scores its candidates on the stored vectors, so
the printed scores (rounded to 4 decimals) must agree exactly.
"""

from __future__ import annotations

import io
import json
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import neo4j
import pytest

import cli
from kg.factory import Neo4jConnection

pytestmark = pytest.mark.neo4j

BOOK = "sample"
# Items whose dependencies are compared in detail: exercises that cite
# definitions, lemmas and an algorithm, a theorem cited by an exercise, and a
# definition that cites nothing.
DEPS_REFS = ["Exercise 1.22", "Exercise 1.24", "Exercise 1.19", "Theorem 1.16", "Lemma 1.12", "Definition 1.9"]
# Variables that would override the flags or point a command at a user's data.
ENVIRONMENT = (
    "LEMMAGRAPH_HOME", "LEMMAGRAPH_STORE", "NEO4J_URI", "NEO4J_USERNAME", "NEO4J_PASSWORD", "NEO4J_DATABASE",
    "OPENAI_BASE_URL", "OPENAI_API_KEY", "LEMMAGRAPH_MODEL",
)


@dataclass
class Result:
    status: int
    out: str
    err: str


@dataclass
class Store:
    """How to point the command line at one graph store."""

    name: str
    flags: list[str]

    def run(self, *args: str) -> Result:
        """Run `lemmagraph FLAGS ARGS` in-process and capture its exit status, stdout and stderr."""
        out, err = io.StringIO(), io.StringIO()
        with pytest.MonkeyPatch.context() as monkeypatch:
            for variable in ENVIRONMENT:
                monkeypatch.delenv(variable, raising=False)
            monkeypatch.setattr(sys, "argv", ["lemmagraph", *self.flags, *args])
            with redirect_stdout(out), redirect_stderr(err), pytest.raises(SystemExit) as exit_info:
                cli.run()
        code = exit_info.value.code
        if code is None:
            status = 0
        elif isinstance(code, int):
            status = code
        else:
            status = 1
        return Result(status, out.getvalue(), err.getvalue())

    def json(self, *args: str):
        """Run a command that must succeed and return its stdout parsed as JSON."""
        result = self.run(*args)
        assert result.status == 0, f"{self.name}: lemmagraph {' '.join(args)} failed: {result.err}"
        return json.loads(result.out)


def without_ingested_at(book: dict, store_name: str) -> dict:
    """Return a book record without `ingested_at`, after checking that the store filled it in."""
    assert book.get("ingested_at"), f"{store_name}: book {book.get('id')!r} has no ingested_at"
    return {key: value for key, value in book.items() if key != "ingested_at"}


def delete_all_nodes(connection: Neo4jConnection) -> None:
    auth = (connection.username, connection.password)
    with neo4j.GraphDatabase.driver(connection.uri, auth=auth) as driver:
        driver.execute_query("MATCH (n) DETACH DELETE n", database_=connection.database)


def embedding_node_count(connection: Neo4jConnection, book_id: str) -> int:
    """Count the book's nodes that hold its vectors in Neo4j: Entity nodes with an embedding, Book nodes with a count."""
    auth = (connection.username, connection.password)
    query = """
    CALL {
        MATCH (e:Entity {book_id: $book_id}) WHERE e.embedding IS NOT NULL RETURN e AS n
        UNION
        MATCH (b:Book {id: $book_id}) WHERE b.embedding_count IS NOT NULL RETURN b AS n
    }
    RETURN count(n) AS count
    """
    with neo4j.GraphDatabase.driver(connection.uri, auth=auth) as driver:
        records, _, _ = driver.execute_query(query, book_id=book_id, database_=connection.database)
    return records[0]["count"]


def neo4j_flags(connection: Neo4jConnection, home: Path) -> list[str]:
    flags = ["--home", str(home), "--store", "neo4j", "--neo4j-uri", connection.uri]
    if connection.username:
        flags += ["--neo4j-username", connection.username]
    if connection.password:
        flags += ["--neo4j-password", connection.password]
    return flags


@pytest.fixture(scope="module")
def sample_pdf(tmp_path_factory) -> Path:
    from ingest.render import render_sample_chapter

    return render_sample_chapter(tmp_path_factory.mktemp("sample") / "convexity.pdf")


@pytest.fixture(scope="module")
def outputs(tmp_path_factory, sample_pdf, neo4j_connection) -> dict[str, dict]:
    """Ingest the sample into both stores and collect every compared output, keyed by store name.

    The outputs are collected here, not in each test, because other tests wipe
    the shared Neo4j server.
    """
    delete_all_nodes(neo4j_connection)
    stores = [
        Store("embedded", ["--home", str(tmp_path_factory.mktemp("embedded-home"))]),
        Store("neo4j", neo4j_flags(neo4j_connection, tmp_path_factory.mktemp("neo4j-home"))),
    ]
    collected: dict[str, dict] = {}
    for store in stores:
        ingested = store.run("ingest", str(sample_pdf), "--book", BOOK)
        assert ingested.status == 0, f"{store.name}: ingest failed: {ingested.err}"

        export = store.json("export", BOOK, "--format", "json")
        refs = [f"{entity['kind'].capitalize()} {entity['number']}" for entity in export["entities"]]
        collected[store.name] = {
            "books": store.json("books", "--json"),
            "export": export,
            "show": {ref: store.json("show", BOOK, ref, "--json") for ref in refs},
            "deps": {ref: store.json("deps", BOOK, ref, "--json") for ref in DEPS_REFS},
            "closure": {ref: store.json("deps", BOOK, ref, "--closure", "--json") for ref in DEPS_REFS},
        }
    return collected


def test_books_json_matches(outputs):
    embedded, neo4j_books = outputs["embedded"]["books"], outputs["neo4j"]["books"]

    assert [entry["book"]["id"] for entry in embedded] == [BOOK]
    assert [entry["book"]["id"] for entry in neo4j_books] == [BOOK]
    for entry in embedded:
        entry["book"] = without_ingested_at(entry["book"], "embedded")
    for entry in neo4j_books:
        entry["book"] = without_ingested_at(entry["book"], "neo4j")
    assert neo4j_books == embedded


def test_export_json_matches(outputs):
    embedded, neo4j_export = outputs["embedded"]["export"], outputs["neo4j"]["export"]

    assert len(embedded["entities"]) >= 20
    assert any(edge["type"] == "REFERENCES" for edge in embedded["edges"])
    embedded["book"] = without_ingested_at(embedded["book"], "embedded")
    neo4j_export["book"] = without_ingested_at(neo4j_export["book"], "neo4j")
    assert neo4j_export["book"] == embedded["book"]
    assert neo4j_export["entities"] == embedded["entities"]
    assert neo4j_export["edges"] == embedded["edges"]
    assert len(embedded["sections"]) == 5
    assert neo4j_export["sections"] == embedded["sections"]


def test_show_json_matches_for_every_item(outputs):
    embedded, neo4j_show = outputs["embedded"]["show"], outputs["neo4j"]["show"]

    assert sorted(neo4j_show) == sorted(embedded)
    assert embedded["Exercise 1.22"]["references"], "the sample's Exercise 1.22 should cite items"
    for ref, item in embedded.items():
        assert neo4j_show[ref] == item, f"show {ref!r} differs between the stores"


@pytest.mark.parametrize("ref", DEPS_REFS)
def test_deps_json_matches(outputs, ref):
    embedded, neo4j_deps = outputs["embedded"]["deps"][ref], outputs["neo4j"]["deps"][ref]

    assert embedded["dependencies"], f"deps {ref!r} found nothing on the embedded store"
    assert neo4j_deps == embedded


def test_deps_of_exercise_use_citations(outputs):
    dependencies = outputs["neo4j"]["deps"]["Exercise 1.22"]["dependencies"]

    cited = [
        dependency for dependency in dependencies
        if any(reason.startswith("cited as") for reason in dependency["reasons"])
    ]
    assert len(cited) >= 3


@pytest.mark.parametrize("ref", DEPS_REFS)
def test_deps_closure_json_matches(outputs, ref):
    assert outputs["neo4j"]["closure"][ref] == outputs["embedded"]["closure"][ref]


def test_delete_removes_book_and_vectors(tmp_path, sample_pdf, empty_neo4j):
    store = Store("neo4j", neo4j_flags(empty_neo4j, tmp_path / "home"))
    ingested = store.run("ingest", str(sample_pdf), "--book", BOOK)
    assert ingested.status == 0, ingested.err
    assert embedding_node_count(empty_neo4j, BOOK) > 0

    deleted = store.run("delete", BOOK, "--yes")

    assert deleted.status == 0, deleted.err
    assert store.json("books", "--json") == []
    assert embedding_node_count(empty_neo4j, BOOK) == 0
    show_after_delete = store.run("show", BOOK, "Definition 1.1", "--json")
    assert show_after_delete.status == 1
    assert "not found" in show_after_delete.err

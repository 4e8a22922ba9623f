"""Tests of the embedded store that look below the `GraphStore` interface."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kg.errors import GraphStoreError, NotFoundError
from kg.ladybug_store import LadybugStore
from tests.kg.test_store_contract import (
    LEMMA,
    REMARK,
    THEOREM,
    algebra_book,
    make_target,
    second_version,
)

REPO_ROOT = Path(__file__).resolve().parents[2]

NODE_TABLES = ("Book", "Entity", "Term", "LeanTarget")
REL_TABLES = ("CONTAINS", "REFERENCES", "DEFINES", "MENTIONS", "FORMALIZES", "USED_CONTEXT")


@pytest.fixture
def store(tmp_path):
    store = LadybugStore(tmp_path / "graph.lbdb")
    yield store
    store.close()


def count_rows(store: LadybugStore) -> dict[str, int]:
    """Count every node and relationship in the database, by table."""
    counts = {}
    for label in NODE_TABLES:
        counts[label] = store._run(f"MATCH (n:{label}) RETURN count(n)")[0][0]
    for rel_type in REL_TABLES:
        counts[rel_type] = store._run(f"MATCH ()-[r:{rel_type}]->() RETURN count(r)")[0][0]
    return counts


def test_rewrite_leaves_no_stray_nodes(store):
    store.write_book(algebra_book())
    store.write_target(make_target("t-lemma", LEMMA, "2024-05-02", [THEOREM, REMARK]))
    store.write_target(make_target("t-remark", REMARK, "2024-05-02", [LEMMA]))
    once = count_rows(store)

    store.write_book(algebra_book())
    assert count_rows(store) == once

    store.write_book(second_version())
    assert count_rows(store) == {
        "Book": 1,
        "Entity": 4,
        "Term": 1,
        "LeanTarget": 1,
        "CONTAINS": 4,
        "REFERENCES": 5,
        "DEFINES": 1,
        "MENTIONS": 1,
        "FORMALIZES": 1,
        "USED_CONTEXT": 1,
    }


def test_delete_book_removes_every_row(store):
    store.write_book(algebra_book("geo", "Geometry"))
    only_geo = count_rows(store)
    store.write_book(algebra_book())
    store.write_target(make_target("t-lemma", LEMMA, "2024-05-02", [THEOREM]))

    store.delete_book("alg")

    assert count_rows(store) == only_geo


def test_incomplete_book_is_hidden_then_replaced(store):
    store.write_book(algebra_book())
    store._run("MATCH (b:Book {id: 'alg'}) SET b.complete = false")

    assert store.books() == []
    with pytest.raises(NotFoundError):
        store.entity(LEMMA)
    with pytest.raises(NotFoundError):
        store.entities("alg")

    store.write_book(algebra_book())

    assert [summary.book.id for summary in store.books()] == ["alg"]
    assert count_rows(store)["Entity"] == 5


def test_incomplete_book_can_be_deleted(store):
    store.write_book(algebra_book())
    store._run("MATCH (b:Book {id: 'alg'}) SET b.complete = false")

    store.delete_book("alg")

    assert count_rows(store)["Book"] == 0
    assert count_rows(store)["Entity"] == 0


def test_failed_write_rolls_back(store, monkeypatch):
    store.write_book(algebra_book())
    before = count_rows(store)

    def fail(*args):
        store._run("RETURN undefined_function_for_test(1)")

    monkeypatch.setattr(store, "_relink_targets", fail)
    with pytest.raises(GraphStoreError, match="query failed") as raised:
        store.write_book(second_version())

    assert raised.value.__cause__ is not None
    assert count_rows(store) == before
    assert store.book("alg").book.title == "Algebra"


def test_second_process_gets_lock_error(store, tmp_path):
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from kg.errors import GraphStoreError
        from kg.ladybug_store import LadybugStore
        try:
            LadybugStore(Path({str(store.path)!r}))
        except GraphStoreError as exc:
            print(exc)
        """
    )

    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    assert str(store.path) in result.stdout
    assert "locked by another process" in result.stdout


def test_closed_store_raises(store):
    store.close()

    with pytest.raises(GraphStoreError, match="is closed"):
        store.books()


def test_close_twice_is_harmless(store):
    store.close()
    store.close()


# The LeanTarget table as the first release created it, before the check and cost columns.
FIRST_RELEASE_TARGET_TABLE = """
CREATE NODE TABLE LeanTarget(
    id STRING, entity_id STRING, book_id STRING, informal_statement STRING,
    lean_code STRING, status STRING, check_output STRING, model STRING,
    created_at STRING, lean_path STRING, prompt_tokens INT64,
    completion_tokens INT64,
    PRIMARY KEY(id))
"""


def test_old_target_table_gains_new_columns(tmp_path):
    import ladybug

    path = tmp_path / "graph.lbdb"
    database = ladybug.Database(path)
    connection = ladybug.Connection(database)
    connection.execute(FIRST_RELEASE_TARGET_TABLE)
    connection.close()
    database.close()

    store = LadybugStore(path)
    try:
        store.write_book(algebra_book())
        target = make_target("t-1", LEMMA, "2024-05-01T09:00:00", [THEOREM])
        target.verdict = "faithful"
        target.dropped_context_ids = [REMARK]
        store.write_target(target)

        (stored,) = store.targets(LEMMA)
    finally:
        store.close()
    assert stored.verdict == "faithful"
    assert stored.dropped_context_ids == [REMARK]

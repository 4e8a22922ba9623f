"""Failures of the Neo4j store against real servers: unreachable, wrong password, stopped mid-write."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import neo4j
import pytest

from kg.errors import GraphStoreError
from kg.factory import Neo4jConnection
from kg.models import Book, BookGraph, Entity, Reference
from kg.neo4j_store import Neo4jStore
from tests.kg.test_store_contract import make_target

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "neo4j-local"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_unreachable_server_names_uri_and_fix():
    uri = f"bolt://127.0.0.1:{free_port()}"

    with pytest.raises(GraphStoreError) as raised:
        Neo4jStore(uri, "neo4j", "password", retry_seconds=1)

    message = str(raised.value)
    assert uri in message
    assert "not reachable" in message
    assert "scripts/neo4j-local start" in message
    assert isinstance(raised.value.__cause__, neo4j.exceptions.ServiceUnavailable)


def test_invalid_uri_scheme_rejected():
    with pytest.raises(GraphStoreError, match="invalid Neo4j URI 'http://127.0.0.1:7474'"):
        Neo4jStore("http://127.0.0.1:7474", "neo4j", "password")
    with pytest.raises(GraphStoreError, match="invalid Neo4j URI '127.0.0.1:7687'"):
        Neo4jStore("127.0.0.1:7687", "neo4j", "password")


@pytest.mark.neo4j
def test_wrong_password_rejected(neo4j_connection):
    with pytest.raises(GraphStoreError) as raised:
        Neo4jStore(neo4j_connection.uri, neo4j_connection.username, "not-the-password")

    message = str(raised.value)
    assert "rejected the credentials of user 'neo4j'" in message
    assert "NEO4J_PASSWORD" in message
    assert "not-the-password" not in message


@pytest.mark.neo4j
def test_missing_database_rejected(neo4j_connection):
    with pytest.raises(GraphStoreError, match="nosuchdb"):
        Neo4jStore(neo4j_connection.uri, neo4j_connection.username, neo4j_connection.password, "nosuchdb")


# --- A throwaway server, stopped in the middle of a write ------------------------


class ThrowawayServer:
    """A server started by scripts/neo4j-local in its own folder, apart from the shared test server."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.environment = {**os.environ, "NEO4J_LOCAL_DIR": str(folder)}
        self.connection: Neo4jConnection | None = None

    def start(self) -> Neo4jConnection:
        result = subprocess.run(
            [str(SCRIPT), "start"], env=self.environment, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, result.stderr
        values = {}
        for line in result.stdout.splitlines():
            name, _, value = line.removeprefix("export ").partition("=")
            values[name] = value
        self.connection = Neo4jConnection(values["NEO4J_URI"], values["NEO4J_USERNAME"], values["NEO4J_PASSWORD"])
        return self.connection

    def kill(self) -> None:
        """Kill the server process without a clean shutdown, as a crash or power loss would."""
        pid = int((self.folder / "server.pid").read_text())
        os.kill(pid, signal.SIGKILL)
        while (self.folder / "server.pid").exists() and _alive(pid):
            time.sleep(0.05)

    def stop(self) -> None:
        subprocess.run([str(SCRIPT), "stop"], env=self.environment, capture_output=True, timeout=120)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def throwaway_server(tmp_path, neo4j_connection) -> Iterator[ThrowawayServer]:
    # Depends on neo4j_connection only to skip where no Neo4j server can run.
    server = ThrowawayServer(tmp_path / "server")
    yield server
    server.stop()


def big_book(item_count: int) -> BookGraph:
    """A book large enough that writing it takes many transactions."""
    entities = [
        Entity(
            id=f"big:lemma:{i}",
            book_id="big",
            kind="lemma",
            number=str(i),
            title=None,
            text=f"Lemma {i}. " + "Every bounded monotone sequence converges. " * 8,
            page=1 + i // 10,
            order=i,
        )
        for i in range(item_count)
    ]
    references = [
        Reference(f"big:lemma:{i}", f"big:lemma:{i - 1}", f"Lemma {i - 1}", 1 + i // 10)
        for i in range(1, item_count)
    ]
    book = Book("big", "Big", "/books/big.pdf", item_count // 10, "ef" * 32)
    return BookGraph(book, entities, references)


def count(driver: neo4j.Driver, query: str) -> int:
    return driver.execute_query(query).records[0][0]


@pytest.mark.neo4j
def test_server_killed_mid_write_then_rerun_is_clean(throwaway_server):
    connection = throwaway_server.start()
    store = Neo4jStore(connection.uri, connection.username, connection.password, retry_seconds=1)
    small = big_book(3)
    store.write_book(small)
    target = make_target("t-big", "big:lemma:2", "2024-05-01T09:00:00", ["big:lemma:0", "big:lemma:1"])
    store.write_target(target)
    graph = big_book(40_000)

    # Write the large version in a thread and kill the server once some new items are in.
    failures: list[BaseException] = []

    def write() -> None:
        try:
            store.write_book(graph)
        except BaseException as exc:  # collected for the assertions below
            failures.append(exc)

    writer = threading.Thread(target=write)
    auth = (connection.username, connection.password)
    with neo4j.GraphDatabase.driver(connection.uri, auth=auth) as watcher:
        writer.start()
        deadline = time.monotonic() + 120
        while count(watcher, "MATCH (e:Entity) RETURN count(e)") < 4_000 and time.monotonic() < deadline:
            time.sleep(0.05)
        throwaway_server.kill()
    writer.join(timeout=120)
    store.close()

    assert not writer.is_alive()
    assert len(failures) == 1
    assert isinstance(failures[0], GraphStoreError)
    assert connection.uri in str(failures[0])

    # After a restart the half-written book is invisible, and a rerun replaces it.
    connection = throwaway_server.start()
    with Neo4jStore(connection.uri, connection.username, connection.password) as store:
        assert store.books() == []

        store.write_book(graph)

        assert [summary.entity_count for summary in store.books()] == [40_000]
        assert store.targets("big:lemma:2") == [target]
    with neo4j.GraphDatabase.driver(connection.uri, auth=(connection.username, connection.password)) as driver:
        assert count(driver, "MATCH (e:Entity) RETURN count(e)") == 40_000
        assert count(driver, "MATCH (e:Entity) RETURN count(DISTINCT e.id)") == 40_000
        assert count(driver, "MATCH (e:Entity) WHERE NOT (:Book)-[:CONTAINS]->(e) RETURN count(e)") == 0
        assert count(driver, "MATCH ()-[r:REFERENCES]->() RETURN count(r)") == 39_999
        assert count(driver, "MATCH (b:Book) RETURN count(b)") == 1
        assert count(driver, "MATCH (t:LeanTarget) RETURN count(t)") == 1

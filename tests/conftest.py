"""Fixtures shared by every test package.

The Neo4j fixtures delete every node of the server they use, so they read
their own variables, LEMMAGRAPH_TEST_NEO4J_URI, _USERNAME and _PASSWORD,
never the NEO4J_* variables that point Lemmagraph at a user's data.
scripts/test starts a throwaway server and sets them. Without
LEMMAGRAPH_TEST_NEO4J_URI the Neo4j tests skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kg.factory import Neo4jConnection

# The evaluation corpus lives next to the checkout, never inside it.
CORPUS_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"

NEO4J_SKIP_REASON = (
    "no Neo4j test server: run scripts/test, which starts a throwaway one and sets "
    "LEMMAGRAPH_TEST_NEO4J_URI"
)


@pytest.fixture(scope="session")
def embedder():
    """The real all-MiniLM-L6-v2 embedder, loaded once per test session."""
    from retrieval.embedding import SentenceEmbedder

    return SentenceEmbedder()


def corpus_book(name: str) -> Path:
    """Return a corpus book's folder, or skip the test saying why it cannot run."""
    folder = CORPUS_DIR / name
    if not (folder / "book.pdf").is_file() or not (folder / "gold.json").is_file():
        pytest.skip(f"corpus book {name!r} not found at {folder}: the shared corpus is absent")
    return folder


@pytest.fixture(scope="session")
def neo4j_connection() -> Neo4jConnection:
    """The shared test server's connection settings, or a skip when none was started."""
    uri = os.environ.get("LEMMAGRAPH_TEST_NEO4J_URI")
    if not uri:
        pytest.skip(NEO4J_SKIP_REASON)
    return Neo4jConnection(
        uri=uri,
        username=os.environ.get("LEMMAGRAPH_TEST_NEO4J_USERNAME", "neo4j"),
        password=os.environ.get("LEMMAGRAPH_TEST_NEO4J_PASSWORD"),
    )


@pytest.fixture
def empty_neo4j(neo4j_connection: Neo4jConnection) -> Neo4jConnection:
    """The shared test server with every node deleted, so each test starts from an empty graph."""
    import neo4j

    auth = (neo4j_connection.username, neo4j_connection.password)
    with neo4j.GraphDatabase.driver(neo4j_connection.uri, auth=auth) as driver:
        driver.execute_query("MATCH (n) DETACH DELETE n", database_=neo4j_connection.database)
    return neo4j_connection

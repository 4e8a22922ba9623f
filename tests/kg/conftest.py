"""Fixtures for tests that need a running Neo4j server.

The tests delete every node of the server they use, so they read their own
variables, LEMMAGRAPH_TEST_NEO4J_URI, _USERNAME and _PASSWORD, never the
NEO4J_* variables that point Lemmagraph at a user's data. scripts/test starts
a throwaway server and sets them. Without LEMMAGRAPH_TEST_NEO4J_URI the Neo4j
tests skip.
"""

from __future__ import annotations

import os

import neo4j
import pytest

from kg.factory import Neo4jConnection

SKIP_REASON = (
    "no Neo4j test server: run scripts/test, which starts a throwaway one and sets "
    "LEMMAGRAPH_TEST_NEO4J_URI"
)


@pytest.fixture(scope="session")
def neo4j_connection() -> Neo4jConnection:
    """The shared test server's connection settings, or a skip when none was started."""
    uri = os.environ.get("LEMMAGRAPH_TEST_NEO4J_URI")
    if not uri:
        pytest.skip(SKIP_REASON)
    return Neo4jConnection(
        uri=uri,
        username=os.environ.get("LEMMAGRAPH_TEST_NEO4J_USERNAME", "neo4j"),
        password=os.environ.get("LEMMAGRAPH_TEST_NEO4J_PASSWORD"),
    )


@pytest.fixture
def empty_neo4j(neo4j_connection: Neo4jConnection) -> Neo4jConnection:
    """The shared test server with every node deleted, so each test starts from an empty graph."""
    auth = (neo4j_connection.username, neo4j_connection.password)
    with neo4j.GraphDatabase.driver(neo4j_connection.uri, auth=auth) as driver:
        driver.execute_query("MATCH (n) DETACH DELETE n", database_=neo4j_connection.database)
    return neo4j_connection

"""Open the graph store that a workspace and a backend name select."""

from __future__ import annotations

from dataclasses import dataclass, field

from kg.errors import GraphStoreError
from kg.store import GraphStore
from kg.workspace import Workspace

BACKENDS: tuple[str, ...] = ("embedded", "neo4j")


@dataclass(frozen=True)
class Neo4jConnection:
    """Where and how to reach a Neo4j server; `database` None means the server's default database."""

    uri: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    database: str | None = None


def open_graph_store(
    workspace: Workspace,
    backend: str = "embedded",
    neo4j: Neo4jConnection | None = None,
) -> GraphStore:
    """Open the graph store of `workspace` on `backend`, "embedded" or "neo4j".

    The "neo4j" backend connects with `neo4j` and ignores the workspace.
    Raises `GraphStoreError` for an unknown or unavailable backend.
    """
    if backend == "embedded":
        # Imported here so that choosing another backend does not load LadybugDB.
        from kg.ladybug_store import LadybugStore

        return LadybugStore(workspace.graph_path)
    if backend == "neo4j":
        from kg.neo4j_store import Neo4jStore

        if neo4j is None or not neo4j.uri:
            raise GraphStoreError(
                "the neo4j graph backend needs a server URI: set NEO4J_URI or --neo4j-uri, "
                'or start the local server with `eval "$(scripts/neo4j-local start)"`'
            )
        return Neo4jStore(neo4j.uri, neo4j.username, neo4j.password, neo4j.database)
    raise GraphStoreError(f"unknown graph backend {backend!r}; expected one of: {', '.join(BACKENDS)}")

"""Open the graph store that a workspace and a backend name select."""

from __future__ import annotations

from kg.errors import GraphStoreError
from kg.store import GraphStore
from kg.workspace import Workspace

BACKENDS: tuple[str, ...] = ("embedded", "neo4j")


def open_graph_store(workspace: Workspace, backend: str = "embedded") -> GraphStore:
    """Open the graph store of `workspace` on `backend`, "embedded" or "neo4j".

    Raises `GraphStoreError` for an unknown or unavailable backend.
    """
    if backend == "embedded":
        # Imported here so that choosing another backend does not load LadybugDB.
        from kg.ladybug_store import LadybugStore

        return LadybugStore(workspace.graph_path)
    if backend == "neo4j":
        raise GraphStoreError(
            "the neo4j graph backend is not available yet; use the 'embedded' backend instead"
        )
    raise GraphStoreError(f"unknown graph backend {backend!r}; expected one of: {', '.join(BACKENDS)}")

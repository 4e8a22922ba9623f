import pytest

from kg.errors import GraphStoreError
from kg.factory import open_graph_store
from kg.ladybug_store import LadybugStore
from kg.workspace import Workspace


def test_embedded_opens_workspace_file(tmp_path):
    workspace = Workspace(tmp_path / "home")

    with open_graph_store(workspace) as store:
        assert isinstance(store, LadybugStore)
        assert store.path == workspace.graph_path

    assert workspace.graph_path.exists()


def test_neo4j_without_uri_rejected(tmp_path):
    with pytest.raises(GraphStoreError, match="NEO4J_URI") as raised:
        open_graph_store(Workspace(tmp_path), "neo4j")

    assert "scripts/neo4j-local start" in str(raised.value)


@pytest.mark.neo4j
def test_neo4j_opens_server_store(tmp_path, neo4j_connection):
    from kg.neo4j_store import Neo4jStore

    with open_graph_store(Workspace(tmp_path), "neo4j", neo4j_connection) as store:
        assert isinstance(store, Neo4jStore)
        assert store.uri == neo4j_connection.uri


def test_unknown_backend_rejected(tmp_path):
    with pytest.raises(GraphStoreError, match="unknown graph backend 'sqlite'"):
        open_graph_store(Workspace(tmp_path), "sqlite")

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


def test_neo4j_not_available_yet(tmp_path):
    with pytest.raises(GraphStoreError, match="neo4j graph backend is not available"):
        open_graph_store(Workspace(tmp_path), "neo4j")


def test_unknown_backend_rejected(tmp_path):
    with pytest.raises(GraphStoreError, match="unknown graph backend 'sqlite'"):
        open_graph_store(Workspace(tmp_path), "sqlite")

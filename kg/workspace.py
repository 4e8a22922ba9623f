"""Paths inside a Lemmagraph workspace (`--home`, `LEMMAGRAPH_HOME`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kg.errors import LemmagraphError


@dataclass(frozen=True)
class Workspace:
    home: Path

    @property
    def graph_path(self) -> Path:
        """The embedded graph store file."""
        return self.home / "graph.lbdb"

    @property
    def vectors_dir(self) -> Path:
        return self.home / "vectors"

    def vector_index_path(self, book_id: str) -> Path:
        return self.vectors_dir / f"{book_id}.faiss"

    def vector_ids_path(self, book_id: str) -> Path:
        """The entity ids in the row order of the book's FAISS index."""
        return self.vectors_dir / f"{book_id}.ids.json"

    @property
    def llm_cache_dir(self) -> Path:
        return self.home / "cache" / "llm"

    @property
    def lean_dir(self) -> Path:
        """The workspace copy of the Lake project that targets are written into."""
        return self.home / "lean"

    def ensure(self) -> Workspace:
        """Create the workspace folders if they are missing and return self."""
        try:
            self.home.mkdir(parents=True, exist_ok=True)
            self.vectors_dir.mkdir(exist_ok=True)
        except OSError as error:
            raise LemmagraphError(
                f"cannot create the workspace folder {self.home}: {error.strerror}; "
                "choose a writable folder with --home or LEMMAGRAPH_HOME"
            ) from error
        return self

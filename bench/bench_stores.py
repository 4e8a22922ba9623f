"""Benchmark: ingest and `deps` latency on the embedded store against a Neo4j server, in one run.

Both stores ingest the same PDF in the same process: parse, extract, embed,
then write the graph and the vectors. The embedding model is loaded once
before the runs and shared, so its load time (reported apart) counts for
neither store. Around each ingest, `GraphStore.write_book` and
`VectorIndex.write` are timed on their own, which isolates the store's share.
Run 1 writes into an empty store; later runs replace the book, which adds the
deletes of the old version.

`deps` latency is then measured on both stores as bench/bench_deps.py does:
one `Services` object, every item resolved by its printed label and ranked,
the first call reported apart and left out of p50 and p99.

The Neo4j server is a fresh one that this script starts with
`scripts/neo4j-local` in a temporary folder and always stops.

Usage: .venv/bin/python bench/bench_stores.py [PDF] [--book ID] [--runs N]
The default PDF is the 534-page corpus book next to the checkout.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_PDF = REPO.parent / "shared" / "corpus" / "open-optimization-or" / "book.pdf"
NEO4J_LOCAL = REPO / "scripts" / "neo4j-local"


def start_neo4j(folder: Path) -> dict[str, str]:
    """Start a local Neo4j server in `folder` and return its NEO4J_* variables."""
    environment = {**os.environ, "NEO4J_LOCAL_DIR": str(folder)}
    output = subprocess.run(
        [str(NEO4J_LOCAL), "start"], env=environment, check=True, capture_output=True, text=True
    ).stdout
    variables = {}
    for line in output.splitlines():
        words = shlex.split(line)
        if len(words) == 2 and words[0] == "export":
            name, _, value = words[1].partition("=")
            variables[name] = value
    return variables


def stop_neo4j(folder: Path) -> None:
    environment = {**os.environ, "NEO4J_LOCAL_DIR": str(folder)}
    subprocess.run([str(NEO4J_LOCAL), "stop"], env=environment, check=True, capture_output=True)


class Stopwatch:
    """Wraps a method of one object and adds up the seconds spent in it."""

    def __init__(self, owner: object, method_name: str) -> None:
        self.seconds = 0.0
        original: Callable = getattr(owner, method_name)

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started

        setattr(owner, method_name, timed)


def measure_ingest(pdf: Path, book_id: str, home: Path, store_flags: dict, embedder) -> dict:
    """Ingest `pdf` once through `Services.ingest` and time the whole and the two store writes."""
    from commands.services import Services
    from commands.settings import resolve_settings

    services = Services(resolve_settings({"home": home, **store_flags}, environ={}))
    # Share the loaded model, so that loading it counts for neither store.
    services.__dict__["embedder"] = embedder
    try:
        opened = time.perf_counter()
        graph_writes = Stopwatch(services.store, "write_book")
        vector_writes = Stopwatch(services.vectors, "write")
        open_seconds = time.perf_counter() - opened

        started = time.perf_counter()
        graph = services.ingest(pdf, book_id)
        seconds = time.perf_counter() - started
    finally:
        services.close()
    return {
        "items": len(graph.entities),
        "references": len(graph.references),
        "open_store_s": round(open_seconds, 3),
        "ingest_s": round(seconds, 2),
        "write_book_s": round(graph_writes.seconds, 3),
        "vector_write_s": round(vector_writes.seconds, 3),
        "store_write_s": round(graph_writes.seconds + vector_writes.seconds, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pdf", nargs="?", type=Path, default=DEFAULT_PDF)
    parser.add_argument("--book", default="oor", help="Book id to ingest under [default oor].")
    parser.add_argument("--runs", type=int, default=2,
                        help="Ingests per store; run 1 writes into an empty store, later runs replace the book "
                             "[default 2].")
    arguments = parser.parse_args()
    if not arguments.pdf.is_file():
        sys.exit(f"PDF not found: {arguments.pdf}; pass a path or place the shared corpus next to the checkout")

    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(REPO / "bench"))
    from bench_deps import measure_in_process

    from retrieval.embedding import SentenceEmbedder

    started = time.perf_counter()
    embedder = SentenceEmbedder()
    embedder.embed(["load the model"])
    model_seconds = time.perf_counter() - started

    with tempfile.TemporaryDirectory(prefix="bench-stores-") as scratch:
        scratch_path = Path(scratch)
        neo4j_folder = scratch_path / "neo4j"
        neo4j_folder.mkdir()
        variables = start_neo4j(neo4j_folder)
        try:
            stores = {
                "embedded": {"store": "embedded"},
                "neo4j": {
                    "store": "neo4j",
                    "neo4j_uri": variables["NEO4J_URI"],
                    "neo4j_username": variables.get("NEO4J_USERNAME"),
                    "neo4j_password": variables.get("NEO4J_PASSWORD"),
                },
            }
            homes = {name: scratch_path / name for name in stores}
            ingests: dict[str, list[dict]] = {name: [] for name in stores}
            # Alternate the stores run by run, so that drift of the machine hits both alike.
            for _ in range(arguments.runs):
                for name, flags in stores.items():
                    ingests[name].append(measure_ingest(arguments.pdf, arguments.book, homes[name], flags, embedder))
            deps = {name: measure_in_process(homes[name], arguments.book, flags) for name, flags in stores.items()}
        finally:
            stop_neo4j(neo4j_folder)

    first = {name: runs[0] for name, runs in ingests.items()}
    result = {
        "pdf": str(arguments.pdf),
        "model_load_s": round(model_seconds, 2),
        "ingest": ingests,
        "ingest_ratio_neo4j_to_embedded_run1": round(first["neo4j"]["ingest_s"] / first["embedded"]["ingest_s"], 2),
        "ingest_ratio_neo4j_to_embedded_median": round(
            statistics.median(run["ingest_s"] for run in ingests["neo4j"])
            / statistics.median(run["ingest_s"] for run in ingests["embedded"]),
            2,
        ),
        "deps": deps,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

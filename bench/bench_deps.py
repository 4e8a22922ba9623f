"""Benchmark: latency of `deps` in-process over every item of a book, and of a cold `lemmagraph deps` shell.

In-process: one Services object, as one CLI invocation has, resolves each
item by its printed label (by its id when the item is unnumbered or its label is printed twice)
and recovers its top 10 dependencies. The first
call loads the book snapshot and the FAISS index, so it is reported apart
and left out of p50/p99.

Cold shell: `lemmagraph deps BOOK REF` in a fresh process, wall time from
start to exit, so it includes Python start-up, imports and opening the store.

Usage: .venv/bin/python bench/bench_deps.py --home WORKSPACE --book BOOK [--runs N]
The workspace must already hold the book (`lemmagraph --home WORKSPACE ingest PDF --book BOOK`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def percentile(samples: list[float], share: float) -> float:
    """Return the nearest-rank percentile of `samples` (share in [0, 1])."""
    ordered = sorted(samples)
    rank = max(1, round(share * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def measure_in_process(home: Path, book_id: str, store_flags: dict | None = None) -> dict:
    """Time resolving and ranking every item; `store_flags` selects another store, as the CLI flags do."""
    from commands.references import resolve_item
    from commands.services import Services
    from commands.settings import resolve_settings

    services = Services(resolve_settings({"home": home, **(store_flags or {})}, environ={}))
    try:
        entities = services.store.entities(book_id)
        label_counts: dict[str, int] = {}
        for entity in entities:
            label_counts[entity.label] = label_counts.get(entity.label, 0) + 1
        labels = [
            entity.label if entity.number and label_counts[entity.label] == 1 else entity.id for entity in entities
        ]
        samples = []
        first = None
        for label in labels:
            started = time.perf_counter()
            target = resolve_item(services.store, book_id, label)
            services.dependencies(target, 10)
            elapsed = (time.perf_counter() - started) * 1000
            if first is None:
                first = elapsed
            else:
                samples.append(elapsed)
    finally:
        services.close()
    return {
        "items": len(labels),
        "first_call_ms": round(first or 0.0, 1),
        "p50_ms": round(percentile(samples, 0.5), 2),
        "p99_ms": round(percentile(samples, 0.99), 2),
        "max_ms": round(max(samples), 2),
    }


def measure_cold_shell(home: Path, book_id: str, ref: str, runs: int) -> dict:
    command = [str(REPO / ".venv" / "bin" / "lemmagraph"), "--home", str(home), "deps", book_id, ref]
    walls = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        walls.append(time.perf_counter() - started)
    return {"command": " ".join(command[1:]), "runs": runs,
            "median_s": round(statistics.median(walls), 3), "max_s": round(max(walls), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="Workspace that holds the ingested book.")
    parser.add_argument("--book", required=True, help="Book id in that workspace.")
    parser.add_argument("--ref", default=None, help="Item for the cold-shell runs [default: the last numbered item].")
    parser.add_argument("--runs", type=int, default=5, help="Cold-shell runs [default 5].")
    arguments = parser.parse_args()

    sys.path.insert(0, str(REPO))
    in_process = measure_in_process(arguments.home, arguments.book)
    ref = arguments.ref
    if ref is None:
        from commands.services import Services
        from commands.settings import resolve_settings

        services = Services(resolve_settings({"home": arguments.home}, environ={}))
        ref = [entity.label for entity in services.store.entities(arguments.book) if entity.number][-1]
        services.close()
    cold = measure_cold_shell(arguments.home, arguments.book, ref, arguments.runs)
    print(json.dumps({"in_process": in_process, "cold_shell": cold}, indent=2))


if __name__ == "__main__":
    main()

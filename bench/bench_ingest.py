"""Benchmark: end-to-end ingest of a book against the cost of its unavoidable parts.

The baseline is what any ingest must pay: loading the embedding model,
PyMuPDF's `page.get_text("dict")` over every page, and embedding the same item
texts with the same model. Both sides run cold, each in a fresh process, so
each one's time includes loading the model and each one's peak resident
memory is its own.

Usage: .venv/bin/python bench/bench_ingest.py [PDF] [--runs N]
The default PDF is the 534-page corpus book next to the checkout.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_PDF = REPO.parent / "shared" / "corpus" / "open-optimization-or" / "book.pdf"


def measure_full_ingest(pdf: Path) -> dict:
    """Ingest `pdf` into a fresh workspace: parse, extract, embed and store."""
    from commands.services import Services
    from commands.settings import resolve_settings
    from retrieval.embedding import entity_embedding_text

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as home:
        services = Services(resolve_settings({"home": home}, environ={}))
        graph = services.ingest(pdf, "bench")
        services.close()
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "items": len(graph.entities), "texts": [entity_embedding_text(entity) for entity in graph.entities]}


def measure_baseline(pdf: Path, texts: list[str]) -> dict:
    """Load the model, run get_text("dict") over every page and embed the texts the ingest embedded."""
    import pymupdf

    from retrieval.embedding import SentenceEmbedder

    started = time.perf_counter()
    embedder = SentenceEmbedder()
    with pymupdf.open(pdf) as document:
        for page in document:
            page.get_text("dict")
    embedder.embed(texts)
    return {"seconds": time.perf_counter() - started}


def _run_child(mode: str, pdf: Path, texts_file: Path | None = None) -> dict:
    command = [sys.executable, __file__, str(pdf), "--child", mode]
    if texts_file is not None:
        command += ["--texts", str(texts_file)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pdf", nargs="?", type=Path, default=DEFAULT_PDF)
    parser.add_argument("--runs", type=int, default=3, help="Repetitions of each measurement.")
    parser.add_argument("--child", choices=["full", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--texts", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args()

    if arguments.child:
        sys.path.insert(0, str(REPO))
        if arguments.child == "full":
            result = measure_full_ingest(arguments.pdf)
        else:
            result = measure_baseline(arguments.pdf, json.loads(arguments.texts.read_text()))
        result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return
    if not arguments.pdf.is_file():
        sys.exit(f"PDF not found: {arguments.pdf}; pass a path or place the shared corpus next to the checkout")

    # Alternate the two sides so that load from other work on the machine hits both alike.
    full_runs = [_run_child("full", arguments.pdf)]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(full_runs[0]["texts"], handle)
    baselines = [_run_child("baseline", arguments.pdf, Path(handle.name))]
    for _ in range(arguments.runs - 1):
        full_runs.append(_run_child("full", arguments.pdf))
        baselines.append(_run_child("baseline", arguments.pdf, Path(handle.name)))
    Path(handle.name).unlink()

    full = statistics.median(run["seconds"] for run in full_runs)
    baseline = statistics.median(run["seconds"] for run in baselines)
    result = {
        "pdf": str(arguments.pdf),
        "items": full_runs[0]["items"],
        "runs": arguments.runs,
        "full_ingest_seconds_median": round(full, 2),
        "baseline_seconds_median": round(baseline, 2),
        "ratio": round(full / baseline, 2),
        "full_ingest_peak_rss_mib_max": round(max(run["peak_rss_mib"] for run in full_runs)),
        "baseline_peak_rss_mib_max": round(max(run["peak_rss_mib"] for run in baselines)),
        "python": platform.python_version(),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

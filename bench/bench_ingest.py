"""Benchmark: end-to-end ingest of a book against the cost of its unavoidable parts.

The baseline is what any ingest must pay: PyMuPDF's `page.get_text("dict")` over
every page plus embedding the same item texts with the same model. The full
ingest (parse, extract, embed, store) runs in a fresh process so that its peak
resident memory is its own.

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
    """Ingest `pdf` into a fresh workspace in this process and return times and counts."""
    sys.path.insert(0, str(REPO))
    from commands.services import Services
    from commands.settings import resolve_settings

    with tempfile.TemporaryDirectory() as home:
        services = Services(resolve_settings({"home": home}, environ={}))
        # Load the model before timing: the baseline also starts with a loaded model.
        services.embedder.embed(["warm up"])
        started = time.perf_counter()
        graph = services.ingest(pdf, "bench")
        seconds = time.perf_counter() - started
        texts = [entity.text for entity in graph.entities]
        services.close()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "items": len(texts), "peak_rss_mib": peak_kib / 1024, "texts": texts}


def measure_baseline(pdf: Path, texts: list[str]) -> float:
    """Time get_text("dict") over every page plus embedding `texts`, with a loaded model."""
    import pymupdf

    sys.path.insert(0, str(REPO))
    from retrieval.embedding import SentenceEmbedder

    embedder = SentenceEmbedder()
    embedder.embed(["warm up"])
    started = time.perf_counter()
    with pymupdf.open(pdf) as document:
        for page in document:
            page.get_text("dict")
    embedder.embed(texts)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pdf", nargs="?", type=Path, default=DEFAULT_PDF)
    parser.add_argument("--runs", type=int, default=3, help="Repetitions of each measurement.")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()

    if arguments.child:
        print(json.dumps(measure_full_ingest(arguments.pdf)))
        return
    if not arguments.pdf.is_file():
        sys.exit(f"PDF not found: {arguments.pdf}; pass a path or place the shared corpus next to the checkout")

    full_runs = []
    for _ in range(arguments.runs):
        output = subprocess.run(
            [sys.executable, __file__, str(arguments.pdf), "--child"],
            check=True, capture_output=True, text=True,
        ).stdout
        full_runs.append(json.loads(output.strip().splitlines()[-1]))
    texts = full_runs[0]["texts"]
    baselines = [measure_baseline(arguments.pdf, texts) for _ in range(arguments.runs)]

    full = statistics.median(run["seconds"] for run in full_runs)
    baseline = statistics.median(baselines)
    result = {
        "pdf": str(arguments.pdf),
        "items": full_runs[0]["items"],
        "runs": arguments.runs,
        "full_ingest_seconds_median": round(full, 2),
        "baseline_seconds_median": round(baseline, 2),
        "ratio": round(full / baseline, 2),
        "peak_rss_mib_max": round(max(run["peak_rss_mib"] for run in full_runs)),
        "python": platform.python_version(),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

"""Benchmark: chapter scheduling over two simulated endpoints, and escalation from a small model to a large one.

Both endpoints are fake OpenAI-compatible servers on 127.0.0.1 answering with
`tests.formalize.scripted_model.SimulatedModel`: a fixed latency per request, a
seeded share of HTTP 500 answers, and a seeded review verdict per item. The jobs
run through the real BatchRunner, Formalizer and embedded store, with a fresh
response cache and no Lean toolchain, on a 60-target synthetic chapter (12 definitions,
28 lemmas that cite definitions and earlier lemmas, 20 exercises that cite lemmas).

Scheduling: the makespan is compared with the lower bound of `makespan_lower_bound`
(the largest of the critical path at the fastest endpoint, the least time in which
the endpoints' concurrency and request rates admit every job as a whole job, and
the two combined over the job DAG's layers). The bound is given twice: from
the nominal seconds per job (two requests of pure latency) and from the mean
seconds per job that each endpoint showed in the run, which adds the client,
store and file work of a job. Retries after HTTP 500 count in the makespan but
not in either bound.

Escalation: the small model is faithful on 60% of items, the large one on 95%.
Both read the same seeded difficulty per item, so every item the small model
passes, the large one passes too. The same chapter runs once all-large and once
with escalation from small to large.

Usage: .venv/bin/python bench/bench_schedule.py [--seed N] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from formalize.batch import BatchRunner, FormalizerAttempt, formalizer_builder  # noqa: E402
from formalize.batch_report import ACCEPTED_STATUS  # noqa: E402
from formalize.endpoints import Endpoint  # noqa: E402
from formalize.lean_project import LeanProject, bundled_lean_template  # noqa: E402
from formalize.llm_cache import ResponseCache  # noqa: E402
from formalize.pricing import ModelPrice  # noqa: E402
from kg.ladybug_store import LadybugStore  # noqa: E402
from tests.formalize.scripted_model import SimulatedModel, serve, synthetic_chapter  # noqa: E402

FAST_LATENCY = 0.05  # seconds per request
SLOW_LATENCY = 0.12
SMALL_LATENCY = 0.03
LARGE_LATENCY = 0.12
REQUESTS_PER_JOB = 2
SMALL_PRICE = ModelPrice(0.15, 0.60)  # USD per million tokens, input and output
LARGE_PRICE = ModelPrice(3.00, 15.00)


class ServerProcess:
    """Simulated models served from a child process, so their HTTP work does not share the batch's GIL."""

    def __init__(self, models: list[dict]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve", json.dumps(models)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.base_urls = [self.process.stdout.readline().strip() for _ in models]

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=10)


def serve_until_stdin_closes(models: list[dict]) -> None:
    servers = [serve(SimulatedModel(**model)) for model in models]
    for server in servers:
        print(server.base_url, flush=True)
    sys.stdin.read()
    for server in servers:
        server.close()


def run_batch(home: Path, graph, contexts, endpoints: list[Endpoint], tiers=None):
    """Run one batch on a fresh store in `home` and return the report."""
    home.mkdir(parents=True)
    store = LadybugStore(home / "graph.lbdb")
    try:
        store.write_book(graph)
        lean = LeanProject(home / "lean", bundled_lean_template())
        lean.ensure()
        # A fresh response cache, as the CLI keeps one: a job retried after an HTTP 500
        # on its review reads its formalization answer back instead of sending it again.
        cache = ResponseCache(home / "cache")
        attempt = FormalizerAttempt(store, formalizer_builder(lean, {}, repair_rounds=0), cache)
        return BatchRunner(store, endpoints, attempt, tiers=tiers, requests_per_job=REQUESTS_PER_JOB).run(contexts)
    finally:
        store.close()


def endpoint(name: str, base_url: str, latency: float, **options) -> Endpoint:
    return Endpoint(
        name=name,
        base_url=base_url,
        model=f"{name}-model",
        expected_seconds=REQUESTS_PER_JOB * latency,
        timeout_seconds=10.0,
        cooldown_seconds=0.5,
        **options,
    )


def scheduling(work: Path, seed: int, scale: float = 1.0) -> dict:
    """Run the 60-target chapter; `scale` multiplies latencies and divides request rates."""
    graph, contexts = synthetic_chapter("bench", definitions=12, lemmas=28, exercises=20, seed=seed)
    servers = ServerProcess(
        [
            {"model": "fast-model", "latency_seconds": FAST_LATENCY * scale, "failure_rate": 0.02, "seed": seed},
            {"model": "slow-model", "latency_seconds": SLOW_LATENCY * scale, "failure_rate": 0.05, "seed": seed + 1},
        ]
    )
    fast_url, slow_url = servers.base_urls
    try:
        endpoints = [
            # The fast endpoint is bound by its request rate (15 jobs/s), the slow one by
            # its concurrency (4 / 0.24 s = 16.7 jobs/s).
            endpoint("fast", fast_url, FAST_LATENCY * scale, concurrency=3, requests_per_minute=round(1800 / scale)),
            endpoint("slow", slow_url, SLOW_LATENCY * scale, concurrency=4, requests_per_minute=round(3000 / scale)),
        ]
        started = time.perf_counter()
        report = run_batch(work / "schedule", graph, contexts, endpoints)
        wall = time.perf_counter() - started
    finally:
        servers.close()
    return {
        "targets": len(report.results),
        "accepted": report.count(ACCEPTED_STATUS),
        "makespan_s": round(report.actual_seconds, 3),
        "predicted_s": round(report.predicted_seconds, 3),
        "nominal_bound_s": round(report.bound.seconds, 3),
        "nominal_critical_path_s": round(report.bound.critical_path, 3),
        "nominal_throughput_s": round(report.bound.throughput, 3),
        "observed_bound_s": round(report.observed_bound.seconds, 3),
        "observed_critical_path_s": round(report.observed_bound.critical_path, 3),
        "ratio_to_nominal_bound": round(report.actual_seconds / report.bound.seconds, 3),
        "ratio_to_observed_bound": round(report.actual_seconds / report.observed_bound.seconds, 3),
        "faults": {usage.name: usage.faults for usage in report.endpoints},
        "jobs_accepted": {usage.name: usage.accepted for usage in report.endpoints},
        "wall_s": round(wall, 3),
    }


def escalation(work: Path, seed: int) -> dict:
    graph, contexts = synthetic_chapter("bench", definitions=12, lemmas=28, exercises=20, seed=seed)
    # Spread the items' difficulties evenly over [0, 1) in a seeded order, so a pass
    # rate of 60% passes exactly 36 of the 60 items.
    labels = [context.target.label for context in contexts.values()]
    random.Random(seed).shuffle(labels)
    difficulty = {label: (index + 0.5) / len(labels) for index, label in enumerate(labels)}
    servers = ServerProcess(
        [
            {"model": "small-model", "latency_seconds": SMALL_LATENCY, "pass_rate": 0.6, "difficulty": difficulty},
            {"model": "large-model", "latency_seconds": LARGE_LATENCY, "pass_rate": 0.95, "difficulty": difficulty},
        ]
    )
    small_url, large_url = servers.base_urls
    try:
        small = endpoint("small", small_url, SMALL_LATENCY, concurrency=6, price=SMALL_PRICE)
        large = endpoint("large", large_url, LARGE_LATENCY, concurrency=6, price=LARGE_PRICE)
        all_large = run_batch(work / "all-large", graph, contexts, [large])
        escalated = run_batch(work / "escalated", graph, contexts, [small, large], tiers=[["small"], ["large"]])
    finally:
        servers.close()

    def accepted(report) -> set[str]:
        return {result.entity.id for result in report.results if result.status == ACCEPTED_STATUS}

    sent_to_large = sum(1 for result in escalated.results if any(a.endpoint == "large" for a in result.attempts))
    usage = {entry.name: entry for entry in escalated.endpoints}
    return {
        "targets": len(escalated.results),
        "sent_to_large": sent_to_large,
        "accepted_all_large": len(accepted(all_large)),
        "accepted_escalated": len(accepted(escalated)),
        "same_accepted_items": accepted(all_large) == accepted(escalated),
        "tokens": {
            name: entry.prompt_tokens + entry.completion_tokens for name, entry in usage.items()
        },
        "cost_usd": {name: round(entry.cost_usd, 4) for name, entry in usage.items()},
        "escalated_cost_usd": round(escalated.cost_usd, 4),
        "all_large_cost_usd": round(all_large.cost_usd, 4),
        "all_large_estimate_usd": escalated.all_large_cost_usd,
        "makespan_all_large_s": round(all_large.actual_seconds, 3),
        "makespan_escalated_s": round(escalated.actual_seconds, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--latency-scale", type=float, default=1.0,
        help="multiply request latencies (and divide request rates) of the scheduling run; "
        "real model calls take seconds, which makes per-job overhead relatively smaller",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.serve:
        serve_until_stdin_closes(json.loads(arguments.serve))
        return

    # Hide any Lean toolchain, so the benchmark measures scheduling and not compiling.
    shutil.which = lambda name, *args, **kwargs: None
    work = Path(tempfile.mkdtemp(prefix="bench-schedule-"))
    try:
        results = {"scheduling": scheduling(work, arguments.seed, arguments.latency_scale), "escalation": escalation(work, arguments.seed)}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if arguments.json:
        print(json.dumps(results, indent=2))
        return
    for section, values in results.items():
        print(section)
        for key, value in values.items():
            print(f"  {key}: {value}")


if __name__ == "__main__":
    main()

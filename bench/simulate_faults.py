"""Offline check of the scheduler under seeded HTTP 500s: many fault patterns, no servers, no clock.

The benchmark chapter (`bench_schedule.py`) runs one fault pattern per seed against
real servers, which takes seconds per run and includes client and store overhead.
This script drives the same `ListScheduler` through an event simulation instead:
each job sends a formalization and then a review, every request takes the endpoint's
latency, and each request fails with the endpoint's HTTP 500 rate. The draw is
seeded by endpoint, item, request kind and attempt, so it does not depend on the
order in which jobs run. A failed review leaves the formalization cached, so the
simulation reports one kept answer to the scheduler, as the batch does.

It prints the makespan as a ratio to `makespan_lower_bound` (which counts no faults)
over many seeds: the mean, the 90th percentile, the maximum, and how many seeds
exceed 1.2.

Usage: .venv/bin/python bench/simulate_faults.py [--seeds N] [--latency-scale S] [--json]
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from formalize.batch import build_job_graph  # noqa: E402
from formalize.scheduler import (  # noqa: E402
    ACCEPTED,
    FAULT,
    EndpointLimits,
    JobGraph,
    ListScheduler,
    SchedulingError,
    makespan_lower_bound,
)
from tests.formalize.scripted_model import synthetic_chapter  # noqa: E402

REQUESTS_PER_JOB = 2


@dataclass(frozen=True)
class SimulatedEndpoint:
    """An endpoint of the simulation: its limits, seconds per request and HTTP 500 rate."""

    limits: EndpointLimits
    latency: float
    failure_rate: float


def benchmark_endpoints(scale: float) -> list[SimulatedEndpoint]:
    """Return the two endpoints of `bench_schedule.py`, with latencies times `scale` and rates divided by it."""
    fast, slow = 0.05 * scale, 0.12 * scale
    return [
        SimulatedEndpoint(EndpointLimits("fast", 3, REQUESTS_PER_JOB * fast, 1800 / scale, cooldown_seconds=0.5), fast, 0.02),
        SimulatedEndpoint(EndpointLimits("slow", 4, REQUESTS_PER_JOB * slow, 3000 / scale, cooldown_seconds=0.5), slow, 0.05),
    ]


def makespan_with_faults(graph: JobGraph, endpoints: list[SimulatedEndpoint], seed: int) -> float:
    """Run the list scheduler over the graph with seeded request faults and return the makespan."""
    by_name = {endpoint.limits.name: endpoint for endpoint in endpoints}
    scheduler = ListScheduler(graph, [endpoint.limits for endpoint in endpoints], requests_per_job=REQUESTS_PER_JOB)
    attempts: dict[tuple[str, str], int] = {}

    def fails(endpoint: SimulatedEndpoint, job_id: str, kind: str, attempt: int) -> bool:
        draw = random.Random(f"{seed}:{endpoint.limits.name}:{job_id}:{kind}:{attempt}").random()
        return draw < endpoint.failure_rate

    now = 0.0
    finishing: list[tuple[float, str, str, int]] = []  # (time, job id, outcome, kept answers)
    while not scheduler.finished:
        for assignment in scheduler.dispatch(now):
            endpoint = by_name[assignment.endpoint]
            key = (assignment.endpoint, assignment.job_id)
            attempt = attempts.get(key, 0)
            attempts[key] = attempt + 1
            cached = scheduler.jobs[assignment.job_id].credit
            if not cached and fails(endpoint, assignment.job_id, "formalize", attempt):
                event = (now + endpoint.latency, assignment.job_id, FAULT, 0)
            else:
                finish = now + endpoint.latency * (REQUESTS_PER_JOB - cached)
                failed = fails(endpoint, assignment.job_id, "review", attempt)
                event = (finish, assignment.job_id, FAULT if failed else ACCEPTED, 1 if failed else 0)
            heapq.heappush(finishing, event)
        wake = scheduler.next_event(now)
        if finishing and (wake is None or finishing[0][0] <= wake):
            now, job_id, outcome, kept_answers = heapq.heappop(finishing)
            scheduler.complete(job_id, outcome, now, kept_answers=kept_answers)
        elif wake is not None:
            now = wake
        else:
            raise SchedulingError("the simulation stalled with jobs left and nothing running")
    return now


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=100, help="how many fault patterns to run")
    parser.add_argument("--latency-scale", type=float, default=1.0, help="multiply latencies and divide request rates")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    arguments = parser.parse_args()

    endpoints = benchmark_endpoints(arguments.latency_scale)
    ratios = []
    for seed in range(1, arguments.seeds + 1):
        _, contexts = synthetic_chapter("bench", definitions=12, lemmas=28, exercises=20, seed=seed)
        graph = build_job_graph(contexts)
        bound = makespan_lower_bound(graph, [endpoint.limits for endpoint in endpoints], REQUESTS_PER_JOB)
        ratios.append(makespan_with_faults(graph, endpoints, seed) / bound.seconds)
    ratios.sort()
    results = {
        "seeds": len(ratios),
        "mean_ratio": round(statistics.mean(ratios), 4),
        "p90_ratio": round(ratios[int(0.9 * len(ratios)) - 1], 4),
        "max_ratio": round(ratios[-1], 4),
        "seeds_over_1.2": sum(ratio > 1.2 for ratio in ratios),
    }
    if arguments.json:
        print(json.dumps(results, indent=2))
        return
    for key, value in results.items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()

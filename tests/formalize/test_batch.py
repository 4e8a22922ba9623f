"""Batch formalization against simulated models on 127.0.0.1, with the real Formalizer and embedded store."""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import formalize.batch as batch_module
import formalize.scheduler as scheduler_module
from commands.services import ReopeningStore, Services
from commands.settings import resolve_settings
from formalize.batch import BatchRunner, FormalizerAttempt, build_job_graph, formalizer_builder, job_needs, select_items
from formalize.batch_report import ACCEPTED_STATUS, FAILED_STATUS, NOT_RUN_STATUS, SKIPPED_STATUS
from formalize.endpoints import Endpoint
from formalize.lean_project import LeanProject, bundled_lean_template
from formalize.llm_cache import ResponseCache
from formalize.pricing import ModelPrice
from formalize.request_gate import RequestGate
from formalize.scheduler import ACCEPTED, FAULT, EndpointLimits, Job, JobGraph, ListScheduler
from kg.models import Entity
from kg.store import GraphStore
from retrieval.models import SIMILARITY, TERM, Dependency, DependencyContext
from tests.formalize.fake_openai import FakeOpenAI
from tests.formalize.scripted_model import FORMALIZE, REVIEW, SimulatedModel, item_label, request_kind, serve
from tests.formalize.scripted_model import synthetic_chapter

LadybugStore = pytest.importorskip("kg.ladybug_store", reason="the embedded store needs ladybug").LadybugStore

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def no_lake(monkeypatch: pytest.MonkeyPatch) -> None:
    # Hide any Lean toolchain so that every passing target is a draft on any machine.
    monkeypatch.setattr(shutil, "which", lambda name, *args, **kwargs: None)


@pytest.fixture
def chapter():
    return synthetic_chapter("syn", definitions=2, lemmas=3, exercises=2, seed=1)


@pytest.fixture
def store(tmp_path: Path, chapter) -> Iterator[GraphStore]:
    graph_store = LadybugStore(tmp_path / "graph.lbdb")
    graph_store.write_book(chapter[0])
    try:
        yield graph_store
    finally:
        graph_store.close()


@pytest.fixture
def servers() -> Iterator[list[FakeOpenAI]]:
    started: list[FakeOpenAI] = []
    yield started
    for server in started:
        server.close()


def start(servers: list[FakeOpenAI], model: SimulatedModel) -> FakeOpenAI:
    server = serve(model)
    servers.append(server)
    return server


def endpoint(name: str, server: FakeOpenAI, **options) -> Endpoint:
    settings = {"concurrency": 2, "expected_seconds": 0.05, "timeout_seconds": 5.0, "cooldown_seconds": 60.0}
    settings.update(options)
    return Endpoint(name=name, base_url=server.base_url, model=f"{name}-model", **settings)


def runner(store: GraphStore, tmp_path: Path, endpoints: list[Endpoint], cache: bool = False, **options):
    lean = LeanProject(tmp_path / "lean", bundled_lean_template())
    build = formalizer_builder(lean, prices={}, repair_rounds=0)
    attempt = FormalizerAttempt(store, build, ResponseCache(tmp_path / "cache") if cache else None)
    return BatchRunner(store, endpoints, attempt, **options)


def requests_about(server: FakeOpenAI, kind: str) -> list[str]:
    return [item_label(request) for request in server.requests if request_kind(request) == kind]


# --- selection and jobs -------------------------------------------------------------


def entity(number: str, kind: str, order: int, section: str | None = None) -> Entity:
    return Entity(f"b:{kind}:{number}", "b", kind, number, None, "text", 1, order, section=section)


def test_select_items_by_chapter_section_kind():
    items = [
        entity("1.1", "definition", 0, "1.1 Sets"),
        entity("1.2", "remark", 1, "1.1 Sets"),
        entity("1.3", "lemma", 2, "1.2 Maps"),
        entity("2.1", "theorem", 3, "2.1 Groups"),
    ]

    chapter = select_items(items, chapter="1")
    section = select_items(items, section="1.2")
    everything = select_items(items)

    assert [item.number for item in chapter] == ["1.1", "1.3"]
    assert [item.number for item in section] == ["1.3"]
    assert [item.number for item in everything] == ["1.1", "1.3", "2.1"]


def test_job_needs_definitions_and_citations():
    definition = entity("1.1", "definition", 0)
    similar = entity("1.2", "lemma", 1)
    termed = entity("1.3", "lemma", 2)
    later = entity("1.5", "definition", 4)
    target = entity("1.4", "theorem", 3)
    context = DependencyContext(
        target,
        [
            Dependency(definition, 0.3, signals={SIMILARITY: 0.3}),
            Dependency(similar, 0.3, signals={SIMILARITY: 0.3}),
            Dependency(termed, 0.5, signals={TERM: 0.5}),
            Dependency(later, 0.9, signals={TERM: 0.9}),
        ],
    )
    batch = {item.id for item in (definition, similar, termed, later, target)}

    needs = job_needs(context, batch)

    assert needs == (definition.id, termed.id), "similarity alone and later items do not make a job wait"


def test_job_graph_of_synthetic_chapter(chapter):
    graph = build_job_graph(chapter[1])

    assert graph.needs["syn:definition:1.1"] == ()
    assert graph.needs["syn:lemma:1.3"], "each lemma cites definitions"
    assert graph.topological_order.index("syn:definition:1.1") < graph.topological_order.index("syn:lemma:1.3")


# --- running batches ----------------------------------------------------------------


def test_batch_formalizes_in_dependency_order(store, tmp_path, chapter, servers):
    server = start(servers, SimulatedModel("only-model"))
    batch = runner(store, tmp_path, [endpoint("only", server)])

    report = batch.run(chapter[1])

    assert [result.status for result in report.results] == [ACCEPTED_STATUS] * 7
    formalized = requests_about(server, FORMALIZE)
    graph = build_job_graph(chapter[1])
    for item_id, needs in graph.needs.items():
        label = chapter[1][item_id].target.label
        for need in needs:
            assert formalized.index(chapter[1][need].target.label) < formalized.index(label)
    assert report.finished
    assert report.predicted_seconds > 0
    assert report.bound.seconds <= report.predicted_seconds + 1e-9


def test_later_prompt_shows_earlier_lean_code(store, tmp_path, chapter, servers):
    server = start(servers, SimulatedModel("only-model"))

    runner(store, tmp_path, [endpoint("only", server)]).run(chapter[1])

    lemma_prompt = next(
        request.body["messages"][1]["content"]
        for request in server.requests
        if request_kind(request) == FORMALIZE and item_label(request) == "Lemma 1.3"
    )
    assert "Already formalized in Lean" in lemma_prompt
    assert "namespace Sim.Definition_1_" in lemma_prompt


def test_escalation_retries_unfaithful_on_large(store, tmp_path, chapter, servers):
    small = start(servers, SimulatedModel("small-model", unfaithful={"Lemma 1.4"}))
    large = start(servers, SimulatedModel("large-model"))
    endpoints = [
        endpoint("small", small, price=ModelPrice(0.1, 0.4)),
        endpoint("large", large, price=ModelPrice(2.0, 8.0)),
    ]

    report = runner(store, tmp_path, endpoints, tiers=[["small"], ["large"]]).run(chapter[1])

    by_label = {result.entity.label: result for result in report.results}
    assert requests_about(large, FORMALIZE) == ["Lemma 1.4"]
    assert by_label["Lemma 1.4"].status == ACCEPTED_STATUS
    assert by_label["Lemma 1.4"].model == "large-model"
    assert by_label["Lemma 1.4"].endpoint == "large"
    assert [attempt.outcome for attempt in by_label["Lemma 1.4"].attempts] == ["rejected", "accepted"]
    assert by_label["Definition 1.1"].model == "small-model"
    usage = {usage.name: usage for usage in report.endpoints}
    # Two requests (formalize and review) of 1000 + 200 tokens each per attempt.
    assert usage["small"].prompt_tokens == 7 * 2 * 1000
    assert usage["large"].prompt_tokens == 1 * 2 * 1000
    assert report.all_large_cost_usd == pytest.approx(7 * 2 * (1000 * 2.0 + 200 * 8.0) / 1e6)
    assert report.cost_usd < report.all_large_cost_usd


def test_last_tier_rejection_fails_target(store, tmp_path, chapter, servers):
    small = start(servers, SimulatedModel("small-model", unfaithful={"Exercise 1.6"}))
    large = start(servers, SimulatedModel("large-model", unfaithful={"Exercise 1.6"}))
    endpoints = [endpoint("small", small), endpoint("large", large)]

    report = runner(store, tmp_path, endpoints, tiers=[["small"], ["large"]]).run(chapter[1])

    by_label = {result.entity.label: result for result in report.results}
    assert by_label["Exercise 1.6"].status == FAILED_STATUS
    assert "semantic review" in by_label["Exercise 1.6"].reason
    assert report.count(ACCEPTED_STATUS) == 6


def test_rerun_skips_accepted_targets(store, tmp_path, chapter, servers):
    first_server = start(servers, SimulatedModel("m", unfaithful={"Exercise 1.7"}))
    runner(store, tmp_path, [endpoint("only", first_server)]).run(chapter[1])
    second_server = start(servers, SimulatedModel("m"))

    report = runner(store, tmp_path, [endpoint("only", second_server)]).run(chapter[1])

    assert requests_about(second_server, FORMALIZE) == ["Exercise 1.7"]
    assert report.count(SKIPPED_STATUS) == 6
    assert report.count(ACCEPTED_STATUS) == 1


def test_rerun_skips_tier_that_rejected(store, tmp_path, chapter, servers):
    first_small = start(servers, SimulatedModel("small-model", unfaithful={"Lemma 1.4"}))
    runner(store, tmp_path, [endpoint("small", first_small)], cache=True).run(chapter[1])
    small = start(servers, SimulatedModel("small-model", unfaithful={"Lemma 1.4"}))
    large = start(servers, SimulatedModel("large-model"))
    endpoints = [endpoint("small", small), endpoint("large", large)]

    report = runner(store, tmp_path, endpoints, cache=True, tiers=[["small"], ["large"]]).run(chapter[1])

    result = next(result for result in report.results if result.entity.label == "Lemma 1.4")
    assert result.status == ACCEPTED_STATUS
    assert [attempt.endpoint for attempt in result.attempts] == ["large"]
    assert requests_about(small, FORMALIZE) == [], "the small model is not asked again"
    assert report.count(SKIPPED_STATUS) == 6


def test_cache_makes_rerun_free(store, tmp_path, chapter, servers):
    server = start(servers, SimulatedModel("m"))
    runner(store, tmp_path, [endpoint("only", server)], cache=True).run(chapter[1])
    sent = len(server.requests)

    report = runner(store, tmp_path, [endpoint("only", server)], cache=True, redo=True).run(chapter[1])

    assert len(server.requests) == sent, "every answer of the rerun came from the cache"
    assert report.count(ACCEPTED_STATUS) == 7
    assert report.cost_usd == 0.0


def test_batch_reads_each_items_targets_once(store, tmp_path, chapter, servers, monkeypatch):
    server = start(servers, SimulatedModel("m"))
    reads: list[str] = []
    read_targets = store.targets
    monkeypatch.setattr(store, "targets", lambda entity_id: reads.append(entity_id) or read_targets(entity_id))

    report = runner(store, tmp_path, [endpoint("only", server)]).run(chapter[1])

    assert report.count(ACCEPTED_STATUS) == 7
    skip_check = len(chapter[1])  # one read per item before the batch starts, to skip accepted ones
    assert len(reads) - skip_check == len(set(reads[skip_check:])), "no item's targets are read twice"
    # Later prompts still saw the Lean code the batch wrote, through the remembered targets.
    later = [request for request in server.requests if request_kind(request) == FORMALIZE][-1]
    assert "namespace Sim." in later.body["messages"][-1]["content"]


def test_unconfigured_endpoints_all_tried(store, tmp_path, chapter, servers):
    names = ["small", "mid", "large"]
    endpoints = []
    for name in names:
        server = start(servers, SimulatedModel(f"{name}-model", latency_seconds=0.02))
        # No expected_seconds: the batch measures each endpoint instead.
        endpoints.append(Endpoint(name, server.base_url, f"{name}-model", concurrency=2, timeout_seconds=5.0))

    report = runner(store, tmp_path, endpoints).run(chapter[1])

    usage = {usage.name: usage for usage in report.endpoints}
    assert report.count(ACCEPTED_STATUS) == 7
    for name in names:
        assert usage[name].accepted >= 1, f"endpoint {name} ran no job"


def store_opens_in_other_process(path: Path) -> bool:
    probe = f"from kg.ladybug_store import LadybugStore; LadybugStore({str(path)!r}).close()"
    return subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, timeout=60).returncode == 0


def test_batch_releases_idle_store(tmp_path, chapter, servers, monkeypatch):
    monkeypatch.setattr(batch_module, "STORE_IDLE_SECONDS", 0.05)
    services = Services(resolve_settings({"home": tmp_path / "home"}, environ={}))
    path = services.workspace.graph_path
    services.store.write_book(chapter[0])
    services.release_store()
    releases = []

    def release() -> None:
        releases.append(time.monotonic())
        services.release_store()

    store = ReopeningStore(services)
    server = start(servers, SimulatedModel("m", latency_seconds=0.3))
    lean = LeanProject(tmp_path / "lean", bundled_lean_template())
    build = formalizer_builder(lean, {}, repair_rounds=0)
    attempt = FormalizerAttempt(store, build, release_store=release)
    runner = BatchRunner(store, [endpoint("only", server, concurrency=1, expected_seconds=0.6)], attempt)
    reports = []
    batch = threading.Thread(target=lambda: reports.append(runner.run(chapter[1])))

    batch.start()
    opened_while_running = False
    while batch.is_alive() and not opened_while_running:
        opened_while_running = store_opens_in_other_process(path) and batch.is_alive()
    batch.join(timeout=60)
    attempt.stop()
    services.release_store()

    assert opened_while_running, "another process opened the store between the batch's writes"
    assert releases, "the idle store was released"
    assert reports[0].count(ACCEPTED_STATUS) == 7, "every write reopened the store"
    reader = LadybugStore(path)
    assert all(reader.targets(item_id) for item_id in chapter[1])
    reader.close()


# --- faults -------------------------------------------------------------------------


def test_failing_endpoint_opens_breaker(store, tmp_path, chapter, servers):
    broken = start(servers, SimulatedModel("broken-model", failure_rate=1.0))
    healthy = start(servers, SimulatedModel("healthy-model"))
    endpoints = [
        endpoint("broken", broken, expected_seconds=0.01, failure_threshold=2),
        endpoint("healthy", healthy, expected_seconds=0.05),
    ]

    report = runner(store, tmp_path, endpoints).run(chapter[1])

    usage = {usage.name: usage for usage in report.endpoints}
    assert report.count(ACCEPTED_STATUS) == 7
    assert {result.endpoint for result in report.results} == {"healthy"}
    assert usage["broken"].breaker == "open"
    # Two faults open the breaker; a job already running there when it opened may fault
    # too (concurrency 2), and nothing is sent after that.
    assert 2 <= usage["broken"].faults <= 3, "the breaker stops traffic after the threshold"
    assert len(broken.requests) == usage["broken"].faults


def test_review_fault_retries_review_alone(store, tmp_path, chapter, servers):
    model = SimulatedModel("m", first_fails={("Lemma 1.4", REVIEW)})
    server = start(servers, model)
    spare = start(servers, SimulatedModel("spare-model"))
    endpoints = [endpoint("main", server, expected_seconds=0.05), endpoint("spare", spare, expected_seconds=0.5)]

    report = runner(store, tmp_path, endpoints, cache=True).run(chapter[1])

    result = next(result for result in report.results if result.entity.label == "Lemma 1.4")
    assert result.status == ACCEPTED_STATUS
    assert [attempt.endpoint for attempt in result.attempts] == ["main", "main"]
    assert [attempt.outcome for attempt in result.attempts] == [FAULT, ACCEPTED]
    assert requests_about(server, FORMALIZE).count("Lemma 1.4") == 1, "the cached formalization is reused"
    assert requests_about(server, REVIEW).count("Lemma 1.4") == 2


def test_timeout_moves_job(store, tmp_path, chapter, servers):
    slow = start(servers, SimulatedModel("slow-model", latency_seconds=3.0))
    fast = start(servers, SimulatedModel("fast-model"))
    endpoints = [
        endpoint("slow", slow, expected_seconds=0.01, timeout_seconds=0.3, failure_threshold=1),
        endpoint("fast", fast, expected_seconds=0.05),
    ]

    report = runner(store, tmp_path, endpoints).run(chapter[1])

    usage = {usage.name: usage for usage in report.endpoints}
    assert report.count(ACCEPTED_STATUS) == 7
    assert usage["slow"].faults >= 1
    assert usage["slow"].breaker == "open"
    assert "timed out" in next(
        attempt.error for result in report.results for attempt in result.attempts if attempt.endpoint == "slow"
    )


def test_rate_limit_slows_only_that_endpoint(store, tmp_path, chapter, servers):
    limited = start(servers, SimulatedModel("limited-model", rate_limited_requests=1, retry_after="0.05"))
    other = start(servers, SimulatedModel("other-model"))
    endpoints = [
        endpoint("limited", limited, concurrency=1, requests_per_minute=6000),
        endpoint("other", other, concurrency=1, requests_per_minute=6000),
    ]
    batch = runner(store, tmp_path, endpoints)

    report = batch.run(chapter[1])

    usage = {usage.name: usage for usage in report.endpoints}
    assert report.count(ACCEPTED_STATUS) == 7
    assert usage["limited"].rate_limited == 1
    assert usage["other"].rate_limited == 0
    assert usage["limited"].faults == 0, "a 429 is not a fault"
    assert limited.requests[0].body == limited.requests[1].body, "the limited request was sent again"
    first_item = item_label(limited.requests[0])
    result = next(result for result in report.results if result.entity.label == first_item)
    assert [attempt.endpoint for attempt in result.attempts] == ["limited"], "the job stayed on its endpoint"


def test_429_burst_does_not_sideline_endpoint(tmp_path, servers, monkeypatch):
    monkeypatch.setattr(scheduler_module, "RATE_RECOVERY_SECONDS", 0.01)
    book, contexts = synthetic_chapter("wide", definitions=6, lemmas=10, exercises=6, seed=2)
    # The first six requests get HTTP 429: three at once, then their three retries.
    limited = start(servers, SimulatedModel("limited-model", 0.05, rate_limited_requests=6, retry_after="0.01"))
    steady = start(servers, SimulatedModel("steady-model", 0.05))
    endpoints = [
        endpoint("limited", limited, concurrency=3, expected_seconds=0.1),
        endpoint("steady", steady, concurrency=3, expected_seconds=0.1),
    ]
    wide_store = LadybugStore(tmp_path / "wide.lbdb")
    wide_store.write_book(book)
    try:
        report = runner(wide_store, tmp_path, endpoints).run(contexts)
    finally:
        wide_store.close()

    usage = {usage.name: usage for usage in report.endpoints}
    assert report.count(ACCEPTED_STATUS) == 22
    assert usage["limited"].rate_limited == 6
    assert usage["limited"].accepted >= 22 // 4, "the endpoint takes jobs again once its rate recovers"
    assert report.actual_seconds < 10, "no request keeps waiting at the rate of the burst"


def test_waiting_request_follows_recovering_rate(monkeypatch):
    monkeypatch.setattr(scheduler_module, "RATE_RECOVERY_SECONDS", 0.05)
    scheduler = ListScheduler(JobGraph([Job("a")]), [EndpointLimits("rl", requests_per_minute=60, burst=1)])
    started = time.monotonic()
    gate = RequestGate("rl", scheduler, threading.Lock(), lambda: time.monotonic() - started)
    scheduler.endpoints["rl"].bucket.book(0.0)
    for _ in range(4):  # four bursts: one request every 16 s, and the bucket's next slot 16 s away
        scheduler.record_rate_limit("rl", time.monotonic() - started, 0.0)
    gate.begin_job()
    gate.before_request()
    gate.before_request()  # the two requests booked when the job started

    waited = time.monotonic()
    gate.before_request()
    waited = time.monotonic() - waited

    assert scheduler.endpoints["rl"].bucket.factor == 1.0
    assert waited < 5.0, "the request goes at the recovered rate, not at the 16 s it would have been booked for"


# --- killing and resuming -------------------------------------------------------------

_BATCH_SCRIPT = textwrap.dedent(
    """
    import shutil, sys
    from pathlib import Path
    shutil.which = lambda name, *args, **kwargs: None
    from formalize.batch import BatchRunner, FormalizerAttempt, formalizer_builder
    from formalize.endpoints import Endpoint
    from formalize.lean_project import LeanProject, bundled_lean_template
    from kg.ladybug_store import LadybugStore
    from tests.formalize.scripted_model import synthetic_chapter

    home, base_url = Path(sys.argv[1]), sys.argv[2]
    _, contexts = synthetic_chapter("syn", definitions=2, lemmas=3, exercises=2, seed=1)
    store = LadybugStore(home / "graph.lbdb")
    lean = LeanProject(home / "lean", bundled_lean_template())
    attempt = FormalizerAttempt(store, formalizer_builder(lean, {}, 0))
    only = Endpoint("only", base_url, "m", concurrency=2, expected_seconds=0.05, timeout_seconds=120)
    BatchRunner(store, [only], attempt).run(contexts)
    """
)


def test_killed_batch_resumes(tmp_path, chapter, servers):
    home = tmp_path / "home"
    home.mkdir()
    with LadybugStore(home / "graph.lbdb") as setup:
        setup.write_book(chapter[0])
    last = "Exercise 1.7"
    graph = build_job_graph(chapter[1])
    last_id = next(item_id for item_id, context in chapter[1].items() if context.target.label == last)
    assert not graph.needed_by[last_id], "the test needs a job that nothing waits for"
    # The last exercise's answer never comes, so the batch is killed with it running and
    # every other target stored.
    fast = SimulatedModel("m")
    hanging = SimulatedModel("m", latency_seconds=60.0)

    def responder(request):
        return (hanging if item_label(request) == last else fast)(request)

    server = FakeOpenAI().start()
    servers.append(server)
    for _ in range(200):
        server.push_responder(responder)
    process = subprocess.Popen(
        [sys.executable, "-c", _BATCH_SCRIPT, str(home), server.base_url],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        # Wait, at most 30 s, until the hanging job is in flight and every other job has
        # been reviewed. On a loaded machine the two can happen in either order.
        for _ in range(600):
            hanging_sent = requests_about(server, FORMALIZE).count(last)
            others_done = len(set(requests_about(server, REVIEW))) >= 6
            if (hanging_sent and others_done) or process.poll() is not None:
                break
            time.sleep(0.05)
        # The last review answer is stored a moment after it arrives.
        time.sleep(1.0)
        assert process.poll() is None, process.stderr.read().decode()
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    finished_before_kill = set(requests_about(server, REVIEW))
    assert len(finished_before_kill) == 6, "every job but the hanging one was reviewed before the kill"

    resume_server = start(servers, SimulatedModel("m"))
    with LadybugStore(home / "graph.lbdb") as store:
        batch = BatchRunner(
            store,
            [endpoint("only", resume_server)],
            FormalizerAttempt(
                store, formalizer_builder(LeanProject(home / "lean", bundled_lean_template()), {}, 0)
            ),
        )
        report = batch.run(chapter[1])

    resumed = set(requests_about(resume_server, FORMALIZE))
    skipped = {result.entity.label for result in report.results if result.status == SKIPPED_STATUS}
    assert last in resumed
    assert not resumed & finished_before_kill, "no finished target was formalized again"
    assert skipped == finished_before_kill - {last}
    assert report.count(ACCEPTED_STATUS) + report.count(SKIPPED_STATUS) == 7


def closed_port_url() -> str:
    """Return a base URL on 127.0.0.1 where nothing listens, so connections are refused."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def test_unreachable_endpoints_stop_batch(store, tmp_path, chapter):
    urls = [closed_port_url(), closed_port_url()]
    endpoints = [
        Endpoint(name=f"down{index}", base_url=url, model="m", expected_seconds=0.05, failure_threshold=2,
                 cooldown_seconds=30.0)
        for index, url in enumerate(urls)
    ]
    started = time.monotonic()

    report = runner(store, tmp_path, endpoints).run(chapter[1])

    assert time.monotonic() - started < 10, "the batch ends without waiting for the cool-down"
    assert not report.finished
    assert report.stop_reason.startswith("every endpoint is failing")
    for url in urls:
        assert url in report.stop_reason
    assert "Connection error" in report.stop_reason
    assert ".." not in report.stop_reason
    assert report.count(ACCEPTED_STATUS) == 0
    assert all(result.status == "not run" for result in report.results)


def test_rate_limit_wait_does_not_spin(store, tmp_path, chapter, servers, monkeypatch):
    from formalize.scheduler import ListScheduler

    server = start(servers, SimulatedModel("m"))
    calls = []
    next_event = ListScheduler.next_event

    def counted(self, now):
        calls.append(now)
        return next_event(self, now)

    monkeypatch.setattr(ListScheduler, "next_event", counted)
    limited = endpoint("only", server, concurrency=1, requests_per_minute=600, burst=2)

    report = runner(store, tmp_path, [limited]).run(chapter[1])

    assert report.count(ACCEPTED_STATUS) == 7
    assert report.actual_seconds > 1.0, "the rate limit spaces the seven jobs"
    assert len(calls) < 100, "the loop sleeps until the token bucket admits the next job"


# --- Ctrl-C ---------------------------------------------------------------------------

# Runs a batch as the formalize command does: stop the Attempt, close the store, then
# print the report, here as one JSON line.
_INTERRUPTED_SCRIPT = textwrap.dedent(
    """
    import json, shutil, sys
    from pathlib import Path
    shutil.which = lambda name, *args, **kwargs: None
    from formalize.batch import BatchRunner, FormalizerAttempt, formalizer_builder
    from formalize.endpoints import Endpoint
    from formalize.lean_project import LeanProject, bundled_lean_template
    from kg.ladybug_store import LadybugStore
    from tests.formalize.scripted_model import synthetic_chapter

    home, base_url = Path(sys.argv[1]), sys.argv[2]
    _, contexts = synthetic_chapter("syn", definitions=2, lemmas=3, exercises=2, seed=1)
    store = LadybugStore(home / "graph.lbdb")
    attempt = FormalizerAttempt(store, formalizer_builder(LeanProject(home / "lean", bundled_lean_template()), {}, 0))
    only = Endpoint("only", base_url, "m", concurrency=2, expected_seconds=0.05, timeout_seconds=120)
    try:
        report = BatchRunner(store, [only], attempt).run(contexts)
    finally:
        attempt.stop()
        store.close()
    statuses = {result.entity.label: result.status for result in report.results}
    print(json.dumps({"interrupted": report.interrupted, "finished": report.finished,
                      "stop_reason": report.stop_reason, "statuses": statuses}), flush=True)
    """
)


def start_batch_process(tmp_path: Path, chapter, server: FakeOpenAI) -> subprocess.Popen:
    home = tmp_path / "home"
    home.mkdir()
    with LadybugStore(home / "graph.lbdb") as setup:
        setup.write_book(chapter[0])
    return subprocess.Popen(
        [sys.executable, "-c", _INTERRUPTED_SCRIPT, str(home), server.base_url],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until(condition, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def read_line(process: subprocess.Popen, seconds: float) -> str:
    """Return the process's next stdout line, or "" when none comes within `seconds`."""
    ready, _, _ = select.select([process.stdout], [], [], seconds)
    return process.stdout.readline() if ready else ""


def test_ctrl_c_returns_report(tmp_path, chapter, servers):
    server = start(servers, SimulatedModel("m", latency_seconds=0.5))
    process = start_batch_process(tmp_path, chapter, server)
    try:
        assert wait_until(lambda: requests_about(server, FORMALIZE) or process.poll() is not None)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()

    assert process.returncode == 0, err
    report = json.loads(out)
    assert report["interrupted"] is True
    assert report["finished"] is False
    assert "interrupted" in report["stop_reason"]
    assert set(report["statuses"].values()) <= {ACCEPTED_STATUS, NOT_RUN_STATUS}
    assert list(report["statuses"].values()).count(NOT_RUN_STATUS) >= 5
    assert requests_about(server, REVIEW) == [], "no request is sent after Ctrl-C"
    assert "is closed" not in err
    assert "Traceback" not in err


def test_second_ctrl_c_stops_without_waiting(tmp_path, chapter, servers):
    fast = SimulatedModel("m")
    hanging = SimulatedModel("m", latency_seconds=60.0)

    def responder(request):
        hangs = item_label(request) == "Definition 1.1" and request_kind(request) == REVIEW
        return (hanging if hangs else fast)(request)

    server = FakeOpenAI().start()
    servers.append(server)
    for _ in range(200):
        server.push_responder(responder)
    process = start_batch_process(tmp_path, chapter, server)
    try:
        assert wait_until(lambda: "Definition 1.1" in requests_about(server, REVIEW) or process.poll() is not None)
        assert wait_until(lambda: "Definition 1.2" in requests_about(server, REVIEW), seconds=5)
        time.sleep(0.5)  # the answer to the review of Definition 1.2 is stored
        process.send_signal(signal.SIGINT)
        waiting = read_line(process, 1.0)
        process.send_signal(signal.SIGINT)
        line = read_line(process, 10.0)
        # The hanging request ends when the server closes, and the process then exits.
        server.close()
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()

    assert waiting == "", "the first Ctrl-C waits for the request in flight"
    report = json.loads(line)
    assert report["interrupted"] is True
    assert report["statuses"]["Definition 1.2"] == ACCEPTED_STATUS
    assert report["statuses"]["Definition 1.1"] == NOT_RUN_STATUS
    assert process.returncode == 0, err
    assert "press Ctrl-C again" in err
    assert "is closed" not in err
    assert "Traceback" not in err

"""Formalize many items of a book at once: jobs from the dependency graph, several endpoints, escalation.

A batch selects items (a chapter, a section or the whole book), recovers each
item's context, and builds a job DAG in which an item waits for the items of the
batch that it needs (see `job_needs`). The `ListScheduler` places ready jobs on
endpoints, and worker threads run them through an `Attempt`, the seam to the
Formalizer. Because the Formalizer reads the stored targets of context items when
it builds a prompt, a job that starts after its needs sees their Lean code.

Resuming: an item whose stored targets include a checked or draft one is skipped,
so a killed batch repeats only unfinished items. Every attempt is stored when it
ends, and the response cache answers repeated requests without sending them. An
item that the model of an escalation tier rejected in an earlier run (see
`formalize.checks.is_rejection`) starts at the next tier. Its rejected answers were
evicted from the cache, so that model would only be asked the same question again.

Stopping: when no job runs and every endpoint's circuit breaker is open, the batch
ends at once instead of waiting for a cool-down, and `BatchReport.stop_reason`
names each endpoint's URL and last error. The unsettled targets stay "not run".

Ctrl-C (SIGINT, when the batch runs in the main thread) stops the batch too: no job
starts and no request is sent after it. The batch waits for the requests in flight,
whose answers the response cache keeps, unless a second Ctrl-C comes first. It then
returns the report with `interrupted` set.
"""

from __future__ import annotations

import copy
import logging
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from formalize.batch_report import (
    ACCEPTED_STATUS,
    FAILED_STATUS,
    SKIPPED_STATUS,
    AttemptRecord,
    BatchReport,
    EndpointUsage,
    TargetResult,
)
from formalize.checks import is_rejection
from formalize.endpoints import Endpoint
from formalize.llm import LlmClient
from formalize.pricing import ModelPrice
from formalize.request_gate import BatchStopped, GatedClient, RequestGate, fault_kind
from formalize.scheduler import (
    ACCEPTED,
    CANCELLED,
    DONE,
    ERROR,
    FAILED,
    FAULT,
    OPEN,
    RATE_LIMITED,
    REJECTED,
    Job,
    JobGraph,
    ListScheduler,
    makespan_lower_bound,
    simulate,
)
from formalize.targets import CHECKED, DRAFT, usable_formalization
from kg.errors import LemmagraphError
from kg.models import Entity, LeanTarget
from kg.store import GraphStore
from retrieval.book_snapshot import chapter_of
from retrieval.models import CITATION, TERM, TRANSITIVE_CITATION, DependencyContext

log = logging.getLogger(__name__)

# Kinds a batch formalizes by default: statements with a formal meaning.
FORMALIZED_KINDS: tuple[str, ...] = (
    "definition",
    "notation",
    "theorem",
    "lemma",
    "proposition",
    "corollary",
    "exercise",
)
# Kinds whose formalization later items build on, so a job waits for them whenever
# they are in its context.
FOUNDATION_KINDS = frozenset({"definition", "notation"})
_NEEDING_SIGNALS = frozenset({CITATION, TRANSITIVE_CITATION, TERM})
# How long the graph store stays open without a call before a batch that may release
# it does. Reopening the embedded store costs tens of milliseconds, so a batch that
# writes several targets a second keeps it.
STORE_IDLE_SECONDS = 0.25
# How often, in seconds, a waiting batch checks for a Ctrl-C. The signal handler only
# counts interrupts, so the batch sees one at its next check.
INTERRUPT_POLL_SECONDS = 0.1
INTERRUPTED_REASON = "the batch was interrupted (Ctrl-C) before every target settled"

ContextProvider = Callable[[Entity], DependencyContext]


# --- selection and jobs ------------------------------------------------------------


def select_items(
    entities: Sequence[Entity],
    chapter: str | None = None,
    section: str | None = None,
    kinds: Sequence[str] = FORMALIZED_KINDS,
    section_ids: set[str] | None = None,
) -> list[Entity]:
    """Return the items of `kinds` in a chapter, a section, or the whole book, in reading order.

    `section_ids` are the ids of the stored sections to take items from, such as a
    section and its subsections (see `kg.sections`). A book stored without sections
    has no such ids, so `section` is then compared with each item's printed heading:
    it matches the heading itself or its first words, so "2.3" selects "2.3 Convex functions".
    """
    selected = []
    for entity in sorted(entities, key=lambda item: item.order):
        if entity.kind not in kinds:
            continue
        if chapter is not None and chapter_of(entity) != chapter:
            continue
        if section_ids is not None:
            if entity.section_id not in section_ids:
                continue
        elif section is not None and not _in_section(entity, section):
            continue
        selected.append(entity)
    return selected


def _in_section(entity: Entity, section: str) -> bool:
    printed = (entity.section or "").strip()
    wanted = section.strip()
    return printed == wanted or printed.startswith(wanted + " ")


def job_needs(context: DependencyContext, batch_ids: set[str]) -> tuple[str, ...]:
    """Return the batch items a target must wait for: definitions and notation in its context,
    and the items it cites or whose terms it uses.

    Only items printed before the target count, so a forward reference cannot make a cycle.
    """
    target = context.target
    needs = []
    for dependency in context.in_dependency_order():
        entity = dependency.entity
        if entity.id not in batch_ids or entity.order >= target.order:
            continue
        if entity.kind in FOUNDATION_KINDS or _NEEDING_SIGNALS.intersection(dependency.signals):
            needs.append(entity.id)
    return tuple(needs)


def build_job_graph(contexts: Mapping[str, DependencyContext]) -> JobGraph:
    """Build the job DAG of a batch from each item's context, keyed by item id."""
    batch_ids = set(contexts)
    return JobGraph(
        Job(item_id, job_needs(context, batch_ids), context.target.order) for item_id, context in contexts.items()
    )


def is_accepted(target: LeanTarget) -> bool:
    """Return whether an attempt passed: checked or draft, which the Formalizer sets only when
    every check that ran passed, the semantic review included."""
    return target.status in (CHECKED, DRAFT)


class _BatchStore:
    """A GraphStore proxy for the batch's worker threads: it serializes every call, because
    the embedded store is not thread-safe, and it remembers the targets it has read.

    Every job reads the stored targets of its context items to show their Lean code,
    and the same items recur across jobs. The proxy reads an item's targets once and
    adds the targets the batch writes, so the store lock is held for writes and first
    reads only. A target written meanwhile by another process is not seen until the
    next batch, as a batch that started earlier would not see it either.

    With `release`, the proxy calls it once the store has been idle for `idle_seconds`,
    so that another process can open an embedded store between the batch's writes. The
    store must then open itself again on its next use. After `stop`, a call that would
    reach the store raises BatchStopped, because its owner may have closed it.
    """

    def __init__(
        self,
        store: GraphStore,
        lock: threading.Lock,
        release: Callable[[], None] | None = None,
        idle_seconds: float | None = None,
    ) -> None:
        self._store = store
        self._lock = lock
        self._targets: dict[str, list[LeanTarget]] = {}
        self._release = release
        self._idle_seconds = STORE_IDLE_SECONDS if idle_seconds is None else idle_seconds
        self._calls = 0
        self._timer: threading.Timer | None = None
        self._stopped = False

    def targets(self, entity_id: str) -> list[LeanTarget]:
        with self._lock:
            known = self._targets.get(entity_id)
            if known is None:
                self._check_open()
                known = self._targets[entity_id] = self._store.targets(entity_id)
                self._used()
            return list(known)

    def write_target(self, target: LeanTarget) -> None:
        with self._lock:
            self._check_open()
            try:
                self._store.write_target(target)
            finally:
                self._used()
            known = self._targets.get(target.entity_id)
            if known is not None:
                # The store replaces a target with the same id, and so does the view.
                known[:] = [stored for stored in known if stored.id != target.id]
                known.append(copy.deepcopy(target))

    def stop(self) -> None:
        """Cancel a pending release and make later calls raise BatchStopped. The owner of the store closes it."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._release = None
            self._stopped = True

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._store, name)
        if not callable(value):
            return value

        def locked(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self._check_open()
                try:
                    return value(*args, **kwargs)
                finally:
                    self._used()

        return locked

    def _check_open(self) -> None:
        if self._stopped:
            raise BatchStopped("the batch has stopped, so its jobs no longer use the graph store")

    def _used(self) -> None:
        """Restart the idle countdown after a store call; the caller holds the lock."""
        if self._release is None:
            return
        self._calls += 1
        if self._timer is not None:
            self._timer.cancel()
        self._timer = threading.Timer(self._idle_seconds, self._release_if_idle, args=(self._calls,))
        self._timer.daemon = True
        self._timer.start()

    def _release_if_idle(self, calls: int) -> None:
        with self._lock:
            if self._release is not None and calls == self._calls:
                log.debug("Releasing the graph store after %.1f s without a call", self._idle_seconds)
                self._release()


# --- the seam to the Formalizer -------------------------------------------------------

# Run one formalization attempt of a context on an endpoint, with requests going through
# the gate, and return the stored target. Raises LemmagraphError when the attempt fails
# before a target is stored.
Attempt = Callable[[DependencyContext, Endpoint, RequestGate], LeanTarget]
FormalizerFactory = Callable[[GraphStore, Endpoint, Any], Any]


class FormalizerAttempt:
    """The Attempt that runs the project's Formalizer: one per endpoint, with a gated client.

    `build(store, endpoint, client)` returns an object with `run(context) -> LeanTarget`.
    `release_store`, when given, is called whenever the store has been idle for
    `STORE_IDLE_SECONDS`, and `store` must open itself again on its next use. Call
    `stop` when the batch ends.
    """

    def __init__(
        self,
        store: GraphStore,
        build: FormalizerFactory,
        cache: Any = None,
        release_store: Callable[[], None] | None = None,
    ) -> None:
        self._store = _BatchStore(store, threading.Lock(), release_store)
        self._build = build
        self._cache = cache
        self._formalizers: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __call__(self, context: DependencyContext, endpoint: Endpoint, gate: RequestGate) -> LeanTarget:
        with self._lock:
            formalizer = self._formalizers.get(endpoint.name)
            if formalizer is None:
                client = GatedClient(LlmClient(endpoint.llm_settings(), cache=self._cache), gate)
                formalizer = self._build(self._store, endpoint, client)
                self._formalizers[endpoint.name] = formalizer
        return formalizer.run(context)

    def stop(self) -> None:
        self._store.stop()


def formalizer_builder(
    lean: Any,
    prices: Mapping[str, ModelPrice],
    repair_rounds: int,
    semantic_review: bool = True,
    template_dir: Any = None,
) -> FormalizerFactory:
    """Return a FormalizerFactory that builds the project's Formalizer for an endpoint.

    Each endpoint gets a prompt builder cut to its context window and its price.
    """
    from formalize.formalizer import Formalizer
    from formalize.prompt import PromptBuilder

    def build(store: GraphStore, endpoint: Endpoint, client: Any) -> Formalizer:
        return Formalizer(
            store,
            client,
            lean,
            PromptBuilder(template_dir, context_window=endpoint.context_window),
            repair_rounds=repair_rounds,
            prices=endpoint_prices([endpoint], prices),
            semantic_review=semantic_review,
        )

    return build


def endpoint_prices(endpoints: Sequence[Endpoint], prices: Mapping[str, ModelPrice]) -> dict[str, ModelPrice]:
    """Merge each endpoint's price under its model name over the `[prices]` table."""
    merged = dict(prices)
    for endpoint in endpoints:
        if endpoint.price is not None:
            merged[endpoint.model] = endpoint.price
    return merged


# --- the runner -----------------------------------------------------------------------


class BatchRunner:
    """Run the jobs of one batch on several endpoints and return a BatchReport.

    `tiers` lists endpoint names per escalation tier; None puts every endpoint in one
    tier. `progress` is called from the runner's thread after every change.
    """

    def __init__(
        self,
        store: GraphStore,
        endpoints: Sequence[Endpoint],
        attempt: Attempt,
        *,
        tiers: Sequence[Sequence[str]] | None = None,
        redo: bool = False,
        progress: Callable[[BatchReport], None] | None = None,
        requests_per_job: int = 2,
    ) -> None:
        self.store = store
        self.endpoints = {endpoint.name: endpoint for endpoint in endpoints}
        self.attempt = attempt
        self.tiers = [list(tier) for tier in tiers] if tiers else None
        self.redo = redo
        self.progress = progress
        self.requests_per_job = requests_per_job

    def run(self, contexts: Mapping[str, DependencyContext]) -> BatchReport:
        """Formalize the targets of `contexts` (keyed by item id) and return the report."""
        graph = build_job_graph(contexts)
        limits = [endpoint.limits() for endpoint in self.endpoints.values()]
        scheduler = ListScheduler(graph, limits, self.tiers, self.requests_per_job)
        results = {item_id: TargetResult(context.target) for item_id, context in contexts.items()}
        self._resume_earlier_runs(scheduler, results)

        pending = JobGraph(job for job_id, job in graph.jobs.items() if not scheduler.jobs[job_id].status)
        first_tier = [limit for limit in limits if limit.name in scheduler.tiers[0]]
        report = BatchReport(
            results=[results[job_id] for job_id in graph.topological_order],
            endpoints=[EndpointUsage(endpoint.name, endpoint.model) for endpoint in self.endpoints.values()],
            predicted_seconds=simulate(pending, first_tier, None, self.requests_per_job) if len(pending) else 0.0,
            bound=makespan_lower_bound(pending, first_tier, self.requests_per_job),
        )
        log.info(
            "Batch of %d targets (%d already accepted): predicted makespan %.1f s, lower bound %.1f s",
            len(graph),
            len(graph) - len(pending),
            report.predicted_seconds,
            report.bound.seconds,
        )
        _Run(self, scheduler, contexts, results, report).loop()

        observed = {name: state.mean_seconds for name, state in scheduler.endpoints.items()}
        report.observed_bound = makespan_lower_bound(pending, first_tier, self.requests_per_job, observed)
        report.all_large_cost_usd = self._all_large_cost(report)
        return report

    def _resume_earlier_runs(self, scheduler: ListScheduler, results: dict[str, TargetResult]) -> None:
        """Skip the items accepted in an earlier run, and start the others past the tiers that rejected them."""
        if self.redo:
            return
        for item_id, result in results.items():
            targets = self.store.targets(item_id)
            accepted = usable_formalization(targets)
            if accepted is None:
                self._start_past_rejecting_tiers(scheduler, item_id, targets, result)
                continue
            scheduler.settle(item_id, DONE, "accepted in an earlier run")
            result.status = SKIPPED_STATUS
            result.model = accepted.model
            result.target_id = accepted.id
            result.target_status = accepted.status
            result.checks = _checks_summary(accepted)
            result.reason = f"{accepted.status} target of an earlier run, by model {accepted.model}"

    def _start_past_rejecting_tiers(
        self, scheduler: ListScheduler, item_id: str, targets: Sequence[LeanTarget], result: TargetResult
    ) -> None:
        """Start an item at the first tier with a model that has not rejected it, or at the last tier.

        A tier is passed over when every model it serves rejected the item in an earlier run.
        """
        # NOTE: a stored target names the model the server reported. A server that reports
        # another name than the endpoint's `model`, such as a dated snapshot, is not matched.
        rejected_by = {target.model for target in targets if is_rejection(target)}
        tier = 0
        while tier + 1 < len(scheduler.tiers):
            models = {self.endpoints[name].model for name in scheduler.tiers[tier]}
            if not models <= rejected_by:
                break
            tier += 1
        if tier == 0:
            return
        scheduler.start_at_tier(item_id, tier)
        earlier_models = {self.endpoints[name].model for passed in scheduler.tiers[:tier] for name in passed}
        result.reason = (
            f"rejected by model {', '.join(sorted(rejected_by & earlier_models))} in an earlier run, "
            f"so it starts at escalation tier {tier + 1}"
        )
        log.info("%s %s", item_id, result.reason)

    def _all_large_cost(self, report: BatchReport) -> float | None:
        """Estimate the cost of sending every target that ran to the last tier only.

        A target that ran there counts its own cost there. Any other target counts its
        first attempt's tokens at the last tier's price, assuming that model would use as
        many tokens on the same prompt. None when the last tier has no price.
        """
        last_tier = self.tiers[-1] if self.tiers else list(self.endpoints)
        large = self.endpoints[last_tier[0]]
        if large.price is None:
            return None
        total = 0.0
        for result in report.results:
            priced = [attempt for attempt in result.attempts if attempt.target_id]
            on_large = [attempt for attempt in priced if attempt.endpoint in last_tier]
            if on_large:
                total += sum(attempt.cost_usd for attempt in on_large)
            elif priced:
                total += large.price.cost(priced[0].prompt_tokens, priced[0].completion_tokens)
        return round(total, 6)


class _Run:
    """The state of one running batch: the scheduler, the worker pool and the report being filled."""

    def __init__(
        self,
        runner: BatchRunner,
        scheduler: ListScheduler,
        contexts: Mapping[str, DependencyContext],
        results: dict[str, TargetResult],
        report: BatchReport,
    ) -> None:
        self.runner = runner
        self.scheduler = scheduler
        self.contexts = contexts
        self.results = results
        self.report = report
        self.lock = threading.Lock()
        self.started = time.monotonic()
        self.stopping = threading.Event()  # set after Ctrl-C: no job or request starts any more
        self.interrupts = _InterruptCounter()
        self.gates = {
            name: RequestGate(name, scheduler, self.lock, self.clock, self.stopping) for name in runner.endpoints
        }
        self.last_errors: dict[str, str] = {}  # endpoint name -> error of its latest fault

    def clock(self) -> float:
        return time.monotonic() - self.started

    def loop(self) -> None:
        workers = sum(endpoint.concurrency for endpoint in self.runner.endpoints.values())
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="batch")
        running: dict[Future, tuple[str, str, float]] = {}
        try:
            with self.interrupts:
                self._schedule(pool, running)
                if self.interrupts.count:
                    self._stop_after_interrupt(running)
            self.report.finished = not self.report.stop_reason
        finally:
            self.report.actual_seconds = self.clock()
            pool.shutdown(wait=not running, cancel_futures=True)
            self._publish()

    def _schedule(self, pool: ThreadPoolExecutor, running: dict[Future, tuple[str, str, float]]) -> None:
        """Start ready jobs and record finished ones until every job settles, the batch must stop, or Ctrl-C."""
        while not self.interrupts.count:
            with self.lock:
                now = self.clock()
                assignments = self.scheduler.dispatch(now)
            for assignment in assignments:
                future = pool.submit(self._run_job, assignment.job_id, assignment.endpoint)
                running[future] = (assignment.job_id, assignment.endpoint, now)
                log.info("Started %s on %s", assignment.job_id, assignment.endpoint)
            self._publish()
            if not running and self.scheduler.finished:
                return
            with self.lock:
                # The same `now` as dispatch: a later clock could pass the moment a
                # job becomes startable, and then no future event is left to wait for.
                wake = self.scheduler.next_event(now)
            if not running:
                self.report.stop_reason = self._stop_reason(wake)
                if self.report.stop_reason:
                    log.error("Stopping the batch: %s", self.report.stop_reason)
                    return
            timeout = None if wake is None else max(0.0, wake - self.clock())
            for future in self._wait(running, timeout):
                job_id, endpoint_name, started = running.pop(future)
                self._finish(job_id, endpoint_name, started, future.result())

    def _wait(self, running: dict[Future, tuple[str, str, float]], timeout: float | None) -> set[Future]:
        """Wait up to `timeout` seconds, or without limit for None, until a running job finishes,
        and return the finished ones. A Ctrl-C ends the wait within INTERRUPT_POLL_SECONDS."""
        deadline = None if timeout is None else time.monotonic() + timeout
        interrupts = self.interrupts.count
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            step = INTERRUPT_POLL_SECONDS if remaining is None else min(INTERRUPT_POLL_SECONDS, remaining)
            if running:
                done, _ = wait(running, timeout=step, return_when=FIRST_COMPLETED)
            else:
                # wait() returns at once for an empty set, so sleep until the pause,
                # rate limit or cool-down that the timeout comes from ends.
                done = set()
                time.sleep(step)
            if done or step == remaining or self.interrupts.count != interrupts:
                return done

    def _stop_after_interrupt(self, running: dict[Future, tuple[str, str, float]]) -> None:
        """Stop after a Ctrl-C: wait for the requests in flight unless a second Ctrl-C comes,
        and leave the unsettled targets "not run"."""
        self.stopping.set()
        self.report.interrupted = True
        self.report.stop_reason = INTERRUPTED_REASON
        if running:
            log.warning(
                "Interrupted: no job or request starts any more. Waiting for the requests in flight "
                "of %d running jobs; press Ctrl-C again to stop without them",
                len(running),
            )
        while running and self.interrupts.count < 2:
            for future in self._wait(running, None):
                job_id, endpoint_name, started = running.pop(future)
                self._finish(job_id, endpoint_name, started, future.result())
        if not running:
            return
        # The worker threads of these jobs end at their next request or store call, both of
        # which raise BatchStopped from now on (the store once the Attempt is stopped).
        with self.lock:
            now = self.clock()
            for job_id, endpoint_name, _ in running.values():
                self.scheduler.complete(job_id, CANCELLED, now, INTERRUPTED_REASON)
                self.results[job_id].reason = f"interrupted while running on {endpoint_name}"
        log.warning(
            "Stopped without waiting for %d running jobs: %s",
            len(running),
            ", ".join(job_id for job_id, _, _ in running.values()),
        )

    def _stop_reason(self, wake: float | None) -> str:
        """Return why the batch must stop while no job runs, or "" when a job can still start.

        The batch stops when every endpoint's circuit breaker is open, because each one
        failed `failure_threshold` times in a row, or when no endpoint can take a waiting job.
        """
        states = self.scheduler.endpoints
        if all(state.breaker.state == OPEN for state in states.values()):
            return f"every endpoint is failing, so the batch stopped. {self._endpoint_errors()}"
        if wake is None:
            return f"the batch stalled: jobs are waiting but no endpoint can take them. {self._endpoint_errors()}"
        return ""

    def _endpoint_errors(self) -> str:
        """Name each endpoint's URL and its latest error, such as a refused connection."""
        sentences = []
        for name, endpoint in self.runner.endpoints.items():
            error = self.last_errors.get(name)
            ending = f"its last error was: {error.rstrip('.')}." if error else "it recorded no error."
            sentences.append(f"Endpoint {name} at {endpoint.base_url}: {ending}")
        return " ".join(sentences)

    def _run_job(self, job_id: str, endpoint_name: str) -> AttemptRecord:
        """Run one attempt in a worker thread and classify how it ended."""
        endpoint = self.runner.endpoints[endpoint_name]
        gate = self.gates[endpoint_name]
        gate.begin_job()
        started = time.monotonic()
        record = AttemptRecord(endpoint=endpoint_name, model=endpoint.model, outcome=ERROR, seconds=0.0)
        try:
            target = self.runner.attempt(self.contexts[job_id], endpoint, gate)
        except BatchStopped as error:
            record.outcome = CANCELLED
            record.error = str(error)
            log.info("Stopped %s on %s: %s", job_id, endpoint_name, error)
        except LemmagraphError as error:
            faults = gate.job_faults()
            record.outcome = fault_kind(error) or (faults[-1] if faults else ERROR)
            record.error = str(error)
            log.warning("Attempt of %s on %s failed (%s): %s", job_id, endpoint_name, record.outcome, error)
        else:
            _copy_target(record, target)
            faults = gate.job_faults()
            if is_accepted(target):
                record.outcome = ACCEPTED
            elif faults:
                # A request of the checks failed on the endpoint, not the answer itself,
                # so the job goes back to the queue instead of escalating.
                record.outcome = faults[-1]
            else:
                record.outcome = REJECTED
        record.kept_answers = gate.kept_answers()
        record.seconds = time.monotonic() - started
        return record

    def _finish(self, job_id: str, endpoint_name: str, started: float, record: AttemptRecord) -> None:
        reason = record.error or record.status
        with self.lock:
            self.scheduler.complete(job_id, record.outcome, self.clock(), reason, record.kept_answers)
            state = self.scheduler.jobs[job_id]
        result = self.results[job_id]
        result.attempts.append(record)
        usage = next(usage for usage in self.report.endpoints if usage.name == endpoint_name)
        usage.prompt_tokens += record.prompt_tokens
        usage.completion_tokens += record.completion_tokens
        usage.cost_usd += record.cost_usd
        if record.target_id:
            result.endpoint = endpoint_name
            result.model = record.model
            result.target_id = record.target_id
            result.target_status = record.status
            result.checks = record.checks
        if record.outcome in (FAULT, RATE_LIMITED):
            self.last_errors[endpoint_name] = record.error or record.outcome
        if state.status == DONE:
            result.status = ACCEPTED_STATUS
            result.reason = ""
        elif state.status == FAILED:
            result.status = FAILED_STATUS
            result.reason = reason or record.outcome
        else:
            # The job went back to the queue, so its row shows why until it runs again.
            result.reason = reason or record.outcome
        log.info("Finished %s on %s: %s", job_id, endpoint_name, record.outcome)

    def _publish(self) -> None:
        with self.lock:
            for usage in self.report.endpoints:
                state = self.scheduler.endpoints[usage.name]
                usage.accepted = state.finished
                usage.rejected = state.rejected
                usage.faults = state.faults
                usage.rate_limited = state.rate_limited
                usage.running = len(state.running)
                usage.breaker = state.breaker.state
        self.report.actual_seconds = self.clock()
        if self.runner.progress is not None:
            self.runner.progress(self.report)


class _InterruptCounter:
    """Counts SIGINT (Ctrl-C) while a batch runs, in place of Python's KeyboardInterrupt.

    The handler only counts, so an interrupt never lands halfway through recording a
    job, and the batch looks at `count` while it waits. The handler is installed only
    in the main thread, where Python runs signal handlers, and only over Python's
    default handler. The previous handler comes back on exit.
    """

    def __init__(self) -> None:
        self.count = 0
        self._previous: Any = None

    def __enter__(self) -> _InterruptCounter:
        main = threading.current_thread() is threading.main_thread()
        if main and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            self._previous = signal.signal(signal.SIGINT, self._count)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None

    def _count(self, signum: int, frame: object) -> None:
        self.count += 1


def _copy_target(record: AttemptRecord, target: LeanTarget) -> None:
    record.model = target.model or record.model
    record.target_id = target.id
    record.status = target.status
    record.verdict = target.verdict
    record.checks = _checks_summary(target)
    record.prompt_tokens = target.prompt_tokens
    record.completion_tokens = target.completion_tokens
    record.cost_usd = target.cost_usd
    record.error = target.status_reason if not is_accepted(target) else ""


def _checks_summary(target: LeanTarget) -> str:
    """Return "name: status" for each check of the target's last round."""
    last_round = max((check.round for check in target.checks), default=0)
    return ", ".join(f"{check.name}: {check.status}" for check in target.checks if check.round == last_round)

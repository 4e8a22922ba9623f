"""Pure scheduling of formalization jobs over model endpoints: job DAG, limits, circuit breakers.

Nothing here sends a request or reads a clock: every method takes `now` in seconds,
so the same scheduler drives a threaded batch and the offline simulation that
predicts its makespan.

Scheduling rule: critical-path-first list scheduling (the HEFT rule).

- The expected duration d(j, e) of job j on endpoint e is the endpoint's expected
  seconds per job: the configured estimate until jobs finish there, then an
  exponentially weighted mean of the observed durations.
- An endpoint without a configured estimate is tried before it is trusted. Until its
  first job ends, it counts as fast as the fastest configured or measured estimate of
  any endpoint, but never slower than its default and never shorter than its running
  jobs have lasted. Its first observed duration then replaces the default.
- The priority of a job is its upward rank, the longest remaining path to a sink of
  the job DAG: rank(j) = mean over the endpoints j may use of d(j, e), plus the
  maximum rank of the jobs that need j.
- At every event (a job finishes, a pause or cool-down ends, a reduced request rate
  regains a step) the ready jobs are taken highest rank first, ties in reading order.
  Each gets the endpoint with the earliest estimated finish, start + d(j, e). Ties go
  first to an endpoint without a configured estimate that has started no job, then to
  an endpoint whose estimate is configured or measured, then by name. The start is
  the latest of four times: when one of e's slots frees (from the expected finishes
  of its running jobs and the slots held earlier in this round), the end of its
  rate-limit pause, when its token bucket admits the job's requests, and the end of
  its circuit breaker's cool-down. The job starts when that start is now. Otherwise
  it waits and holds the slot for this round, so a lower-ranked job may take another
  endpoint but not that slot.

Limits. An endpoint runs at most `concurrency` jobs. Its requests per minute are
enforced by a token bucket (GCRA) with a burst of `burst` requests. A job start books
`requests_per_job` requests (a formalization and its semantic review).

Rate limits. An HTTP 429 pauses only that endpoint for its Retry-After and halves its
request rate. The other 429s of the same burst extend the pause but do not halve the
rate again: those that arrive during the pause, and those whose request was sent
before the previous 429 arrived. The rate regains a tenth of the configured rate per
success, and another tenth every `RATE_RECOVERY_SECONDS` after the pause ends, so an
endpoint that gets no jobs recovers too. When the rate rises, the requests booked but
not yet due close up to the new spacing. An endpoint without a configured rate learns
one from its requests of the last minute at its first 429, and drops it once the rate
has recovered fully.

Faults. After `failure_threshold` consecutive faults (HTTP 5xx, timeouts, refused
connections) the endpoint's breaker opens: it gets no jobs for `cooldown_seconds`,
then one probe job. A probe success closes the breaker and a probe fault opens it
again with the cool-down doubled, up to `MAX_COOLDOWN_SECONDS`. A job hit by a fault
goes back to the queue, and where it goes next is again the earliest estimated finish:

- A job whose formalization was answered and whose review then failed needs only the
  review again on that endpoint, because the response cache keeps the answer. Its
  expected duration there is the share of its requests still to send.
- A job that faulted `JOB_FAULTS_BEFORE_AVOIDING` times on one endpoint avoids it while
  another endpoint can take it, in case its own request is what the endpoint fails on.

Escalation. A job walks through tiers of endpoints (`--escalate small,large`). A
rejected answer moves it to the next tier, and the last tier's rejection fails it.
When every endpoint of a job's tier has an open breaker, the job may also use the
next tier's endpoints. `start_at_tier` starts a job at a later tier, for a job that
the earlier tiers rejected in an earlier run.

Cancelling. A job that the batch stops before it ends (after Ctrl-C) goes back to the
queue, and no fault is counted against it or its endpoint.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

# Outcomes of one job run, reported back to the scheduler.
ACCEPTED = "accepted"  # the target passed its checks and review
REJECTED = "rejected"  # the target was stored but failed a check or was not faithful
FAULT = "fault"  # the endpoint failed: HTTP 5xx, timeout or connection error
RATE_LIMITED = "rate limited"  # the endpoint kept returning HTTP 429
ERROR = "error"  # the job failed for a reason another endpoint would not fix
CANCELLED = "cancelled"  # the batch stopped the job before it ended, so it stays pending

# Final states of a job.
DONE = "accepted"
FAILED = "failed"

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half-open"

DEFAULT_REQUESTS_PER_JOB = 2
DEFAULT_FAULT_LIMIT = 5
MAX_COOLDOWN_SECONDS = 600.0
# Weight of the newest observed duration in an endpoint's running estimate.
DURATION_SMOOTHING = 0.3
# Faults of one job on one endpoint after which it goes elsewhere when it can. One
# fault is as likely to be chance as a sign, and the breaker handles failing endpoints.
JOB_FAULTS_BEFORE_AVOIDING = 2
# Rate-limit pause when a 429 carries no Retry-After.
DEFAULT_RATE_LIMIT_PAUSE_SECONDS = 1.0
MIN_RATE_FACTOR = 1 / 16
# The shortest stretch of traffic a learned request rate is measured over, so that a
# few requests sent at once do not read as a huge rate.
MIN_LEARNING_SECONDS = 1.0
RATE_RECOVERY_STEP = 0.1
# Request limits are usually counted per minute, so a minute after the pause without
# another 429 restores the full rate from any factor: ten steps of a tenth.
RATE_RECOVERY_SECONDS = 6.0
# Times closer than this count as equal, so float rounding never delays a start.
TIME_EPSILON = 1e-9


class SchedulingError(ValueError):
    """The job graph or endpoint list cannot be scheduled."""


@dataclass(frozen=True)
class Job:
    """One target to formalize: its id, the jobs that must settle first, and its reading order."""

    id: str
    needs: tuple[str, ...] = ()
    order: int = 0


class JobGraph:
    """A DAG of jobs: a job becomes ready once every job it needs has settled.

    Needs that name no job of the graph are ignored, because an item outside the
    batch is taken as it is stored. Raises SchedulingError on a duplicate id or a cycle.
    """

    def __init__(self, jobs: Iterable[Job]) -> None:
        self.jobs: dict[str, Job] = {}
        for job in jobs:
            if job.id in self.jobs:
                raise SchedulingError(f"duplicate job id {job.id!r}")
            self.jobs[job.id] = job
        self.needs: dict[str, tuple[str, ...]] = {
            job.id: tuple(dict.fromkeys(need for need in job.needs if need in self.jobs and need != job.id))
            for job in self.jobs.values()
        }
        self.needed_by: dict[str, list[str]] = {job_id: [] for job_id in self.jobs}
        for job_id, needs in self.needs.items():
            for need in needs:
                self.needed_by[need].append(job_id)
        self.topological_order = self._topological_order()

    def __len__(self) -> int:
        return len(self.jobs)

    def _topological_order(self) -> list[str]:
        waiting = {job_id: len(needs) for job_id, needs in self.needs.items()}
        ready = [(self.jobs[job_id].order, job_id) for job_id, count in waiting.items() if count == 0]
        heapq.heapify(ready)
        order: list[str] = []
        while ready:
            _, job_id = heapq.heappop(ready)
            order.append(job_id)
            for user in self.needed_by[job_id]:
                waiting[user] -= 1
                if waiting[user] == 0:
                    heapq.heappush(ready, (self.jobs[user].order, user))
        if len(order) < len(self.jobs):
            stuck = sorted(job_id for job_id, count in waiting.items() if count > 0)
            raise SchedulingError(f"the job graph has a cycle through {', '.join(stuck[:5])}")
        return order

    def upward_ranks(self, duration: Mapping[str, float]) -> dict[str, float]:
        """Return each job's longest path to a sink, counting `duration[job]` for every job on it."""
        rank: dict[str, float] = {}
        for job_id in reversed(self.topological_order):
            below = max((rank[user] for user in self.needed_by[job_id]), default=0.0)
            rank[job_id] = duration[job_id] + below
        return rank


@dataclass(frozen=True)
class EndpointLimits:
    """Limits of one endpoint and its expected seconds per job, as the scheduler uses them.

    `requests_per_minute` None means no limit. `burst` is the number of requests the
    token bucket admits at once, and defaults to `concurrency * requests_per_job`.
    `expected_seconds_configured` false means that `expected_seconds` is a default,
    not an estimate of this endpoint, so the scheduler tries the endpoint before it
    trusts the value.
    """

    name: str
    concurrency: int = 1
    expected_seconds: float = 30.0
    requests_per_minute: float | None = None
    burst: int | None = None
    failure_threshold: int = 3
    cooldown_seconds: float = 30.0
    expected_seconds_configured: bool = True

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise SchedulingError(f"endpoint {self.name!r}: concurrency must be at least 1, got {self.concurrency}")
        if self.expected_seconds <= 0:
            raise SchedulingError(
                f"endpoint {self.name!r}: expected_seconds must be positive, got {self.expected_seconds}"
            )
        if self.requests_per_minute is not None and self.requests_per_minute <= 0:
            raise SchedulingError(
                f"endpoint {self.name!r}: requests_per_minute must be positive, got {self.requests_per_minute}"
            )
        if self.failure_threshold < 1:
            raise SchedulingError(
                f"endpoint {self.name!r}: failure_threshold must be at least 1, got {self.failure_threshold}"
            )


class TokenBucket:
    """A requests-per-minute limit as a generic cell rate algorithm (GCRA) with a burst.

    A request may go at time t when t >= tat - (burst - 1) * interval, where tat is
    the theoretical arrival time of the next request and interval = 60 / rate.
    Booking a request moves tat one interval on. `factor` scales the rate down after
    a rate-limit answer. It recovers with time from `recovers_from` on, which
    `recover_over_time(now)` applies. `book` and `slow_down` apply it themselves, and
    `next_free` does not, because it also plans at times ahead of now.
    """

    def __init__(self, requests_per_minute: float | None, burst: int) -> None:
        self.requests_per_minute = requests_per_minute
        self.burst = max(1, burst)
        self.factor = 1.0
        self.tat = -math.inf
        self.recent: deque[float] = deque()  # booking times of the last minute, for a limit learned from a 429
        self.learned = False  # whether requests_per_minute was learned from a 429 instead of configured
        # The rate regains its next step RATE_RECOVERY_SECONDS after this time, which is the
        # end of the latest pause moved on by each step taken, or infinity at the full rate.
        self.recovers_from = math.inf

    @property
    def interval(self) -> float:
        if self.requests_per_minute is None:
            return 0.0
        return 60.0 / (self.requests_per_minute * self.factor)

    def next_free(self, now: float, count: int = 1, tat: float | None = None) -> float:
        """Return the earliest time from `now` at which `count` more requests are admitted together.

        `tat` replaces the bucket's own theoretical arrival time, to plan without booking.
        """
        if self.requests_per_minute is None:
            return now
        tat = self.tat if tat is None else tat
        return max(now, tat + (count - self.burst) * self.interval)

    def tat_after(self, start: float, count: int, tat: float) -> float:
        """Return the theoretical arrival time after booking `count` requests at `start`."""
        return max(tat, start) + count * self.interval

    def book(self, now: float, count: int = 1) -> float:
        """Book `count` requests at the earliest time that admits them all, and return that time."""
        self.recover_over_time(now)
        first = self.next_free(now, count)
        at = first
        for _ in range(count):
            at = self.next_free(at)
            self.tat = max(self.tat, at) + self.interval
            self.recent.append(at)
        while self.recent and self.recent[0] < now - 60.0:
            self.recent.popleft()
        return first

    def refund(self, count: int = 1) -> None:
        """Give back booked requests that were never sent, such as answers read from the cache."""
        if self.requests_per_minute is not None:
            self.tat -= count * self.interval

    def slow_down(self, now: float, pause_end: float | None = None) -> None:
        """Halve the rate, which starts to recover with time at `pause_end` (default `now`).

        An unlimited bucket first takes as its limit the rate at which it sent requests
        in the last minute, measured over the time those requests span (at least
        `MIN_LEARNING_SECONDS`), or its burst per minute when that is more. A batch that
        meets a 429 in its first seconds has sent few requests, but at a high rate.
        """
        self.recover_over_time(now)
        if self.requests_per_minute is None:
            while self.recent and self.recent[0] < now - 60.0:
                self.recent.popleft()
            span = max(now - self.recent[0], MIN_LEARNING_SECONDS) if self.recent else 60.0
            self.requests_per_minute = max(float(self.burst), len(self.recent) * 60.0 / min(span, 60.0))
            self.learned = True
            self.tat = now
        old_interval = self.interval
        self.factor = max(MIN_RATE_FACTOR, self.factor / 2)
        # Bookings already made keep their places; only later ones are spaced wider.
        self.tat = max(self.tat, now) + (self.interval - old_interval)
        self.recovers_from = now if pause_end is None else pause_end

    def delay_recovery(self, pause_end: float) -> None:
        """Start the recovery with time no earlier than `pause_end`, for a pause made longer."""
        if self.factor < 1.0:
            self.recovers_from = max(self.recovers_from, pause_end)

    def recover(self, now: float) -> None:
        """Regain a step of the rate after a success."""
        self.recover_over_time(now)
        self._raise_factor(RATE_RECOVERY_STEP, now)

    def recover_over_time(self, now: float) -> None:
        """Regain a step of the rate for every `RATE_RECOVERY_SECONDS` from the end of the pause to `now`."""
        if self.factor >= 1.0 or now < self.recovers_from + RATE_RECOVERY_SECONDS:
            return
        steps = math.floor((now - self.recovers_from) / RATE_RECOVERY_SECONDS)
        self.recovers_from += steps * RATE_RECOVERY_SECONDS
        self._raise_factor(steps * RATE_RECOVERY_STEP, now)

    def next_recovery(self) -> float:
        """Return when the rate next regains a step with time, or infinity at the full rate."""
        return self.recovers_from + RATE_RECOVERY_SECONDS if self.factor < 1.0 else math.inf

    def _raise_factor(self, amount: float, now: float) -> None:
        old_interval = self.interval
        # Rounding keeps five steps of a tenth from stopping just short of 1.0.
        self.factor = min(1.0, round(self.factor + amount, 9))
        if old_interval > 0 and self.tat > now:
            # The bookings not yet due were spaced at the old interval, so they close up.
            self.tat = now + (self.tat - now) * self.interval / old_interval
        if self.factor < 1.0:
            return
        self.recovers_from = math.inf
        if self.learned:
            # The limit was a guess from one minute of traffic, so the endpoint goes back
            # to no limit, as configured, until the next 429 teaches it again.
            self.requests_per_minute = None
            self.learned = False
            self.tat = -math.inf


class CircuitBreaker:
    """Closed, open after repeated faults, then half-open for one probe after a cool-down."""

    def __init__(self, failure_threshold: int, cooldown_seconds: float) -> None:
        self.failure_threshold = failure_threshold
        self.base_cooldown = cooldown_seconds
        self.cooldown = cooldown_seconds
        self.state = CLOSED
        self.failures = 0
        self.opened_at = 0.0
        self.trips = 0

    def capacity(self, now: float, concurrency: int) -> int:
        """Return how many jobs the endpoint may run at `now`: all, one probe, or none."""
        if self.state == OPEN and now + TIME_EPSILON >= self.opened_at + self.cooldown:
            self.state = HALF_OPEN
        if self.state == CLOSED:
            return concurrency
        return 1 if self.state == HALF_OPEN else 0

    def reopens_at(self) -> float:
        """Return when an open breaker lets a probe through."""
        return self.opened_at + self.cooldown

    def record_success(self) -> None:
        self.state = CLOSED
        self.failures = 0
        self.cooldown = self.base_cooldown

    def record_fault(self, now: float) -> bool:
        """Count a fault and return whether the breaker opened because of it."""
        self.failures += 1
        if self.state == HALF_OPEN:
            self.cooldown = min(self.cooldown * 2, MAX_COOLDOWN_SECONDS)
        elif self.state == OPEN or self.failures < self.failure_threshold:
            return False
        self.state = OPEN
        self.opened_at = now
        self.trips += 1
        return True


@dataclass
class EndpointState:
    """The runtime state of one endpoint: its running jobs, estimate, bucket, pause and breaker."""

    limits: EndpointLimits
    requests_per_job: int
    expected_seconds: float = 0.0
    running: dict[str, float] = field(default_factory=dict)  # job id -> expected finish
    paused_until: float = 0.0
    bucket: TokenBucket = field(init=False)
    breaker: CircuitBreaker = field(init=False)
    finished: int = 0
    rejected: int = 0
    busy_seconds: float = 0.0  # summed durations of the jobs that ended with an answer
    answered: int = 0
    faults: int = 0
    rate_limited: int = 0
    rate_limited_at: float = -math.inf  # when the latest 429 arrived
    started: int = 0  # jobs started here, retries included

    def __post_init__(self) -> None:
        limits = self.limits
        self.expected_seconds = limits.expected_seconds
        burst = limits.burst if limits.burst is not None else limits.concurrency * self.requests_per_job
        self.bucket = TokenBucket(limits.requests_per_minute, burst)
        self.breaker = CircuitBreaker(limits.failure_threshold, limits.cooldown_seconds)

    @property
    def name(self) -> str:
        return self.limits.name

    def earliest_start(self, now: float, tat: float | None = None) -> float:
        """Return the earliest time a new job could start here, ignoring slots.

        `tat` is the token bucket's planned arrival time when jobs were planned here before.
        """
        self.bucket.recover_over_time(now)
        start = max(now, self.paused_until, self.bucket.next_free(now, self.requests_per_job, tat))
        if self.breaker.state == OPEN:
            start = max(start, self.breaker.reopens_at())
        return start

    def slot_times(self, now: float) -> list[float]:
        """Return when each of the endpoint's slots is expected to free, earliest first."""
        capacity = self.breaker.capacity(now, self.limits.concurrency)
        if self.breaker.state == OPEN:
            capacity = 1  # the probe slot after the cool-down, which earliest_start accounts for
        finishes = sorted(max(now, finish) for finish in self.running.values())
        if len(finishes) >= capacity:
            return finishes[len(finishes) - capacity :]
        return [now] * (capacity - len(finishes)) + finishes

    def can_start_now(self, now: float) -> bool:
        capacity = self.breaker.capacity(now, self.limits.concurrency)
        return len(self.running) < capacity and self.earliest_start(now) <= now + TIME_EPSILON

    @property
    def estimate_known(self) -> bool:
        """Whether `expected_seconds` is configured or measured here, rather than a default."""
        return self.limits.expected_seconds_configured or self.answered > 0

    def observe_duration(self, seconds: float) -> None:
        if self.estimate_known:
            self.expected_seconds += DURATION_SMOOTHING * (seconds - self.expected_seconds)
        else:
            self.expected_seconds = seconds
        self.busy_seconds += seconds
        self.answered += 1

    @property
    def mean_seconds(self) -> float:
        """The mean duration of the jobs that ended with an answer, or the estimate before any did."""
        return self.busy_seconds / self.answered if self.answered else self.expected_seconds


@dataclass
class JobState:
    """The state of one job: its tier, its fault count, and the endpoints that ran it."""

    job: Job
    tier: int = 0
    status: str = ""  # "" while pending or running, else DONE or FAILED
    running_on: str | None = None
    started_at: float = 0.0
    faults: int = 0
    faulted_on: dict[str, int] = field(default_factory=dict)  # endpoint name -> faults of this job there
    # Endpoint name -> requests of this job answered there whose answers the response
    # cache keeps, so a retry there sends only the rest.
    cached: dict[str, int] = field(default_factory=dict)
    credit: int = 0  # the cached requests the current run started with
    endpoints: list[str] = field(default_factory=list)  # every endpoint that ran it, in order
    reason: str = ""


@dataclass(frozen=True)
class Assignment:
    """A job to start now on an endpoint."""

    job_id: str
    endpoint: str
    tier: int


class ListScheduler:
    """Assign ready jobs to endpoints by the critical-path-first rule in the module docstring.

    `tiers` lists endpoint names per escalation tier, and defaults to one tier of all
    endpoints. A job that faults `fault_limit` times fails.
    """

    def __init__(
        self,
        graph: JobGraph,
        endpoints: Sequence[EndpointLimits],
        tiers: Sequence[Sequence[str]] | None = None,
        requests_per_job: int = DEFAULT_REQUESTS_PER_JOB,
        fault_limit: int = DEFAULT_FAULT_LIMIT,
    ) -> None:
        if not endpoints:
            raise SchedulingError("no endpoints to schedule on")
        self.graph = graph
        self.endpoints: dict[str, EndpointState] = {}
        for limits in endpoints:
            if limits.name in self.endpoints:
                raise SchedulingError(f"duplicate endpoint name {limits.name!r}")
            self.endpoints[limits.name] = EndpointState(limits, requests_per_job)
        self.tiers = [list(tier) for tier in (tiers or [list(self.endpoints)])]
        for tier in self.tiers:
            unknown = [name for name in tier if name not in self.endpoints]
            if not tier or unknown:
                raise SchedulingError(f"escalation tier {tier} names unknown endpoints {unknown}")
        self.requests_per_job = requests_per_job
        self.fault_limit = fault_limit
        self.jobs = {job_id: JobState(job) for job_id, job in graph.jobs.items()}

    # --- queries ------------------------------------------------------------

    @property
    def finished(self) -> bool:
        return all(state.status for state in self.jobs.values())

    def running_count(self) -> int:
        return sum(len(endpoint.running) for endpoint in self.endpoints.values())

    def ready_jobs(self) -> list[str]:
        """Return the pending jobs whose needs have all settled."""
        return [
            job_id
            for job_id, state in self.jobs.items()
            if not state.status
            and state.running_on is None
            and all(self.jobs[need].status for need in self.graph.needs[job_id])
        ]

    def eligible(self, state: JobState, now: float) -> list[str]:
        """Return the endpoints a job may use: its tier, plus the next tier while its own is broken."""
        names = list(self.tiers[state.tier])
        for tier in self.tiers[state.tier + 1 :]:
            if any(self.endpoints[name].breaker.capacity(now, 1) > 0 for name in names):
                break
            names.extend(tier)
        kept = [name for name in names if state.faulted_on.get(name, 0) < JOB_FAULTS_BEFORE_AVOIDING]
        return kept or names

    def expected_seconds(self, endpoint: EndpointState, now: float) -> float:
        """Return the seconds per job that planning assumes on an endpoint.

        An endpoint whose estimate is a default counts as the fastest known estimate, or
        its default when that is faster, so that it gets tried. Its running jobs have
        already lasted their elapsed time, so the result is never below that.
        """
        if endpoint.estimate_known:
            return endpoint.expected_seconds
        known = [other.expected_seconds for other in self.endpoints.values() if other.estimate_known]
        elapsed = [now - self.jobs[job_id].started_at for job_id in endpoint.running]
        return max([min([endpoint.expected_seconds, *known]), *elapsed])

    def job_seconds(self, state: JobState, endpoint: EndpointState, now: float) -> float:
        """Return the expected duration of a job on an endpoint: its share of requests still to send."""
        cached = min(state.cached.get(endpoint.name, 0), self.requests_per_job - 1)
        return self.expected_seconds(endpoint, now) * (self.requests_per_job - cached) / self.requests_per_job

    def ranks(self, now: float) -> dict[str, float]:
        seconds = {name: self.expected_seconds(endpoint, now) for name, endpoint in self.endpoints.items()}
        durations = {}
        for job_id, state in self.jobs.items():
            tier = self.tiers[min(state.tier, len(self.tiers) - 1)]
            durations[job_id] = sum(seconds[name] for name in tier) / len(tier)
        return self.graph.upward_ranks(durations)

    def next_event(self, now: float) -> float | None:
        """Return when a waiting job could next start without any running job finishing, or an
        endpoint's request rate next recovers, or None."""
        if not self.ready_jobs():
            return None
        times = [endpoint.earliest_start(now) for endpoint in self.endpoints.values()]
        times += [endpoint.bucket.next_recovery() for endpoint in self.endpoints.values()]
        later = [time for time in times if now + TIME_EPSILON < time < math.inf]
        return min(later) if later else None

    # --- events -------------------------------------------------------------

    def dispatch(self, now: float) -> list[Assignment]:
        """Start the ready jobs that the rule places on an endpoint now, and return them."""
        ready = self.ready_jobs()
        if not ready:
            return []
        rank = self.ranks(now)
        ready.sort(key=lambda job_id: (-rank[job_id], self.jobs[job_id].job.order, job_id))
        slots = {name: endpoint.slot_times(now) for name, endpoint in self.endpoints.items()}
        # Each job planned on an endpoint this round uses up its slot and its requests.
        planned_tat = {name: endpoint.bucket.tat for name, endpoint in self.endpoints.items()}
        started: list[Assignment] = []
        for job_id in ready:
            state = self.jobs[job_id]
            best = self._earliest_finish(state, slots, planned_tat, now)
            if best is None:
                continue
            name, start = best
            endpoint = self.endpoints[name]
            heapq.heappop(slots[name])
            heapq.heappush(slots[name], start + self.job_seconds(state, endpoint, now))
            planned_tat[name] = endpoint.bucket.tat_after(start, self.requests_per_job, planned_tat[name])
            if start <= now + TIME_EPSILON and endpoint.can_start_now(now):
                started.append(self._start(state, endpoint, now))
        return started

    def _earliest_finish(
        self, state: JobState, slots: dict[str, list[float]], planned_tat: dict[str, float], now: float
    ) -> tuple[str, float] | None:
        best: tuple[float, float, int, str] | None = None
        for name in self.eligible(state, now):
            endpoint = self.endpoints[name]
            if not slots[name]:
                continue
            start = max(slots[name][0], endpoint.earliest_start(now, planned_tat[name]))
            candidate = (start + self.job_seconds(state, endpoint, now), start, _tie_order(endpoint), name)
            if best is None or candidate < best:
                best = candidate
        return (best[3], best[1]) if best else None

    def _start(self, state: JobState, endpoint: EndpointState, now: float) -> Assignment:
        endpoint.running[state.job.id] = now + self.job_seconds(state, endpoint, now)
        endpoint.started += 1
        endpoint.bucket.book(now, self.requests_per_job)
        state.running_on = endpoint.name
        state.started_at = now
        state.credit = min(state.cached.get(endpoint.name, 0), self.requests_per_job - 1)
        state.endpoints.append(endpoint.name)
        tier = next((index for index, tier in enumerate(self.tiers) if endpoint.name in tier), state.tier)
        state.tier = max(state.tier, tier)
        return Assignment(state.job.id, endpoint.name, state.tier)

    def complete(self, job_id: str, outcome: str, now: float, reason: str = "", kept_answers: int = 0) -> None:
        """Record how a running job ended, update its endpoint, and settle or requeue it.

        `kept_answers` counts the responses of the job that the response cache keeps.
        After a fault, a retry on the same endpoint reads them back, so it is expected to be shorter.
        A CANCELLED job goes back to the queue without counting against the endpoint.
        """
        state = self.jobs[job_id]
        if state.running_on is None:
            raise SchedulingError(f"job {job_id!r} is not running")
        endpoint = self.endpoints[state.running_on]
        endpoint.running.pop(job_id, None)
        state.running_on = None
        state.reason = reason

        if outcome in (ACCEPTED, REJECTED, ERROR):
            endpoint.breaker.record_success()
            endpoint.bucket.recover(now)
            # A run that began with cached answers sent fewer requests, so scale its
            # duration up to a whole job before it joins the endpoint's estimate.
            remaining = self.requests_per_job - state.credit
            endpoint.observe_duration((now - state.started_at) * self.requests_per_job / remaining)
            state.cached.pop(endpoint.name, None)
        if outcome == ACCEPTED:
            endpoint.finished += 1
            state.status = DONE
        elif outcome == REJECTED:
            endpoint.rejected += 1
            if state.tier + 1 < len(self.tiers):
                state.tier += 1
            else:
                state.status = FAILED
        elif outcome == ERROR:
            state.status = FAILED
        elif outcome in (FAULT, RATE_LIMITED):
            if kept_answers > 0:
                state.cached[endpoint.name] = kept_answers
            else:
                state.cached.pop(endpoint.name, None)
            self._requeue_after_fault(state, endpoint, outcome, now)
        elif outcome != CANCELLED:
            raise SchedulingError(f"unknown outcome {outcome!r}")

    def _requeue_after_fault(self, state: JobState, endpoint: EndpointState, outcome: str, now: float) -> None:
        if outcome == FAULT:
            endpoint.faults += 1
            endpoint.breaker.record_fault(now)
        state.faults += 1
        state.faulted_on[endpoint.name] = state.faulted_on.get(endpoint.name, 0) + 1
        if state.faults >= self.fault_limit:
            state.status = FAILED

    def record_rate_limit(self, name: str, now: float, seconds: float | None, sent_at: float | None = None) -> None:
        """Pause an endpoint after a rate-limit answer for `seconds` (Retry-After), and halve its
        request rate unless the answer belongs to the burst of an earlier one.

        `sent_at` is when the rate-limited request was sent, if known.
        """
        endpoint = self.endpoints[name]
        endpoint.rate_limited += 1
        wait = DEFAULT_RATE_LIMIT_PAUSE_SECONDS if seconds is None else max(0.0, seconds)
        same_burst = now < endpoint.paused_until or (sent_at is not None and sent_at < endpoint.rate_limited_at)
        endpoint.paused_until = max(endpoint.paused_until, now + wait)
        endpoint.rate_limited_at = now
        if same_burst:
            endpoint.bucket.delay_recovery(endpoint.paused_until)
        else:
            endpoint.bucket.slow_down(now, endpoint.paused_until)

    def start_at_tier(self, job_id: str, tier: int) -> None:
        """Move a pending job to a later escalation tier before it runs, such as a job that the
        models of the earlier tiers rejected in an earlier run."""
        if not 0 <= tier < len(self.tiers):
            raise SchedulingError(f"job {job_id!r}: tier {tier} is not one of the {len(self.tiers)} escalation tiers")
        state = self.jobs[job_id]
        state.tier = max(state.tier, tier)

    def settle(self, job_id: str, status: str, reason: str = "") -> None:
        """Mark a pending job as settled without running it, such as one accepted in an earlier run."""
        state = self.jobs[job_id]
        state.status = status
        state.reason = reason


def _tie_order(endpoint: EndpointState) -> int:
    """Order endpoints of equal estimated finish: untried first, so it gets a job, then known
    estimates, then endpoints whose first jobs still run, whose estimate is only a guess."""
    if endpoint.estimate_known:
        return 1
    return 0 if endpoint.started == 0 else 2


# --- analysis ---------------------------------------------------------------------


@dataclass(frozen=True)
class MakespanBound:
    """A lower bound on a batch's makespan, in seconds, and the terms it is the maximum of.

    `critical_path` is the longest chain of jobs, each at its fastest endpoint.
    `throughput` is the least time in which the endpoints' concurrency and request
    rates admit every job, ignoring the dependencies. `layered` combines the two:
    for jobs that cannot start before h and leave a chain of t after them, the
    makespan is at least h + (least time the endpoints admit those jobs) + t.
    """

    critical_path: float
    throughput: float
    layered: float = 0.0

    @property
    def seconds(self) -> float:
        return max(self.critical_path, self.throughput, self.layered)


def makespan_lower_bound(
    graph: JobGraph,
    endpoints: Sequence[EndpointLimits],
    requests_per_job: int = DEFAULT_REQUESTS_PER_JOB,
    seconds: Mapping[str, float] | None = None,
) -> MakespanBound:
    """Bound the makespan of one pass over the graph (no escalation, no faults) from below.

    The model: every job takes exactly d_e seconds on endpoint e, its expected seconds
    per job, which `seconds` may override. Capacity: by time T endpoint e finishes at
    most min(c_e * floor(T / d_e), floor((b_e + r_e * (T - d_e)) / q)) jobs. Each of
    its c_e slots finishes whole jobs one after another. A job finished by T started
    by T - d_e, and by then the token bucket had admitted at most b_e + r_e * (T - d_e)
    requests, q per job. Here b_e is the burst and r_e the requests per second. The
    least T at which the endpoints together finish n jobs is found by bisection.
    Counting whole jobs makes the bound tighter than a fluid one: two slots need 6 s,
    not 5.5 s, for eleven 1 s jobs. Heads and tails are chain lengths at the fastest
    endpoint, before and after a job.
    """
    if not graph.jobs:
        return MakespanBound(0.0, 0.0)
    durations = {limits.name: (seconds or {}).get(limits.name, limits.expected_seconds) for limits in endpoints}
    fastest = min(durations.values())
    ranks = graph.upward_ranks({job_id: fastest for job_id in graph.jobs})
    tails = {job_id: rank - fastest for job_id, rank in ranks.items()}
    heads: dict[str, float] = {}
    for job_id in graph.topological_order:
        heads[job_id] = max((heads[need] + fastest for need in graph.needs[job_id]), default=0.0)

    def capacity(time: float) -> int:
        total = 0
        for limits in endpoints:
            duration = durations[limits.name]
            jobs = limits.concurrency * math.floor(time / duration + TIME_EPSILON)
            if limits.requests_per_minute is not None:
                burst = limits.burst if limits.burst is not None else limits.concurrency * requests_per_job
                admitted = burst + limits.requests_per_minute / 60.0 * max(0.0, time - duration)
                jobs = min(jobs, math.floor(admitted / requests_per_job + TIME_EPSILON))
            total += jobs
        return total

    def least_time(count: int) -> float:
        low, high = 0.0, 1.0
        while capacity(high) < count:
            high *= 2
        for _ in range(60):
            middle = (low + high) / 2
            if capacity(middle) >= count:
                high = middle
            else:
                low = middle
        return high

    layered = 0.0
    for head in sorted(set(heads.values())):
        for tail in sorted(set(tails.values())):
            count = sum(1 for job_id in graph.jobs if heads[job_id] >= head and tails[job_id] >= tail)
            if count:
                layered = max(layered, head + least_time(count) + tail)
    return MakespanBound(
        critical_path=max(ranks.values()), throughput=least_time(len(graph.jobs)), layered=layered
    )


def simulate(
    graph: JobGraph,
    endpoints: Sequence[EndpointLimits],
    tiers: Sequence[Sequence[str]] | None = None,
    requests_per_job: int = DEFAULT_REQUESTS_PER_JOB,
) -> float:
    """Return the makespan the list scheduler predicts when every job takes its expected seconds and is accepted."""
    scheduler = ListScheduler(graph, endpoints, tiers, requests_per_job)
    now = 0.0
    finishing: list[tuple[float, str]] = []
    while not scheduler.finished:
        for assignment in scheduler.dispatch(now):
            duration = scheduler.endpoints[assignment.endpoint].expected_seconds
            heapq.heappush(finishing, (now + duration, assignment.job_id))
        wake = scheduler.next_event(now)
        if finishing and (wake is None or finishing[0][0] <= wake):
            now, job_id = heapq.heappop(finishing)
            scheduler.complete(job_id, ACCEPTED, now)
        elif wake is not None:
            now = wake
        else:
            raise SchedulingError("the simulation stalled with jobs left and nothing running")
    return now

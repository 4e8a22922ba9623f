"""The report of a batch: each target's result and attempts, and each endpoint's usage."""

from __future__ import annotations

from dataclasses import dataclass, field

from formalize.scheduler import MakespanBound
from kg.models import Entity

# Statuses of a target in the batch report.
ACCEPTED_STATUS = "accepted"
FAILED_STATUS = "failed"
SKIPPED_STATUS = "skipped"  # accepted in an earlier run
NOT_RUN_STATUS = "not run"  # the batch stopped before this item ran


@dataclass
class AttemptRecord:
    """One run of a job on an endpoint, and what came of it."""

    endpoint: str
    model: str
    outcome: str  # ACCEPTED, REJECTED, FAULT, RATE_LIMITED, ERROR or CANCELLED
    seconds: float
    target_id: str = ""
    status: str = ""
    verdict: str = ""
    checks: str = ""  # "name: status" of each check of the last round
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    error: str = ""
    kept_answers: int = 0  # responses the cache keeps, which a retry on the same endpoint reads back


@dataclass
class TargetResult:
    """The batch's result for one item: its final status, the attempt that decided it, and every attempt."""

    entity: Entity
    status: str = NOT_RUN_STATUS
    endpoint: str = ""
    model: str = ""
    target_id: str = ""
    target_status: str = ""  # the stored status of the deciding target: checked, draft or failed
    checks: str = ""  # "name: status" of the deciding attempt's last round
    reason: str = ""
    attempts: list[AttemptRecord] = field(default_factory=list)

    @property
    def cost_usd(self) -> float:
        return sum(attempt.cost_usd for attempt in self.attempts)


@dataclass
class EndpointUsage:
    """Job counts, tokens, cost and breaker state of one endpoint in a batch."""

    name: str
    model: str
    accepted: int = 0
    rejected: int = 0
    faults: int = 0
    rate_limited: int = 0
    running: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    breaker: str = "closed"


@dataclass
class BatchReport:
    """Every target's result, per-endpoint usage, and the makespan against its prediction and bound."""

    results: list[TargetResult]
    endpoints: list[EndpointUsage]
    predicted_seconds: float = 0.0
    actual_seconds: float = 0.0
    bound: MakespanBound | None = None
    observed_bound: MakespanBound | None = None  # the same bound from the mean observed seconds per job
    all_large_cost_usd: float | None = None  # estimate of running every target on the last tier only
    finished: bool = False
    stop_reason: str = ""  # why the batch ended before every target settled, such as every endpoint failing
    interrupted: bool = False  # the batch stopped because of Ctrl-C

    def count(self, status: str) -> int:
        return sum(1 for result in self.results if result.status == status)

    @property
    def cost_usd(self) -> float:
        return sum(usage.cost_usd for usage in self.endpoints)

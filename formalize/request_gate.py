"""The request gate of a batch: pacing one endpoint's requests, and classifying its faults.

Every request of a batch job goes through a `GatedClient`, which asks the endpoint's
`RequestGate` before it sends. The gate applies the scheduler's pauses and token
bucket, and records per job thread the faults it met and the responses that the
cache keeps, which the batch reports to the scheduler when the job ends.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import openai

from formalize.llm import LlmAnswer, LlmClient, retry_after_seconds
from formalize.scheduler import FAULT, RATE_LIMITED, ListScheduler
from kg.errors import LemmagraphError, LlmError

log = logging.getLogger(__name__)

# How often one request is sent again after HTTP 429 before its job goes back to the queue.
RATE_LIMIT_RETRIES = 3


class BatchStopped(LemmagraphError):
    """The batch stopped, so a job's next request or store call was not made."""


class RequestGate:
    """Paces one endpoint's requests for the scheduler, and records per job thread its faults and
    the responses that the cache keeps.

    The scheduler books `requests_per_job` requests when it starts a job; further
    requests of that job (repair rounds) are booked here. An HTTP 429 pauses the
    endpoint for its Retry-After and the request is sent again. Once `stopping` is
    set, a request raises BatchStopped instead of being sent, also while it waits.
    """

    def __init__(
        self,
        name: str,
        scheduler: ListScheduler,
        lock: threading.Lock,
        clock: Callable[[], float],
        stopping: threading.Event | None = None,
    ) -> None:
        self.name = name
        self._scheduler = scheduler
        self._lock = lock
        self._clock = clock
        self._stopping = stopping or threading.Event()
        self._local = threading.local()

    def begin_job(self) -> None:
        self._local.prebooked = self._scheduler.requests_per_job
        self._local.faults = []
        self._local.kept = set()

    def job_faults(self) -> list[str]:
        """Return the fault kinds (FAULT or RATE_LIMITED) seen by the current thread's job."""
        return list(getattr(self._local, "faults", []))

    def note_answer(self, answer: LlmAnswer) -> None:
        """Note an answer of the current thread's job that the response cache keeps."""
        if answer.cache_key:
            self._kept().add(answer.cache_key)

    def note_evicted(self, answers: Sequence[LlmAnswer]) -> None:
        self._kept().difference_update(answer.cache_key for answer in answers)

    def kept_answers(self) -> int:
        """Return how many of the current thread's job's answers the response cache still keeps."""
        return len(self._kept())

    def _kept(self) -> set[str]:
        if not hasattr(self._local, "kept"):
            self._local.kept = set()
        return self._local.kept

    def before_request(self) -> None:
        """Block until the endpoint's pause is over and the token bucket admits the request.

        Raises BatchStopped when the batch stops before the request may go.
        """
        if self._stopping.is_set():
            raise BatchStopped(f"the batch stopped before a request to {self.name}")
        endpoint = self._scheduler.endpoints[self.name]
        prebooked = getattr(self._local, "prebooked", 0) > 0
        if prebooked:
            self._local.prebooked -= 1
        while True:
            with self._lock:
                now = self._clock()
                send_at = wake = endpoint.paused_until
                if not prebooked:
                    endpoint.bucket.recover_over_time(now)
                    send_at = max(send_at, endpoint.bucket.next_free(now))
                    # A request is booked only when it goes, so a rate that recovers
                    # while it waits applies to it.
                    wake = min(send_at, endpoint.bucket.next_recovery())
                if send_at <= now:
                    if not prebooked:
                        endpoint.bucket.book(now)
                    break
            if self._stopping.wait(max(0.0, wake - now)):
                raise BatchStopped(f"the batch stopped while a request to {self.name} waited")
        self._local.sent_at = now

    def after_cached_answer(self) -> None:
        with self._lock:
            self._scheduler.endpoints[self.name].bucket.refund()

    def rate_limited(self, retry_after: float | None) -> None:
        sent_at = getattr(self._local, "sent_at", None)
        with self._lock:
            self._scheduler.record_rate_limit(self.name, self._clock(), retry_after, sent_at)
        self._note(RATE_LIMITED)

    def faulted(self) -> None:
        self._note(FAULT)

    def _note(self, kind: str) -> None:
        if not hasattr(self._local, "faults"):
            self._local.faults = []
        self._local.faults.append(kind)


def fault_kind(error: BaseException) -> str | None:
    """Classify an LlmError by the openai exception chained to it: RATE_LIMITED, FAULT or None.

    Faults are what another endpoint may not suffer: HTTP 5xx, timeouts and refused
    connections. A 400, 401, 403 or 404 is None, because it needs a fix in the request
    or the configuration.
    """
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, openai.RateLimitError):
            return RATE_LIMITED
        if isinstance(cause, openai.APIConnectionError):  # includes APITimeoutError
            return FAULT
        if isinstance(cause, openai.APIStatusError):
            return FAULT if cause.status_code >= 500 or cause.status_code in (408, 409) else None
        cause = cause.__cause__
    return None


def _retry_after(error: BaseException) -> float | None:
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, openai.APIStatusError):
            return retry_after_seconds(cause.response.headers)
        cause = cause.__cause__
    return None


class GatedClient:
    """An LlmClient that waits for its endpoint's gate before each request and reports faults to it.

    It offers what the Formalizer and its checks use, `complete` and `model`, and
    passes any other attribute through to the wrapped client.
    """

    def __init__(self, client: LlmClient, gate: RequestGate, rate_limit_retries: int = RATE_LIMIT_RETRIES) -> None:
        self.client = client
        self.gate = gate
        self.rate_limit_retries = rate_limit_retries

    @property
    def model(self) -> str:
        return self.client.model

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def complete(self, messages: Sequence[Mapping[str, str]], schema: Any = None) -> LlmAnswer:
        for retry in range(self.rate_limit_retries + 1):
            self.gate.before_request()
            try:
                answer = self.client.complete(messages, schema)
            except LlmError as error:
                kind = fault_kind(error)
                if kind == RATE_LIMITED:
                    self.gate.rate_limited(_retry_after(error))
                    if retry < self.rate_limit_retries:
                        log.warning("%s returned HTTP 429; the request is paused and sent again", self.gate.name)
                        continue
                elif kind == FAULT:
                    self.gate.faulted()
                raise
            if answer.cached:
                self.gate.after_cached_answer()
            self.gate.note_answer(answer)
            return answer
        raise AssertionError("unreachable: the last retry returns or raises")

    def evict(self, answers: Sequence[LlmAnswer]) -> None:
        answers = list(answers)
        self.client.evict(answers)
        self.gate.note_evicted(answers)

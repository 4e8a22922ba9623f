"""The pure scheduler: job DAG, ranks, list scheduling, limits, breakers and escalation, with explicit times."""

from __future__ import annotations

import pytest

import formalize.scheduler as scheduler_module
from formalize.scheduler import (
    ACCEPTED,
    CANCELLED,
    CLOSED,
    DONE,
    FAILED,
    FAULT,
    HALF_OPEN,
    OPEN,
    REJECTED,
    CircuitBreaker,
    EndpointLimits,
    Job,
    JobGraph,
    ListScheduler,
    SchedulingError,
    TokenBucket,
    makespan_lower_bound,
    simulate,
)


def chain_and_fan() -> JobGraph:
    """d1 -> l1 -> l2 -> e1 is the long chain; x1..x3 are independent."""
    return JobGraph(
        [
            Job("d1", order=0),
            Job("x1", order=1),
            Job("x2", order=2),
            Job("x3", order=3),
            Job("l1", ("d1",), order=4),
            Job("l2", ("l1",), order=5),
            Job("e1", ("l2",), order=6),
        ]
    )


def test_graph_rejects_cycle():
    with pytest.raises(SchedulingError, match="cycle"):
        JobGraph([Job("a", ("b",)), Job("b", ("a",))])


def test_graph_rejects_duplicate_id():
    with pytest.raises(SchedulingError, match="duplicate"):
        JobGraph([Job("a"), Job("a")])


def test_graph_ignores_needs_outside_batch():
    graph = JobGraph([Job("a", ("elsewhere", "a")), Job("b", ("a",))])

    assert graph.needs["a"] == ()
    assert graph.needs["b"] == ("a",)
    assert graph.topological_order == ["a", "b"]


def test_upward_rank_is_longest_path_to_sink():
    graph = chain_and_fan()

    ranks = graph.upward_ranks({job_id: 2.0 for job_id in graph.jobs})

    assert ranks["d1"] == 8.0
    assert ranks["l2"] == 4.0
    assert ranks["x1"] == 2.0


def test_dispatch_starts_critical_path_first():
    scheduler = ListScheduler(chain_and_fan(), [EndpointLimits("only", concurrency=1, expected_seconds=1.0)])

    started = scheduler.dispatch(0.0)

    assert [assignment.job_id for assignment in started] == ["d1"]


def test_dispatch_waits_for_faster_endpoint():
    graph = JobGraph([Job("a", order=0), Job("b", order=1)])
    fast = EndpointLimits("fast", concurrency=1, expected_seconds=1.0)
    slow = EndpointLimits("slow", concurrency=1, expected_seconds=10.0)
    scheduler = ListScheduler(graph, [fast, slow])

    started = scheduler.dispatch(0.0)

    assert [(a.job_id, a.endpoint) for a in started] == [("a", "fast")]
    assert scheduler.jobs["b"].running_on is None, "b finishes sooner after a on fast than on slow"


def test_dispatch_uses_slow_endpoint_when_it_finishes_sooner():
    graph = JobGraph([Job(f"j{index}", order=index) for index in range(4)])
    fast = EndpointLimits("fast", concurrency=1, expected_seconds=1.0)
    slow = EndpointLimits("slow", concurrency=1, expected_seconds=2.5)
    scheduler = ListScheduler(graph, [fast, slow])

    started = scheduler.dispatch(0.0)

    assert sorted(a.endpoint for a in started) == ["fast", "slow"]


def test_dispatch_respects_concurrency():
    graph = JobGraph([Job(f"j{index}", order=index) for index in range(5)])
    scheduler = ListScheduler(graph, [EndpointLimits("only", concurrency=3, expected_seconds=1.0)])

    started = scheduler.dispatch(0.0)

    assert len(started) == 3
    assert scheduler.dispatch(0.0) == []


def test_job_waits_for_needs():
    scheduler = ListScheduler(chain_and_fan(), [EndpointLimits("wide", concurrency=10, expected_seconds=1.0)])

    first = {a.job_id for a in scheduler.dispatch(0.0)}
    scheduler.complete("d1", ACCEPTED, 1.0)
    second = {a.job_id for a in scheduler.dispatch(1.0)}

    assert first == {"d1", "x1", "x2", "x3"}
    assert second == {"l1"}


def test_simulation_matches_hand_schedule():
    # One slot of 1 s: seven jobs take 7 s. Two slots: the chain of four bounds it.
    one = simulate(chain_and_fan(), [EndpointLimits("one", concurrency=1, expected_seconds=1.0)])
    two = simulate(chain_and_fan(), [EndpointLimits("two", concurrency=2, expected_seconds=1.0)])

    assert one == pytest.approx(7.0)
    assert two == pytest.approx(4.0)


def test_simulation_not_below_bound():
    graph = JobGraph(
        [Job(f"d{index}", order=index) for index in range(5)]
        + [Job(f"l{index}", (f"d{index % 5}",), order=10 + index) for index in range(15)]
    )
    endpoints = [
        EndpointLimits("fast", concurrency=2, expected_seconds=1.0),
        EndpointLimits("slow", concurrency=4, expected_seconds=3.0),
    ]

    predicted = simulate(graph, endpoints)
    bound = makespan_lower_bound(graph, endpoints)

    assert predicted >= bound.seconds - 1e-6
    assert predicted <= 1.5 * bound.seconds


def test_bound_counts_whole_jobs():
    graph = JobGraph([Job(f"j{index}", order=index) for index in range(11)])
    endpoints = [EndpointLimits("a", concurrency=2, expected_seconds=1.0)]

    bound = makespan_lower_bound(graph, endpoints)

    assert bound.throughput == pytest.approx(6.0, rel=1e-6), "the eleventh job needs a sixth second"
    assert simulate(graph, endpoints) == pytest.approx(bound.seconds)


def test_bound_throughput_term_from_concurrency():
    graph = JobGraph([Job(f"j{index}", order=index) for index in range(12)])
    endpoints = [
        EndpointLimits("a", concurrency=2, expected_seconds=1.0),
        EndpointLimits("b", concurrency=1, expected_seconds=1.0),
    ]

    bound = makespan_lower_bound(graph, endpoints)

    assert bound.critical_path == pytest.approx(1.0)
    assert bound.throughput == pytest.approx(4.0, rel=1e-6)


def test_bound_throughput_term_from_rate_limit():
    graph = JobGraph([Job(f"j{index}", order=index) for index in range(10)])
    # 60 requests a minute, 2 per job, burst 2: one job at once, then a job every 2 s,
    # so the tenth job starts at 18 s and ends at 18.1 s.
    endpoints = [EndpointLimits("a", concurrency=10, expected_seconds=0.1, requests_per_minute=60, burst=2)]

    bound = makespan_lower_bound(graph, endpoints, requests_per_job=2)

    assert bound.throughput == pytest.approx(18.1, rel=1e-6)
    assert simulate(JobGraph(graph.jobs.values()), endpoints, requests_per_job=2) == pytest.approx(18.1)


def test_rate_limit_delays_dispatch():
    graph = JobGraph([Job(f"j{index}", order=index) for index in range(3)])
    limits = EndpointLimits("a", concurrency=3, expected_seconds=1.0, requests_per_minute=60, burst=2)
    scheduler = ListScheduler(graph, [limits], requests_per_job=2)

    started = scheduler.dispatch(0.0)

    assert len(started) == 1
    assert scheduler.next_event(0.0) == pytest.approx(2.0)


def test_bucket_spaces_requests():
    bucket = TokenBucket(requests_per_minute=60, burst=1)

    times = [bucket.book(0.0) for _ in range(3)]

    assert times == [0.0, 1.0, 2.0]


def test_bucket_refund_returns_slot():
    bucket = TokenBucket(requests_per_minute=60, burst=1)
    bucket.book(0.0)
    bucket.refund()

    assert bucket.next_free(0.0) == 0.0


def test_bucket_slow_down_halves_rate():
    bucket = TokenBucket(requests_per_minute=60, burst=1)
    bucket.slow_down(0.0)

    first = bucket.book(0.0)
    second = bucket.book(0.0)

    assert second - first == pytest.approx(2.0)


def test_unlimited_bucket_learns_limit_from_429():
    bucket = TokenBucket(requests_per_minute=None, burst=1)
    for _ in range(10):
        bucket.book(0.0)

    bucket.slow_down(1.0)

    assert bucket.requests_per_minute == pytest.approx(600.0), "10 requests in 1 s"
    assert bucket.interval == pytest.approx(0.2), "the learned 600 per minute, halved"


def test_early_429_learns_rate_of_its_seconds():
    bucket = TokenBucket(requests_per_minute=None, burst=1)
    for at in (0.0, 0.5, 1.0, 1.5, 2.0, 3.0):
        bucket.book(at)

    bucket.slow_down(3.0)

    assert bucket.requests_per_minute == pytest.approx(120.0), "6 requests in 3 s, not 6 in a minute"


def test_learned_rate_counts_last_minute_only():
    bucket = TokenBucket(requests_per_minute=None, burst=1)
    for second in range(0, 120, 2):
        bucket.book(float(second))

    bucket.slow_down(120.0)

    assert bucket.requests_per_minute == pytest.approx(30.0, rel=0.05)


def test_breaker_opens_after_threshold():
    breaker = CircuitBreaker(failure_threshold=2, cooldown_seconds=10.0)

    first = breaker.record_fault(0.0)
    second = breaker.record_fault(1.0)

    assert (first, second) == (False, True)
    assert breaker.state == OPEN
    assert breaker.capacity(5.0, 4) == 0


def test_breaker_half_open_allows_one_probe():
    breaker = CircuitBreaker(failure_threshold=1, cooldown_seconds=10.0)
    breaker.record_fault(0.0)

    assert breaker.capacity(10.0, 4) == 1
    assert breaker.state == HALF_OPEN


def test_breaker_probe_fault_doubles_cooldown():
    breaker = CircuitBreaker(failure_threshold=1, cooldown_seconds=10.0)
    breaker.record_fault(0.0)
    breaker.capacity(10.0, 4)

    breaker.record_fault(10.0)

    assert breaker.state == OPEN
    assert breaker.reopens_at() == pytest.approx(30.0)


def test_breaker_probe_success_closes():
    breaker = CircuitBreaker(failure_threshold=1, cooldown_seconds=10.0)
    breaker.record_fault(0.0)
    breaker.capacity(10.0, 4)

    breaker.record_success()

    assert breaker.state == CLOSED
    assert breaker.capacity(10.0, 4) == 4


def test_one_fault_keeps_much_faster_endpoint():
    graph = JobGraph([Job("a")])
    endpoints = [
        EndpointLimits("fast", concurrency=1, expected_seconds=1.0),
        EndpointLimits("slow", concurrency=1, expected_seconds=2.4),
    ]
    scheduler = ListScheduler(graph, endpoints)
    scheduler.dispatch(0.0)

    scheduler.complete("a", FAULT, 0.5)
    [retry] = scheduler.dispatch(0.5)

    assert retry.endpoint == "fast"


def test_fault_after_cached_answer_returns_to_same_endpoint():
    graph = JobGraph([Job("a")])
    endpoints = [
        EndpointLimits("first", concurrency=1, expected_seconds=1.0),
        EndpointLimits("second", concurrency=1, expected_seconds=0.8),
    ]
    scheduler = ListScheduler(graph, endpoints, requests_per_job=2)
    scheduler.endpoints["second"].running["other"] = 0.6  # busy until 0.6
    [first] = scheduler.dispatch(0.0)

    # The formalization was answered and cached, then the review failed.
    scheduler.complete("a", FAULT, 0.7, kept_answers=1)
    scheduler.endpoints["second"].running.clear()
    [retry] = scheduler.dispatch(0.7)

    assert first.endpoint == "first"
    assert retry.endpoint == "first", "half a job on first (0.5 s) beats a whole job on second (0.8 s)"
    assert scheduler.endpoints["first"].running["a"] == pytest.approx(0.7 + 0.5)


def test_job_avoids_endpoint_after_two_faults_there():
    graph = JobGraph([Job("a")])
    endpoints = [
        EndpointLimits("first", concurrency=1, expected_seconds=1.0),
        EndpointLimits("second", concurrency=1, expected_seconds=3.0),
    ]
    scheduler = ListScheduler(graph, endpoints)
    for now in (0.0, 1.0):
        [run] = scheduler.dispatch(now)
        assert run.endpoint == "first"
        scheduler.complete("a", FAULT, now + 0.5)

    assert scheduler.eligible(scheduler.jobs["a"], 2.0) == ["second"]


def test_only_endpoint_kept_after_faults():
    scheduler = ListScheduler(JobGraph([Job("a")]), [EndpointLimits("only", expected_seconds=1.0)])
    for now in (0.0, 1.0):
        scheduler.dispatch(now)
        scheduler.complete("a", FAULT, now + 0.5)

    assert scheduler.eligible(scheduler.jobs["a"], 2.0) == ["only"]


def test_shortened_retry_counts_as_whole_job_in_estimate():
    endpoints = [EndpointLimits("only", concurrency=1, expected_seconds=2.0)]
    scheduler = ListScheduler(JobGraph([Job("a")]), endpoints, requests_per_job=2)
    scheduler.dispatch(0.0)
    scheduler.complete("a", FAULT, 1.0, kept_answers=1)
    [retry] = scheduler.dispatch(1.0)

    scheduler.complete("a", ACCEPTED, 2.0)

    assert scheduler.endpoints["only"].mean_seconds == pytest.approx(2.0), "one request in 1 s is 2 s per job"


def test_open_breaker_sends_jobs_elsewhere():
    graph = JobGraph([Job(f"j{index}", order=index) for index in range(3)])
    endpoints = [
        EndpointLimits("broken", concurrency=2, expected_seconds=1.0, failure_threshold=1, cooldown_seconds=100.0),
        EndpointLimits("healthy", concurrency=2, expected_seconds=5.0),
    ]
    scheduler = ListScheduler(graph, endpoints)
    scheduler.endpoints["broken"].breaker.record_fault(0.0)

    started = scheduler.dispatch(1.0)

    assert {a.endpoint for a in started} == {"healthy"}


def test_fault_limit_fails_job():
    scheduler = ListScheduler(JobGraph([Job("a")]), [EndpointLimits("only", expected_seconds=1.0)], fault_limit=2)

    for now in (0.0, 1.0):
        scheduler.dispatch(now)
        scheduler.complete("a", FAULT, now + 0.1)

    assert scheduler.jobs["a"].status == FAILED
    assert scheduler.finished


def test_rejection_escalates_then_fails():
    endpoints = [EndpointLimits("small", expected_seconds=1.0), EndpointLimits("large", expected_seconds=3.0)]
    scheduler = ListScheduler(JobGraph([Job("a")]), endpoints, tiers=[["small"], ["large"]])

    first = scheduler.dispatch(0.0)
    scheduler.complete("a", REJECTED, 1.0)
    second = scheduler.dispatch(1.0)
    scheduler.complete("a", REJECTED, 4.0)

    assert [a.endpoint for a in first] == ["small"]
    assert [a.endpoint for a in second] == ["large"]
    assert scheduler.jobs["a"].status == FAILED


def test_first_tier_only_until_rejected():
    endpoints = [EndpointLimits("small", expected_seconds=10.0), EndpointLimits("large", expected_seconds=1.0)]
    graph = JobGraph([Job("a", order=0), Job("b", order=1)])
    scheduler = ListScheduler(graph, endpoints, tiers=[["small"], ["large"]])

    started = scheduler.dispatch(0.0)
    scheduler.complete("a", ACCEPTED, 10.0)

    assert [(a.job_id, a.endpoint) for a in started] == [("a", "small")]
    assert scheduler.jobs["a"].status == DONE


def test_broken_tier_falls_through_to_next():
    endpoints = [
        EndpointLimits("small", expected_seconds=1.0, failure_threshold=1, cooldown_seconds=100.0),
        EndpointLimits("large", expected_seconds=3.0),
    ]
    scheduler = ListScheduler(JobGraph([Job("a")]), endpoints, tiers=[["small"], ["large"]])
    scheduler.dispatch(0.0)

    scheduler.complete("a", FAULT, 0.5)
    started = scheduler.dispatch(0.5)

    assert [a.endpoint for a in started] == ["large"]


def test_rate_limit_pauses_one_endpoint():
    endpoints = [
        EndpointLimits("limited", expected_seconds=1.0, requests_per_minute=600),
        EndpointLimits("other", expected_seconds=1.0, requests_per_minute=600),
    ]
    scheduler = ListScheduler(JobGraph([Job("a")]), endpoints)

    scheduler.record_rate_limit("limited", 0.0, 5.0)

    assert scheduler.endpoints["limited"].earliest_start(0.0) == pytest.approx(5.0)
    assert scheduler.endpoints["other"].earliest_start(0.0) == 0.0
    assert scheduler.endpoints["other"].bucket.factor == 1.0
    assert scheduler.endpoints["limited"].rate_limited == 1


def test_unknown_tier_endpoint_rejected():
    with pytest.raises(SchedulingError, match="unknown endpoints"):
        ListScheduler(JobGraph([Job("a")]), [EndpointLimits("a")], tiers=[["b"]])


def test_layered_bound_counts_late_jobs():
    # Nine jobs wait for one root: after the root's 1 s, two slots need 5 s for them,
    # while all ten jobs alone would fit in 5 s.
    graph = JobGraph([Job("root")] + [Job(f"leaf{index}", ("root",), order=index + 1) for index in range(9)])
    endpoints = [EndpointLimits("a", concurrency=2, expected_seconds=1.0)]

    bound = makespan_lower_bound(graph, endpoints)

    assert bound.critical_path == pytest.approx(2.0)
    assert bound.throughput == pytest.approx(5.0, rel=1e-6)
    assert bound.layered == pytest.approx(6.0, rel=1e-6)
    assert simulate(graph, endpoints) == pytest.approx(bound.seconds)


# --- endpoints without a configured estimate ---------------------------------------


def unconfigured(name: str, concurrency: int = 1) -> EndpointLimits:
    """An endpoint whose seconds per job were not configured, so 60 s is only a default."""
    return EndpointLimits(name, concurrency=concurrency, expected_seconds=60.0, expected_seconds_configured=False)


def test_untried_endpoints_each_get_job():
    graph = JobGraph([Job("a"), Job("b", ("a",), order=1), Job("c", ("b",), order=2)])
    scheduler = ListScheduler(graph, [unconfigured("small"), unconfigured("mid"), unconfigured("large")])

    [first] = scheduler.dispatch(0.0)
    scheduler.complete("a", ACCEPTED, 5.0)
    [second] = scheduler.dispatch(5.0)
    scheduler.complete("b", ACCEPTED, 7.0)
    [third] = scheduler.dispatch(7.0)

    assert first.endpoint == "large", "with nothing measured, ties go by name"
    assert second.endpoint == "mid", "an untried endpoint counts as fast as the measured one and wins the tie"
    assert third.endpoint == "small"


def test_configured_estimate_keeps_endpoint_untried():
    graph = JobGraph([Job("a"), Job("b", ("a",), order=1)])
    endpoints = [
        EndpointLimits("fast", expected_seconds=1.0),
        EndpointLimits("slow", expected_seconds=60.0),
    ]
    scheduler = ListScheduler(graph, endpoints)

    [first] = scheduler.dispatch(0.0)
    scheduler.complete("a", ACCEPTED, 1.0)
    [second] = scheduler.dispatch(1.0)

    assert (first.endpoint, second.endpoint) == ("fast", "fast"), "a configured 60 s is an estimate, not a default"


def test_first_duration_replaces_default():
    scheduler = ListScheduler(JobGraph([Job("a")]), [unconfigured("new")])
    scheduler.dispatch(0.0)

    scheduler.complete("a", ACCEPTED, 4.0)

    assert scheduler.endpoints["new"].expected_seconds == pytest.approx(4.0)


def test_configured_estimate_smoothed_after_first_job():
    scheduler = ListScheduler(JobGraph([Job("a")]), [EndpointLimits("known", expected_seconds=60.0)])
    scheduler.dispatch(0.0)

    scheduler.complete("a", ACCEPTED, 4.0)

    assert scheduler.endpoints["known"].expected_seconds == pytest.approx(60.0 + 0.3 * (4.0 - 60.0))


def test_running_first_job_loses_ties():
    graph = JobGraph([Job("a"), Job("b", order=1), Job("c", order=2)])
    scheduler = ListScheduler(graph, [unconfigured("fresh"), EndpointLimits("known", expected_seconds=2.0)])
    started = scheduler.dispatch(0.0)

    scheduler.complete("b", ACCEPTED, 2.0)
    [after_tie] = scheduler.dispatch(2.0)

    assert [(a.job_id, a.endpoint) for a in started] == [("a", "fresh"), ("b", "known")]
    assert after_tie.endpoint == "known", "c does not wait for fresh, whose first job has no measured end"


def test_overdue_first_job_raises_estimate():
    endpoints = [unconfigured("fresh", concurrency=2), EndpointLimits("known", expected_seconds=2.0)]
    scheduler = ListScheduler(JobGraph([Job("a")]), endpoints)
    [first] = scheduler.dispatch(0.0)

    early = scheduler.expected_seconds(scheduler.endpoints["fresh"], 1.0)
    overdue = scheduler.expected_seconds(scheduler.endpoints["fresh"], 10.0)

    assert first.endpoint == "fresh"
    assert early == pytest.approx(2.0), "as fast as the fastest known estimate"
    assert overdue == pytest.approx(10.0), "a job running for 10 s takes at least 10 s"


def test_simulation_of_configured_endpoints_unchanged():
    # Two configured endpoints: the same hand schedule as before untried endpoints existed.
    graph = chain_and_fan()
    endpoints = [
        EndpointLimits("fast", concurrency=1, expected_seconds=1.0),
        EndpointLimits("slow", concurrency=1, expected_seconds=2.5),
    ]

    assert simulate(graph, endpoints) == pytest.approx(5.0)


# --- rate-limit bursts and recovery --------------------------------------------------


def test_same_burst_429s_halve_once():
    scheduler = ListScheduler(JobGraph([Job("a")]), [EndpointLimits("rl", concurrency=3, requests_per_minute=600)])

    for now in (0.0, 0.1, 0.2):
        scheduler.record_rate_limit("rl", now, 1.0)

    assert scheduler.endpoints["rl"].bucket.factor == 0.5
    assert scheduler.endpoints["rl"].paused_until == pytest.approx(1.2)
    assert scheduler.endpoints["rl"].rate_limited == 3


def test_429_of_request_sent_earlier_halves_once():
    scheduler = ListScheduler(JobGraph([Job("a")]), [EndpointLimits("rl", concurrency=3, requests_per_minute=600)])

    scheduler.record_rate_limit("rl", 0.0, 0.0, sent_at=-0.5)
    scheduler.record_rate_limit("rl", 0.4, 0.0, sent_at=-0.4)  # after the pause, but sent before the first 429
    same_burst = scheduler.endpoints["rl"].bucket.factor
    scheduler.record_rate_limit("rl", 1.0, 0.0, sent_at=0.6)  # sent after the previous 429 arrived

    assert same_burst == 0.5
    assert scheduler.endpoints["rl"].bucket.factor == 0.25


def test_rate_recovers_without_successes(monkeypatch):
    monkeypatch.setattr(scheduler_module, "RATE_RECOVERY_SECONDS", 6.0)
    bucket = TokenBucket(requests_per_minute=600, burst=2)
    for pause_end in (1.0, 2.0, 3.0, 4.0):
        bucket.slow_down(pause_end - 1.0, pause_end)

    bucket.recover_over_time(4.0 + 59.9)
    almost = bucket.factor
    bucket.recover_over_time(4.0 + 60.0)

    assert almost == pytest.approx(1 / 16 + 0.9)
    assert bucket.factor == 1.0, "a minute after the pause restores the full rate"


def test_rate_recovery_waits_for_longer_pause():
    scheduler = ListScheduler(JobGraph([Job("a")]), [EndpointLimits("rl", requests_per_minute=600)])
    scheduler.record_rate_limit("rl", 0.0, 1.0)
    scheduler.record_rate_limit("rl", 0.5, 30.0)  # the same burst pauses until 30.5 s

    scheduler.endpoints["rl"].bucket.recover_over_time(30.0)

    assert scheduler.endpoints["rl"].bucket.factor == 0.5, "no recovery before the pause ends"


def test_learned_limit_forgotten_after_recovery():
    bucket = TokenBucket(requests_per_minute=None, burst=6)
    bucket.book(0.0, 6)
    bucket.slow_down(0.0, 0.5)

    learned = bucket.requests_per_minute
    bucket.recover_over_time(0.5 + 5 * scheduler_module.RATE_RECOVERY_SECONDS)

    assert learned == 360.0, "6 requests at once, counted over the minimum of 1 s"
    assert bucket.factor == 1.0
    assert bucket.requests_per_minute is None, "the endpoint is unlimited again, as configured"
    assert bucket.next_free(40.0, 100) == 40.0


def test_recovery_closes_up_bookings(monkeypatch):
    monkeypatch.setattr(scheduler_module, "RATE_RECOVERY_SECONDS", 6.0)
    bucket = TokenBucket(requests_per_minute=60, burst=1)
    bucket.slow_down(0.0, 0.0)  # one request every 2 s
    bucket.book(0.0, 5)

    before = bucket.next_free(5.9)
    bucket.recover_over_time(6.0)  # the first step: 0.6 of the rate
    after = bucket.next_free(6.0)

    assert before == pytest.approx(19.0)
    assert after == pytest.approx(6.0 + 13.0 * 0.5 / 0.6), "the bookings not yet due are spaced at the new rate"


def test_next_event_at_rate_recovery(monkeypatch):
    monkeypatch.setattr(scheduler_module, "RATE_RECOVERY_SECONDS", 6.0)
    limits = EndpointLimits("rl", expected_seconds=1.0, requests_per_minute=60, burst=2)
    scheduler = ListScheduler(JobGraph([Job("a")]), [limits])
    scheduler.endpoints["rl"].bucket.book(0.0, 40)
    scheduler.record_rate_limit("rl", 0.0, 1.0)

    wake = scheduler.next_event(0.5)

    assert scheduler.endpoints["rl"].earliest_start(0.5) > 30.0, "at the current rate"
    assert wake == pytest.approx(7.0), "the rate regains a step 6 s after the pause"


def test_rate_limited_endpoint_gets_jobs_again():
    # Three concurrent 429s, then three more for the retries sent after the pause.
    graph = JobGraph([Job(f"j{index}", order=index) for index in range(12)])
    endpoints = [
        EndpointLimits("limited", concurrency=3, expected_seconds=1.0),
        EndpointLimits("steady", concurrency=3, expected_seconds=1.0),
    ]
    scheduler = ListScheduler(graph, endpoints)
    first = scheduler.dispatch(0.0)
    for now in (0.01, 0.02, 0.03):
        scheduler.record_rate_limit("limited", now, 0.01, sent_at=0.0)
    for now in (0.05, 0.06, 0.07):
        scheduler.record_rate_limit("limited", now, 0.01, sent_at=0.04)
    for assignment in first:
        scheduler.complete(assignment.job_id, ACCEPTED, 1.0)

    later = scheduler.dispatch(61.0)

    assert [a.endpoint for a in first].count("limited") == 3
    assert scheduler.endpoints["limited"].bucket.requests_per_minute is None
    assert [a.endpoint for a in later].count("limited") == 3, "a minute after the burst it takes jobs again"


# --- cancelled jobs and tiers from an earlier run ---------------------------------------


def test_cancelled_job_stays_pending():
    scheduler = ListScheduler(JobGraph([Job("a")]), [EndpointLimits("only", expected_seconds=1.0, failure_threshold=1)])
    scheduler.dispatch(0.0)

    scheduler.complete("a", CANCELLED, 0.5)

    assert scheduler.jobs["a"].status == ""
    assert scheduler.jobs["a"].faults == 0
    assert scheduler.endpoints["only"].breaker.state == CLOSED
    assert scheduler.endpoints["only"].running == {}
    assert scheduler.endpoints["only"].answered == 0, "a cancelled run says nothing about the endpoint's speed"


def test_start_at_tier_skips_first_tier():
    endpoints = [EndpointLimits("small", expected_seconds=1.0), EndpointLimits("large", expected_seconds=3.0)]
    scheduler = ListScheduler(JobGraph([Job("a")]), endpoints, tiers=[["small"], ["large"]])

    scheduler.start_at_tier("a", 1)
    started = scheduler.dispatch(0.0)

    assert [a.endpoint for a in started] == ["large"]
    with pytest.raises(SchedulingError, match="tier 2"):
        scheduler.start_at_tier("a", 2)

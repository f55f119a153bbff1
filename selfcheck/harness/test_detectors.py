"""Each detector catches its tiny buggy example and accepts the correct patterns, per start method."""

from __future__ import annotations

import pytest

from grader.harness import ConcurrencyFailure, Harness
from grader.harness.findings import (
    CHILD_CRASH,
    DEADLOCK,
    FOREIGN_RELEASE,
    LOCK_ORDER,
    LOST_UPDATE,
    SELF_DEADLOCK,
    TOO_SLOW,
    UNRELEASED_LOCK,
    Finding,
)
from grader.harness.supervisor import CAN_DUMP_STACKS
from selfcheck.harness.conftest import line_of
from selfcheck.harness.examples import workers
from selfcheck.harness.scenarios import join_all, opposite_order_transfers, start_all


def run_workers(harness: Harness, worker, n: int = 4, times: int = 10) -> tuple[int, list[Finding]]:
    counter = harness.RawValue("i", 0, name="counter")
    lock = harness.Lock("lock")
    processes = [harness.Process(target=worker, args=(counter, lock, times)) for _ in range(n)]
    for process in processes:
        process.start()
    try:
        for process in processes:
            process.join()
    except ConcurrencyFailure:
        pass
    findings = harness.finish()
    return harness.final(counter), findings


def concepts(findings: list[Finding]) -> list[str]:
    return [f.concept for f in findings]


@pytest.mark.parametrize("worker", [workers.with_lock, workers.try_finally, workers.coarse_lock])
def test_correct_locking_has_no_findings_and_exact_total(make_harness, worker) -> None:
    total, findings = run_workers(make_harness(), worker)
    assert findings == []
    assert total == 40


def test_missing_lock_is_a_lost_update_at_the_students_line(make_harness) -> None:
    total, findings = run_workers(make_harness(), workers.no_lock)
    lost = [f for f in findings if f.concept == LOST_UPDATE]
    assert lost and str(lost[0].site) == line_of("no_lock")
    assert "held no lock" in lost[0].message
    assert total < 40  # race amplification makes the loss show in the count too


@pytest.mark.parametrize(
    ("worker", "marker", "words"),
    [
        (workers.lock_only_write, "unlocked read", "was read"),
        (workers.lock_only_read, "unlocked write", "was written"),
    ],
)
def test_lock_around_only_half_of_the_update_is_caught(make_harness, worker, marker, words) -> None:
    _, findings = run_workers(make_harness(), worker)
    lost = [f for f in findings if f.concept == LOST_UPDATE]
    assert lost, findings
    assert str(lost[0].site) == line_of(marker)
    assert words in lost[0].message


def test_a_lock_made_inside_the_worker_protects_nothing(make_harness) -> None:
    harness = make_harness()
    harness.substitute(workers)
    _, findings = run_workers(harness, workers.own_lock)
    lost = [f for f in findings if f.concept == LOST_UPDATE]
    assert lost, findings
    assert "No single lock protects every access" in lost[0].message


def test_a_different_lock_per_process_protects_nothing(make_harness) -> None:
    harness = make_harness()
    counter = harness.RawValue("i", 0)
    processes = [
        harness.Process(target=workers.with_lock, args=(counter, harness.Lock(f"lock{i}"), 10)) for i in range(3)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    findings = harness.finish()
    assert LOST_UPDATE in concepts(findings)


def test_missing_lock_fails_every_run_and_locked_code_passes_every_run(start_method) -> None:
    runs = 20 if start_method == "fork" else 3
    lost_runs = exact_runs = 0
    for _ in range(runs):
        with Harness(start_method, [workers.__file__.rsplit("/", 1)[0]]) as harness:
            total, _ = run_workers(harness, workers.no_lock, n=10, times=10)
            lost_runs += total < 100
        with Harness(start_method, [workers.__file__.rsplit("/", 1)[0]]) as harness:
            total, findings = run_workers(harness, workers.with_lock, n=10, times=10)
            exact_runs += total == 100 and not findings
    assert (lost_runs, exact_runs) == (runs, runs)


def test_lock_still_held_at_exit_is_reported_without_waiting_for_the_deadline(make_harness) -> None:
    harness = make_harness()
    _, findings = run_workers(harness, workers.keeps_lock, n=3)
    unreleased = [f for f in findings if f.concept == UNRELEASED_LOCK]
    assert unreleased and str(unreleased[0].site) == line_of("never released")
    assert "never released" in unreleased[0].message
    # The stranded waiters were stopped by the stranded-lock detection, not by the deadline.
    assert TOO_SLOW not in concepts(findings)
    assert all(p.exitcode is not None for p in harness.children)


def test_acquiring_a_lock_already_held_is_reported_with_both_lines(make_harness) -> None:
    _, findings = run_workers(make_harness(), workers.acquire_twice, n=2)
    first = next(f for f in findings if f.concept == SELF_DEADLOCK)
    assert str(first.site) == line_of("acquire in loop")
    assert first.message.count(line_of("acquire in loop")) == 2


def test_releasing_a_lock_not_held_is_reported(make_harness) -> None:
    _, findings = run_workers(make_harness(), workers.release_unheld, n=1)
    foreign = next(f for f in findings if f.concept == FOREIGN_RELEASE)
    assert str(foreign.site) == line_of("foreign release")


def test_opposite_lock_orders_deadlock_is_found_by_the_watchdog(make_harness) -> None:
    processes = opposite_order_transfers(make_harness())
    start_all(processes)
    with pytest.raises(ConcurrencyFailure) as caught:
        join_all(processes)
    assert caught.value.concept == DEADLOCK  # the deadline would have said "did not finish"
    assert line_of("second lock") in str(caught.value)
    assert "locks[0]" in str(caught.value) and "locks[1]" in str(caught.value)
    assert all(p.exitcode is not None for p in processes)


def test_opposite_lock_orders_are_reported_even_without_a_deadlock(make_harness) -> None:
    harness = make_harness()
    balances = harness.RawArray("i", [10, 10], name="balances")
    locks = [harness.Lock("locks[0]"), harness.Lock("locks[1]")]
    for first, second in ((0, 1), (1, 0)):  # one after the other: this run cannot deadlock
        process = harness.Process(target=workers.take_in_order, args=(balances, locks, first, second))
        process.start()
        process.join()
    findings = harness.finish()
    order = next(f for f in findings if f.concept == LOCK_ORDER)
    assert "opposite orders" in order.message
    assert harness.final(balances) == [10, 10]


def test_a_crash_in_a_child_is_reported_with_the_students_traceback(make_harness) -> None:
    _, findings = run_workers(make_harness(), workers.crash, n=1)
    crash = next(f for f in findings if f.concept == CHILD_CRASH)
    assert str(crash.site) == line_of("crash")
    assert "ZeroDivisionError" in crash.message
    assert "grader/harness" not in crash.message


def test_a_child_that_never_finishes_is_stopped_at_the_deadline_with_its_line(make_harness) -> None:
    harness = make_harness(deadline=2.0)
    _, findings = run_workers(harness, workers.spin_forever, n=2)
    slow = next(f for f in findings if f.concept == TOO_SLOW)
    if CAN_DUMP_STACKS:
        assert line_of("spin").rsplit(":", 1)[0] in slow.full_message()
    assert all(p.exitcode is not None for p in harness.children)

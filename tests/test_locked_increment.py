"""Exercise 2: the locked increment (exercises/locked_increment.py).

Each test checks one idea. Run with `pytest tests/test_locked_increment.py`.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader.testing import (
    COUNTING_TIMEOUT,
    MISSING_JOIN,
    SLOW_CHILD,
    START_JOIN_ORDER,
    Checks,
    property_settings,
    repeat_counting,
    require,
    require_lock_balance,
    site_of,
    start_method_plan,
)

MODULE = "locked_increment"


@pytest.fixture
def mod(student_module):
    return student_module(MODULE)


def run_increment_workers(make_harness, mod, n: int, times: int, start: int = 0, checks=Checks.ALL) -> int:
    harness = make_harness(checks=checks)
    counter = harness.RawValue("i", start, name="counter")
    lock = harness.Lock("lock")
    processes = [harness.Process(target=mod.increment, args=(counter, lock, times)) for _ in range(n)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    harness.check()
    return harness.final(counter)


@pytest.mark.rule("L1")
def test_increment_adds_one_times_times(make_harness, mod) -> None:
    # One process: nothing to race with, so only its total is judged.
    total = run_increment_workers(make_harness, mod, n=1, times=7, start=5, checks=Checks.NONE)
    require(
        total == 12,
        f"One process ran increment(counter, lock, 7) on a counter that started at 5; it ended at "
        f"{total} instead of 12. increment should add 1 exactly `times` times.",
        site=site_of(mod.increment),
    )


@pytest.mark.rule("L2", "L3", "L7")
def test_increment_holds_the_lock_for_every_read_and_write(make_harness, mod) -> None:
    total = run_increment_workers(make_harness, mod, n=4, times=10)
    require(total == 40, f"4 processes x 10 increments gave {total}, not 40.", site=site_of(mod.increment))


@pytest.mark.rule("L4", "L7")
def test_increment_releases_the_lock_on_every_path(mod) -> None:
    require_lock_balance(mod.increment)


@pytest.mark.rule("L3", "L6")
@pytest.mark.timeout(COUNTING_TIMEOUT)
@pytest.mark.parametrize(("start_method", "runs"), start_method_plan())
def test_run_loses_no_updates_over_many_runs(make_harness, mod, start_method: str, runs: int) -> None:
    repeat_counting(
        make_harness,
        mod,
        lambda m: m.run(10, 10),
        100,
        "run(10, 10) with 10 processes x 10 increments",
        start_method=start_method,
        runs=runs,
        processes=10,
        site=site_of(mod.increment),
        run_site=site_of(mod.run),
    )


@pytest.mark.rule("L5")
def test_run_starts_every_process_before_joining_any(make_harness, mod) -> None:
    harness = make_harness()
    harness.substitute(mod)
    mod.run(4, 3)
    harness.check(START_JOIN_ORDER, MISSING_JOIN)
    harness.require_processes(4, "run(4, 3)", work=False, site=site_of(mod.run))


@pytest.mark.rule("L5")
def test_run_waits_for_every_process_however_long_it_takes(make_harness, mod) -> None:
    # Each child is held back before and after its work for longer than any timeout: a read of
    # the counter before every process has ended, or a join(timeout) that gave up, is in the
    # journal in every run. (The total is left to the counting tests: a lost update is theirs.)
    harness = make_harness(child_delays=SLOW_CHILD)
    harness.substitute(mod)
    mod.run(2, 3)
    harness.check(MISSING_JOIN, START_JOIN_ORDER, Checks.DEADLOCKS)
    harness.require_processes(2, "run(2, 3)", site=site_of(mod.run))


@pytest.mark.rule("L6")
def test_run_counts_from_start(make_harness, mod) -> None:
    harness = make_harness()
    harness.substitute(mod)
    total = mod.run(3, 4, start=50)
    harness.check(Checks.DEADLOCKS)
    harness.require_processes(3, "run(3, 4, start=50)", site=site_of(mod.run))
    require(
        total == 62,
        f"run(3, 4, start=50) returned {total}, expected 62: the counter must start at `start`.",
        site=site_of(mod.run),
    )


@pytest.mark.rule("L6")
@property_settings(max_examples=12)
@given(n=st.integers(1, 5), times=st.integers(0, 12), start=st.integers(-100, 100))
def test_run_property_total_is_start_plus_n_times_times(make_harness, mod, n: int, times: int, start: int) -> None:
    with make_harness() as harness:
        harness.substitute(mod)
        total = mod.run(n, times, start)
        harness.check(Checks.DEADLOCKS)
        harness.require_processes(n, f"run({n}, {times}, start={start})", work=times > 0,
                                  site=site_of(mod.run))
    require(
        total == start + n * times,
        f"run({n}, {times}, start={start}) returned {total}, expected {start + n * times}.",
        site=site_of(mod.run),
    )

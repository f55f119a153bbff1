"""Exercise 1, the warm-up: a value every process can see (exercises/shared_value.py).

Run with `pytest tests/test_shared_value.py`.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader.testing import (
    MISSING_JOIN,
    SLOW_CHILD,
    START_JOIN_ORDER,
    VALUES,
    Checks,
    property_settings,
    require,
    require_value_error,
    site_of,
)

MODULE = "shared_value"
# The judge sees the values made with multiprocessing's own functions; of any other it cannot
# tell whether it is shared, and says so instead of claiming that none was made.
UNSEEN_VALUE = ("The grader saw no shared value made by {call} in the parent process. Make the number "
                "with RawValue(\"i\", start) (or Value) from the multiprocessing module, before starting the "
                "process, and pass it in args=(...): then it is shared, and the grader can see it.")


@pytest.fixture
def mod(student_module):
    return student_module(MODULE)


def warmup_harness(make_harness):
    # No locks in the warm-up: each process writes once, and "last write wins" is the point.
    return make_harness(checks=Checks.DEADLOCKS, use_gate=False)


@pytest.mark.rule("W3")
def test_store_writes_into_the_shared_value(make_harness, mod) -> None:
    harness = warmup_harness(make_harness)
    shared = harness.RawValue("i", 0, name="shared")
    process = harness.Process(target=mod.store, args=(shared, 42))
    process.start()
    process.join()
    harness.check(Checks.DEADLOCKS)
    final = harness.final(shared)
    require(final == 42,
            f"A child ran store(shared, 42); afterwards the parent saw shared.value == {final}. "
            "store should set shared.value.", site=site_of(mod.store))


@pytest.mark.rule("W4")
def test_run_returns_what_the_child_stored(make_harness, mod) -> None:
    harness = warmup_harness(make_harness)
    harness.substitute(mod)
    result = mod.run(5, 42)
    harness.check(MISSING_JOIN, Checks.DEADLOCKS)
    harness.require_processes(1, "run(5, 42)", site=site_of(mod.run))
    require(
        result == 42,
        f"run(start=5, value=42) returned {result}, not 42. The child's change must reach the parent: "
        "create the number with RawValue in the parent and pass it to the process.",
        site=site_of(mod.run), concept="shared value",
    )


@pytest.mark.rule("W4")
def test_run_waits_for_the_process_however_long_it_takes(make_harness, mod) -> None:
    # The child is held back before and after its work for longer than any timeout: only a
    # join() without one is sure to see its write.
    harness = make_harness(checks=Checks.DEADLOCKS, use_gate=False, child_delays=SLOW_CHILD)
    harness.substitute(mod)
    result = mod.run(5, 42)
    harness.check(MISSING_JOIN, Checks.DEADLOCKS)
    harness.require_processes(1, "run(5, 42)", site=site_of(mod.run))
    require(result == 42, f"run(5, 42) returned {result} when its process took {sum(SLOW_CHILD):g} s. Wait "
            "for the process with join() before reading the result.", site=site_of(mod.run), concept=MISSING_JOIN)


@pytest.mark.rule("W1", "W2")
def test_run_shares_one_value_made_in_the_parent(make_harness, mod) -> None:
    harness = warmup_harness(make_harness)
    harness.substitute(mod)
    mod.run(0, 7)
    made = harness.shared_values_made()
    require(
        made == 1,
        f"run() made {made} RawValue(s) in the parent process; it should make exactly one, before "
        "starting the process, and pass it in args=(...)." if made else UNSEEN_VALUE.format(call="run()"),
        site=site_of(mod.run), concept="shared value",
    )


@pytest.mark.rule("W4")
@property_settings(max_examples=6)
@given(start=st.integers(-1000, 1000), value=st.integers(-1000, 1000))
def test_run_property_returns_value_for_any_start(make_harness, mod, start: int, value: int) -> None:
    with warmup_harness(make_harness) as harness:
        harness.substitute(mod)
        result = mod.run(start, value)
    require(result == value, f"run({start}, {value}) returned {result}, expected {value}.",
            site=site_of(mod.run), concept="shared value")


@pytest.mark.rule("W5")
def test_run_many_returns_one_of_the_values(make_harness, mod) -> None:
    harness = warmup_harness(make_harness)
    harness.substitute(mod)
    values = [11, 22, 33, 44, 55]
    result = mod.run_many(values)
    harness.check(MISSING_JOIN, Checks.DEADLOCKS)
    harness.require_processes(len(values), f"run_many({values})", site=site_of(mod.run_many))
    require(
        result in values,
        f"run_many({values}) returned {result}. Every process wrote its own number into the same shared "
        "value, so whichever wrote last wins: the result must be one of the values.",
        site=site_of(mod.run_many), concept="shared value",
    )
    made = harness.shared_values_made()
    require(made == 1, f"run_many({values}) made {made} RawValue(s) in the parent process; it should make "
            "exactly one and pass that same one to every process." if made
            else UNSEEN_VALUE.format(call=f"run_many({values})"), site=site_of(mod.run_many),
            concept="shared value")


@pytest.mark.rule("W6")
def test_run_many_starts_every_process_before_joining_any(make_harness, mod) -> None:
    harness = warmup_harness(make_harness)
    harness.substitute(mod)
    mod.run_many([1, 2, 3])
    harness.check(START_JOIN_ORDER, MISSING_JOIN, Checks.DEADLOCKS)
    harness.require_processes(3, "run_many([1, 2, 3])", work=False, site=site_of(mod.run_many))
    require(len(harness.children) == 3, f"run_many([1, 2, 3]) started {len(harness.children)} processes, not 3.",
            site=site_of(mod.run_many))


@pytest.mark.rule("W7")
def test_run_many_refuses_an_empty_list(mod) -> None:
    for values in VALUES.refused:
        require_value_error(lambda v=values: mod.run_many(v), f"run_many({values!r})", site=site_of(mod.run_many))

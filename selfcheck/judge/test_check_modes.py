"""The named check modes (issue 19): which of a run's findings `harness.check(...)` raises, and
whether the referee applies the lockset rule, on hand-made findings (no student host needed)."""

from __future__ import annotations

import pytest

from grader.harness.findings import (
    CHILD_CRASH,
    DEADLOCK,
    LOCK_ORDER,
    LOST_UPDATE,
    MISSING_JOIN,
    ConcurrencyFailure,
    Finding,
)
from grader.judge.checks import DEADLOCKS, Checks, concepts_of
from grader.judge.remote_harness import RemoteHarness

# A run whose journal shows a lost update, a lock order, a missing join and a crash.
FOUND = [Finding(LOST_UPDATE, "lost"), Finding(LOCK_ORDER, "order"), Finding(MISSING_JOIN, "join"),
         Finding(CHILD_CRASH, "crash")]


def run_with(mode: Checks, findings: list[Finding]) -> RemoteHarness:
    """A RemoteHarness of mode `mode` whose journal shows `findings` (its check() is the real one)."""
    harness = object.__new__(RemoteHarness)
    harness.checks = mode
    harness.findings = lambda: list(findings)  # type: ignore[method-assign]
    return harness


def raised(harness: RemoteHarness, *wanted: Checks | str, ignore: tuple[str, ...] = ()) -> str | None:
    try:
        harness.check(*wanted, ignore=ignore)
    except ConcurrencyFailure as failure:
        return failure.finding.concept
    return None


def test_each_mode_names_its_concepts_and_only_all_applies_the_lockset_rule() -> None:
    assert Checks.ALL.concepts is None and Checks.ALL.lockset
    assert Checks.DEADLOCKS.concepts == frozenset(DEADLOCKS) and not Checks.DEADLOCKS.lockset
    assert Checks.NONE.concepts == frozenset() and not Checks.NONE.lockset
    assert concepts_of([MISSING_JOIN, Checks.DEADLOCKS]) == frozenset({MISSING_JOIN, *DEADLOCKS})
    assert concepts_of([LOCK_ORDER, Checks.ALL]) is None
    with pytest.raises(TypeError, match="Checks modes and concept names"):
        concepts_of([False])


def test_check_raises_what_the_runs_mode_names_unless_the_call_names_others() -> None:
    assert raised(run_with(Checks.ALL, FOUND)) == LOCK_ORDER  # the most telling of all
    assert raised(run_with(Checks.DEADLOCKS, FOUND)) == CHILD_CRASH
    assert raised(run_with(Checks.NONE, FOUND)) is None
    assert raised(run_with(Checks.NONE, FOUND), MISSING_JOIN) == MISSING_JOIN
    assert raised(run_with(Checks.ALL, FOUND), MISSING_JOIN, Checks.DEADLOCKS) == CHILD_CRASH
    assert raised(run_with(Checks.ALL, FOUND), ignore=(LOCK_ORDER,)) == LOST_UPDATE
    assert raised(run_with(Checks.ALL, [Finding(DEADLOCK, "cycle")]), Checks.DEADLOCKS) == DEADLOCK
    assert raised(run_with(Checks.ALL, []), Checks.ALL) is None  # a correct run passes every mode


def test_the_two_meaning_boolean_and_a_mode_that_is_not_one_are_refused() -> None:
    with pytest.raises(TypeError, match=r"check_locks=\.\.\.\) is gone"):
        RemoteHarness(None, None, {"check_locks": False})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="takes a Checks mode"):
        RemoteHarness(None, None, {"checks": False})  # type: ignore[arg-type]

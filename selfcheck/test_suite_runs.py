"""The self-check's own shortcut, proven both ways: a run under another start method leaves out
exactly the tests that pin their own start method, and its verdict takes theirs from the run
under the default one, failures included.
"""

from __future__ import annotations

import pytest

from selfcheck.suite_runs import PINNED_ID, REPO, SuiteRun, run_suite


def result(test: str, status: str = "passed", concept: str | None = None) -> dict[str, object]:
    return {"event": "result", "test": test, "status": status, "concept": concept, "message": status}


def test_only_the_tests_that_pin_a_start_method_are_left_out() -> None:
    suite = ["tests/test_locked_increment.py"]
    full = run_suite(suite, REPO / "solutions", "--collect-only")
    rest = run_suite(suite, REPO / "solutions", "--collect-only", "-p", "selfcheck.pinned_start_method")
    left_out = [name for name in full.collected if name not in rest.collected]
    assert left_out and all(PINNED_ID.search(name) for name in left_out), left_out
    assert [name for name in full.collected if PINNED_ID.search(name)] == left_out
    assert set(rest.collected) < set(full.collected)


def test_a_pinned_tests_failure_reaches_the_verdict() -> None:
    default = SuiteRun(1, [result("test_a"), result("test_count[fork-10]", "failed", "lost update")],
                       collected=["test_a", "test_count[fork-10]"])
    other = SuiteRun(0, [result("test_a")], collected=["test_a"])
    merged = other.with_pinned_from(default)
    assert merged.returncode == 1 and merged.concepts == {"lost update"}
    assert sorted(merged.collected) == ["test_a", "test_count[fork-10]"]


def test_a_passing_pinned_test_keeps_a_pass() -> None:
    default = SuiteRun(0, [result("test_a"), result("test_count[spawn-1]")], collected=["test_a", "test_count[spawn-1]"])
    merged = SuiteRun(0, [result("test_a")], collected=["test_a"]).with_pinned_from(default)
    assert merged.returncode == 0 and not merged.failed and len(merged.results) == 2


def test_a_run_that_lost_other_tests_is_not_completed() -> None:
    default = SuiteRun(0, [result("test_a"), result("test_b")], collected=["test_a", "test_b"])
    crashed = SuiteRun(2, [result("test_a")], collected=["test_a"])
    with pytest.raises(ValueError, match="test_b"):
        crashed.with_pinned_from(default)

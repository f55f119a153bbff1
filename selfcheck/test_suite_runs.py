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


def test_a_variants_tests_share_a_worker_and_its_default_run() -> None:
    from selfcheck.conftest import work_unit

    variant = "bank_account/withdraw_two_holds"
    ids = [f"selfcheck/test_suites_judge.py::test_variant_gets_the_verdict_it_deserves[{variant}]",
           f"selfcheck/test_suites_judge.py::test_gap_variant_gets_its_verdict_under_other_start_methods[{variant}-spawn]",
           f"selfcheck/test_first_run.py::test_a_check_split_from_its_act_fails_the_first_run_under_every_start_method[{variant}-forkserver]"]
    assert {work_unit(nodeid) for nodeid in ids} == {f"judged:{variant}"}
    other = "selfcheck/test_suites_judge.py::test_variant_gets_the_verdict_it_deserves[bank_account/deposit_no_lock]"
    assert work_unit(other) != work_unit(ids[0])
    # Solutions judged under each start method share their run too; an unparametrized test is its own.
    assert work_unit("selfcheck/test_suites_judge.py::test_every_suite_passes_on_the_solutions[spawn]") == "judged:solutions"
    alone = "selfcheck/test_first_run.py::test_one_counting_run_per_start_method"
    assert work_unit(alone) == alone
    # The files with module-scoped set-up go to one worker each.
    assert work_unit("selfcheck/release/test_batch.py::test_x") == work_unit("selfcheck/release/test_batch.py::test_y")

"""A race is made to happen, not waited for: every lost-update, check-then-act and split-update
variant of the corpus fails its test in the first (and only) run, under every start method.

The referee answers a read that could be half of a lost update only once another process has
touched the same data (grader/referee/server.py), so the suites need one counting run per start
method (grader/judge/checks.py, DEFAULT_RUNS) where chance needed ten.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable

import pytest

from grader.judge.checks import DEFAULT_RUNS, OTHER_METHOD_RUNS
from selfcheck.suite_runs import (
    DEFAULT_START_METHOD,
    FAMILIES,
    SuiteRun,
    Variant,
    load_variants,
    run_variant,
)

# The test of each exercise that counts what the processes left, and runs once per start method.
COUNTING = {
    "locked_increment": "test_run_loses_no_updates_over_many_runs",
    "bank_account": "test_run_deposits_ends_at_175_every_time",
    "deadlock_fix": "test_run_tally_finishes_with_the_right_counts",
}
# The check-then-act test (one run, under the judge's start method).
CHECK_THEN_ACT = {"bank_account": "test_withdraw_checks_and_subtracts_in_one_hold_of_the_lock"}
# The observed-total test: an update split into two holds is seen half done (one run).
ATOMIC = {"deadlock_fix": "test_transfer_moves_the_money_in_one_hold_of_both_locks"}
METHODS = multiprocessing.get_all_start_methods()
VARIANTS = load_variants()
# The variants whose mistake is in the counted work (a transfer's lock order is not counted).
RACY = [v for v in VARIANTS if v.expect == "fail" and v.concept == "lost update" and v.module in COUNTING
        and "transfer" not in v.name]
SPLIT = [v for v in VARIANTS if v.expect == "fail" and v.concept == "check-then-act" and v.module in CHECK_THEN_ACT]
HALVED = [v for v in VARIANTS if v.expect == "fail" and v.concept == "atomicity" and v.module in ATOMIC]


def test_one_counting_run_per_start_method() -> None:
    assert DEFAULT_RUNS == OTHER_METHOD_RUNS == 1


def test_the_corpus_has_races_to_prove_it_on() -> None:
    assert {v.module for v in RACY} == set(COUNTING) and SPLIT and HALVED


@pytest.mark.parametrize("variant", [pytest.param(v, id=v.id) for v in RACY])
def test_a_lost_update_fails_the_first_run_under_every_start_method(
        variant: Variant, default_run: Callable[[Variant], SuiteRun]) -> None:
    # The counting test pins its start methods, one run each: the variant's whole-suite run
    # (which its corpus test judges too) holds every one of them.
    name = COUNTING[variant.module]
    run = default_run(variant)
    counted = [r for r in run.results if name in str(r["test"])]
    assert sorted(str(r["test"]).rsplit("[", 1)[1] for r in counted) == sorted(f"{m}-1]" for m in METHODS), run.summary()
    caught = [r for r in counted if r.get("status") != "passed" and r.get("concept") in FAMILIES.get("lost update", {"lost update"})]
    assert caught == counted, run.summary()


def caught_in_one_run(variant: Variant, test: str, method: str, default_run: Callable[[Variant], SuiteRun]) -> str | None:
    """The concept `test` (which runs once) names when it judges `variant` under `method`,
    None if it passed (under the default method, as the variant's whole-suite run judged it)."""
    if method == DEFAULT_START_METHOD:
        run = default_run(variant)
    else:
        run = run_variant(variant, "-k", test, "--start-method", method)
    (result,) = [r for r in run.results if test in str(r["test"]).split("[")[0]]
    return None if result.get("status") == "passed" else str(result.get("concept"))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("variant", [pytest.param(v, id=v.id) for v in SPLIT])
def test_a_check_split_from_its_act_fails_the_first_run_under_every_start_method(
        variant: Variant, method: str, default_run: Callable[[Variant], SuiteRun]) -> None:
    assert caught_in_one_run(variant, CHECK_THEN_ACT[variant.module], method, default_run) in FAMILIES["check-then-act"]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("variant", [pytest.param(v, id=v.id) for v in HALVED])
def test_an_update_split_in_two_holds_fails_the_first_run_under_every_start_method(
        variant: Variant, method: str, default_run: Callable[[Variant], SuiteRun]) -> None:
    assert caught_in_one_run(variant, ATOMIC[variant.module], method, default_run) == "atomicity"

"""The self-check (like rustlings' `dev check`, and further): the suites are trustworthy judges.

* every suite passes against solutions/, under each start method;
* every suite fails against its stub, with the diagnosis the stub is meant to teach;
* every buggy variant in selfcheck/variants is caught with the concept it declares, and every
  correct alternative passes;
* the variants of each class of judging gap (rules, vacuous runs, split operations, property
  findings) get the same verdicts under the other start methods too: each under one of them,
  the variants of a class and verdict taking turns, so every method judges both halves of
  every class.

Each test judges in its own pytest process; `-n 4` (pytest-xdist, README's Quick start) runs four
at a time on this two-core machine, which also proves the verdicts hold on a loaded machine. The
runs under another start method leave out the tests that pin their own start method and take
their results from the run under the default one (selfcheck/pinned_start_method.py), made once
per worker; a variant's runs share one worker (selfcheck/conftest.py's scheduler).
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from collections.abc import Callable

import pytest

from grader.harness.witness import CONCURRENCY_CONCEPTS
from grader.metadata import load_exercises
from selfcheck.suite_runs import (
    DEFAULT_START_METHOD,
    PINNED_ID,
    REPO,
    SuiteRun,
    Variant,
    load_variants,
    run_suite,
    run_variant,
)

EXERCISES = load_exercises()
GAPS = ("promise", "vacuous", "atomicity", "property", "construction", "timing")
OTHER_START_METHODS = [method for method in multiprocessing.get_all_start_methods() if method != DEFAULT_START_METHOD]
# Under another start method, the tests that pin their own are left out and judged once.
LEAVE_OUT_PINNED = ("-p", "selfcheck.pinned_start_method")
SUITES = [exercise.test_file for exercise in EXERCISES]
VARIANTS = load_variants()
GAP_VARIANTS = [variant for variant in VARIANTS if variant.gap]


def on_one_worker(variants: list[Variant]) -> list:
    """The variants as parameters named by their ids, which put a variant's tests on one
    pytest-xdist worker (selfcheck/conftest.py)."""
    return [pytest.param(v, id=v.id) for v in variants]


# Buggy variants that no child process's journal can show: caught by the static check, and in
# the test's own process (a deposit that raises while holding the lock, called directly).
# Their failures say that there is no timeline to show rather than draw one.
NO_RUN_SHOWS_IT = {
    "bank_account/deposit_raise_while_holding",
    # These break a rule of the instructions (the lower-numbered lock first; each account's own
    # locks), found from the order and the names of the locks taken: no schedule fails, so no
    # timeline can show one, and the failure says so.
    "deadlock_fix/transfer_higher_first",
    "deadlock_fix/transfer_one_lock_for_all",
}
# What each stub is written to teach: its suite must diagnose it.
STUB_LESSONS = {
    "shared_value": "shared value",
    "locked_increment": "lost update",
    "bank_account": "lost update",
    "deadlock_fix": "self-deadlock",
    "lesson_questions": "wrong result",
}


@pytest.fixture(scope="session")
def solutions_run() -> Callable[[], SuiteRun]:
    """solutions_run(): every suite on solutions/ under the default start method, made once."""
    runs: list[SuiteRun] = []

    def run() -> SuiteRun:
        if not runs:
            runs.append(run_suite(SUITES, REPO / "solutions"))
        return runs[0]

    return run


@pytest.mark.timeout(900)
@pytest.mark.parametrize("start_method", multiprocessing.get_all_start_methods())
def test_every_suite_passes_on_the_solutions(solutions_run: Callable[[], SuiteRun], start_method: str) -> None:
    if start_method == DEFAULT_START_METHOD:
        run = solutions_run()
    else:
        run = run_suite(SUITES, REPO / "solutions", "--start-method", start_method, *LEAVE_OUT_PINNED)
        run = run.with_pinned_from(solutions_run())
    assert run.returncode == 0 and run.results and not run.failed, run.summary()


def test_every_exercise_has_a_stub_lesson_and_variants() -> None:
    assert set(STUB_LESSONS) == {e.module for e in EXERCISES}
    for exercise in EXERCISES:
        mine = [v for v in VARIANTS if v.module == exercise.module]
        assert {v.expect for v in mine} - {"unseen"} == {"pass", "fail"}, exercise.module
    for main in ("locked_increment", "bank_account", "deadlock_fix"):
        assert sum(v.module == main and v.expect == "fail" for v in VARIANTS) >= 8, main


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.id)
def test_every_variant_is_its_solution_with_its_edits(variant: Variant) -> None:
    source = variant.source()  # raises when an edit no longer applies exactly once
    assert source != (REPO / "solutions" / f"{variant.module}.py").read_text()
    compile(source, f"{variant.id}.py", "exec")


@pytest.mark.timeout(600)
@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.module)
def test_every_stub_fails_its_suite_with_the_diagnosis_it_teaches(exercise) -> None:
    run = run_suite([exercise.test_file], REPO / "exercises")
    assert run.failed, f"the {exercise.module} stub passes its suite"
    assert run.diagnoses(STUB_LESSONS[exercise.module]), run.summary()
    assert not run.leaks(), f"a student would see {run.leaks()}:\n{run.summary()}"


@pytest.mark.timeout(900)
@pytest.mark.parametrize("variant", on_one_worker(VARIANTS))
def test_variant_gets_the_verdict_it_deserves(default_run: Callable[[Variant], SuiteRun], variant: Variant) -> None:
    assert_verdict(variant, default_run(variant))


def test_every_gap_class_has_buggy_and_correct_variants() -> None:
    assert {v.gap for v in GAP_VARIANTS} == set(GAPS), "a variant names a class of gap that is not known"
    for gap in GAPS:
        assert {v.expect for v in GAP_VARIANTS if v.gap == gap} == {"pass", "fail"}, gap


def under_other_start_methods(variants: list[Variant]) -> list:
    """(variant, start method) pairs: each variant under one start method other than the
    default, the variants of one gap class and verdict taking turns, so that every other method
    judges buggy and correct variants of every class (both halves of a class of two or more).

    A variant is judged in full under the default method (the corpus, above), so what this adds
    is how children start under another method: copied from the parent (fork), or fresh,
    importing the student's module and receiving pickled arguments (spawn, and forkserver's
    children forked from a fresh server). One other method per variant, with the two taking
    turns across each class, judges every class both ways; a second one for the same variant
    proved the same thing twice. The solutions and every stub are judged under every method,
    and every suite run judges its counting tests under all three (they pin their own)."""
    turns: Counter[tuple[str | None, str]] = Counter()
    pairs = []
    for variant in variants:
        if not OTHER_START_METHODS:  # Windows has only spawn: no other method to judge under
            break
        turn = turns[variant.gap, variant.expect]
        turns[variant.gap, variant.expect] += 1
        method = OTHER_START_METHODS[turn % len(OTHER_START_METHODS)]
        pairs.append(pytest.param(variant, method, id=f"{variant.id}-{method}"))
    return pairs


def test_each_other_start_method_judges_buggy_and_correct_variants_of_every_gap_class() -> None:
    pairs = [param.values for param in under_other_start_methods(GAP_VARIANTS)]
    assert len(pairs) == (len(GAP_VARIANTS) if OTHER_START_METHODS else 0)  # each variant once
    for method in OTHER_START_METHODS:
        judged = [variant for variant, judged_under in pairs if judged_under == method]
        for gap in GAPS:
            for expect in ("fail", "pass"):
                of_class = [v for v in GAP_VARIANTS if (v.gap, v.expect) == (gap, expect)]
                if len(of_class) >= len(OTHER_START_METHODS):
                    assert any(v in judged for v in of_class), (method, gap, expect)
    if OTHER_START_METHODS:  # Windows has only spawn: no other method to judge under
        assert {variant.id for variant, _ in pairs} == {v.id for v in GAP_VARIANTS}


# The judging gaps of issue 10 (rules, work done without concurrent children, operations split
# into separate holds, failures found by property tests) hold under the default start method
# in the whole corpus above; here their variants are judged again under the other ones
# (under_other_start_methods): a correct variant by its whole suite, a buggy one by the tests
# that caught it under the default.
@pytest.mark.timeout(900)
@pytest.mark.parametrize(("variant", "start_method"), under_other_start_methods(GAP_VARIANTS))
def test_gap_variant_gets_its_verdict_under_other_start_methods(
    default_run: Callable[[Variant], SuiteRun], start_method: str, variant: Variant
) -> None:
    default = default_run(variant)
    if variant.expect == "fail":
        assert_verdict(variant, caught_again(variant, default, start_method))
        return
    run = run_variant(variant, "--start-method", start_method, *LEAVE_OUT_PINNED)
    assert_verdict(variant, run.with_pinned_from(default))


def caught_again(variant: Variant, default: SuiteRun, start_method: str) -> SuiteRun:
    """A buggy variant under another start method: the tests that caught it under the default one
    run again (the tests it passed there say nothing about the catch); the tests that pin their
    own start method come from the default run, which ran them under every method."""
    pinned = [r for r in default.results if PINNED_ID.search(str(r["test"]))]
    caught = sorted({str(r["test"]).split("[")[0] for r in default.failed if not PINNED_ID.search(str(r["test"]))})
    if not caught:
        return SuiteRun(default.returncode, pinned, default.output, [str(r["test"]) for r in pinned])
    run = run_variant(variant, "--start-method", start_method, *LEAVE_OUT_PINNED, "-k", " or ".join(caught))
    return SuiteRun(run.returncode, run.results + pinned, run.output, run.collected)


STRUCTURAL = ("no concurrency", "shared value", "missing join")
# What a failure may say only of what the judge saw the student's code do.
CLAIMS = ("does not count", "somewhere else", "in the parent process after", "made 0", "was never joined",
          "lost up to", "Lost update risk", "never ran at the same time", "started 0", "not finished")


def assert_never_accused(run: SuiteRun) -> None:
    """Every failure of a correct program the judge cannot watch says that the grader could not
    see it, and claims nothing the program did not do."""
    assert run.results and not run.leaks(), run.summary()
    for result in run.failed:
        message = str(result.get("message"))
        assert not [claim for claim in CLAIMS if claim in message], f"{result['test']} accuses: {message}"
        assert "could not see" in message or "saw no" in message, f"{result['test']}: {message}"


def test_every_module_has_a_correct_variant_the_judge_cannot_watch() -> None:
    for module in ("shared_value", "locked_increment"):
        assert any(v.module == module and v.expect == "unseen" for v in VARIANTS), module


def assert_verdict(variant: Variant, run: SuiteRun) -> None:
    """A correct variant passes every test; a buggy one fails with its concept, in plain words,
    with the timeline of how it happened; a correct one the judge cannot watch is never accused."""
    if variant.expect == "unseen":
        assert_never_accused(run)
    elif variant.expect == "pass":
        assert run.returncode == 0 and run.results and not run.failed, run.summary()
    else:
        assert run.failed, f"{variant.id} is buggy ({variant.concept}) but passed every test"
        assert run.diagnoses(str(variant.concept)), run.summary()
        assert not run.leaks(), f"a student would see {run.leaks()}:\n{run.summary()}\n{run.failure_reports()[-6000:]}"
        # Structural failures (no process, no shared value, no wait) name a line of the student's file.
        unplaced = [r["test"] for r in run.failed if r.get("concept") in STRUCTURAL and not (r.get("file") and r.get("line"))]
        assert not unplaced, f"failures that name no line: {unplaced}\n{run.summary()}"
        # Every concurrency failure shows how it happened (or says why the journal cannot), and
        # a concurrency bug's run yields at least one timeline drawn from its own journal.
        assert not run.witness_problems(), run.witness_problems()
        if variant.concept in CONCURRENCY_CONCEPTS and variant.id not in NO_RUN_SHOWS_IT:
            assert run.drew_a_witness(), run.summary()

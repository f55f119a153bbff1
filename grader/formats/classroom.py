"""Results for GitHub's autograding reporter (classroom-resources/autograding-grading-reporter@v1).

The reporter reads, for each id in its `runners` input, the environment variable
`<ID upper-cased>_RESULTS`: base64 of `{"version": 1, "status", "max_score", "tests": [...]}`.
It adds up every test's `score` and every runner's `max_score` and fails the job when a runner's
status is `fail` or `error`. Writing one such result per exercise from a single grading run, with
the grader's per-test scores, lets partial credit reach the reporter's total without grading twice.

The reporter sums test scores, not exercise scores, so each runner's tests must add up to the
exercise's score exactly: scores are counted in hundredths, the rounding hundredths go to one
test, and what a failed guard cost is taken from the tests that earned. The reporter sums them
as JavaScript numbers, one after the other, where 3.33 + 3.33 + 3.34 is not 10: each score is
chosen so that the running sum ends on the double nearest the grader's total, so the notices
print the grader's total exactly (`100`, not `99.99999999999997`).
"""

from __future__ import annotations

import base64
import json
import math
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from grader.grading.results import (
    ERROR,
    FAILED,
    PASSED,
    SKIPPED,
    TIMEOUT,
    ExerciseResult,
    GradeReport,
    TestResult,
)
from grader.metadata import Exercise

RESULTS_VERSION = 1
# The reporter gets each result as an environment variable, and Linux refuses one string of
# the environment longer than 128 KiB (MAX_ARG_STRLEN): messages are shortened to stay below.
MAX_ENCODED = 96 * 1024
_RUNNER_STATUS = {PASSED: "pass", ERROR: "error", TIMEOUT: "error"}  # partial, failed: "fail"
_TEST_STATUS = {PASSED: "pass", FAILED: "fail"}  # error, timeout, not run: "error"


def runner_id(exercise_name: str) -> str:
    """The reporter's runner id (and step output name) for an exercise: hyphens for underscores."""
    return exercise_name.replace("_", "-")


def _cents(value: float) -> int:
    return int(round(value * 100))


def cents_per_test(exercise: ExerciseResult) -> list[tuple[TestResult, int]]:
    """The counted tests with their scores in hundredths, adding up to the exercise's score.

    Rounding hundredths go to the last test that earned; points lost beyond the tests' own (a
    failed guard, info.toml `guards`) are taken from the tests that earned, last first, so no
    score is negative (which keeps the reporter's running sum exact, see summed_scores).
    """
    counted = [t for t in exercise.tests if t.status != SKIPPED]
    cents = [_cents(t.score) for t in counted]
    residue = _cents(exercise.score) - sum(cents)
    earners = [i for i, c in enumerate(cents) if c > 0]
    if residue > 0 and counted:
        cents[earners[-1] if earners else len(counted) - 1] += residue
    for index in reversed(earners):
        if residue >= 0:
            break
        taken = min(cents[index], -residue)
        cents[index] -= taken
        residue += taken
    return list(zip(counted, cents, strict=True))


def _step(running: float, target: float) -> float | None:
    """A double d with running + d == target (JavaScript's addition), None when there is none
    (a tie that rounds to the other neighbour)."""
    d = target - running
    for _ in range(8):
        total = running + d
        if total == target:
            return d
        d = math.nextafter(d, math.inf if total < target else -math.inf)
    return None


def _land(values: list[float], targets: list[float]) -> None:
    """Make the last of `values` take the running sum exactly onto the last target, nudging
    the one before it when no double does (the sum stays within an ulp of each target)."""
    running = sum_like_javascript(values[:-1])
    direct = _step(running, targets[-1])
    if direct is not None:
        values[-1] = direct
        return
    earlier = [i for i, value in enumerate(values[:-1]) if value > 0]
    before = earlier[-1] if earlier else len(values) - 2
    for k in range(1, 64):
        for sign in (1.0, -1.0):
            nudged = values[before]
            for _ in range(k):
                nudged = math.nextafter(nudged, sign * math.inf)
            if _land_after(values, targets, before, nudged):
                return
    # A value much smaller than the sum before it (0.2 after 39.56, say) moves that sum by
    # none of its own ulps: nudge an earlier value by ulps of the running sum it ends instead.
    for before in reversed(earlier or [len(values) - 2]):
        step = math.ulp(sum_like_javascript(values[:before + 1]))
        for k in range(1, 9):
            for sign in (1.0, -1.0):
                nudged = values[before] + sign * k * step
                if nudged >= 0 and _land_after(values, targets, before, nudged):
                    return
    raise ArithmeticError(f"no doubles sum to {targets[-1]!r}")


def _land_after(values: list[float], targets: list[float], before: int, nudged: float) -> bool:
    """With values[before] nudged, whether a last value lands the sum on the last target (and
    if so, both are set)."""
    running = sum_like_javascript([*values[:before], nudged, *values[before + 1:-1]])
    last = _step(running, targets[-1])
    if last is None:
        return False
    values[before], values[-1] = nudged, last
    return True


def sum_like_javascript(values: Sequence[float]) -> float:
    """0 + v1 + v2 + ..., left to right in doubles, as the reporter's reduce does."""
    total = 0.0
    for value in values:
        total += value
    return total


def summed_scores(exercises: Sequence[ExerciseResult]) -> list[list[tuple[TestResult, float]]]:
    """Per exercise, its tests with the score to write: hundredths adding up to the exercise's
    score, as doubles whose left-to-right sum over all runners is the grader's total exactly
    (and, where a double allows it, its running total at every test)."""
    per_exercise = [cents_per_test(e) for e in exercises]
    values: list[float] = []
    targets: list[float] = []
    cents_total = 0
    for exercise, tests in zip(exercises, per_exercise, strict=True):
        if not exercise.max_score:  # the reporter skips runners without a max_score
            continue
        for _, cents in tests:
            cents_total += cents
            target = cents_total / 100
            running = sum_like_javascript(values)
            step = _step(running, target)
            values.append(step if step is not None else target - running)
            targets.append(target)
    if len(values) >= 2:
        _land(values, targets)
    chosen = iter(values)
    return [[(test, next(chosen) if exercise.max_score else cents / 100) for test, cents in tests]
            for exercise, tests in zip(exercises, per_exercise, strict=True)]


def _message(test: TestResult) -> str:
    parts = []
    if test.location and test.status != PASSED:
        parts.append(f"At {test.location}:")
    if test.message and test.status != PASSED:
        parts.append(test.message)
    if test.max_score == 0 and test.status not in (PASSED, SKIPPED):
        parts.append("This checks code you were given: breaking it costs what a test earns "
                     "(taken from this exercise's passing tests).")
    return "\n".join(parts)


def runner_result(exercise: ExerciseResult, test_file: str | None = None,
                  scores: Sequence[tuple[TestResult, float]] | None = None) -> dict[str, Any]:
    """One exercise as the reporter reads a runner's result (before base64); `scores` from
    summed_scores, else the tests' hundredths."""
    if scores is None:
        scores = [(test, cents / 100) for test, cents in cents_per_test(exercise)]
    tests = []
    for test, score in scores:
        node = f"{test_file}::{test.name}" if test_file else test.name
        tests.append({
            "name": f"{exercise.name}: {test.name}",
            "status": _TEST_STATUS.get(test.status, "error"),
            "score": score,
            "message": _message(test),
            "test_code": f"python -m pytest {shlex.quote(node)}" if test_file else "",
            "filename": test.file or "",
            "line_no": test.line or 0,
            "duration": int(round(test.duration * 1000)),  # milliseconds, as the graders write
        })
    return {
        "version": RESULTS_VERSION,
        "status": _RUNNER_STATUS.get(exercise.status, "fail"),
        "max_score": exercise.max_score,
        "tests": tests,
    }


def encode(result: dict[str, Any], limit: int = MAX_ENCODED) -> str:
    """base64 of the compact JSON, as the graders' `result` output holds it; messages are cut
    (to 500 characters, then 100, then none) until it fits in `limit`."""
    for cut in (None, 500, 100, 0):
        if cut is not None:
            for test in result["tests"]:
                if len(test["message"]) > cut:
                    test["message"] = test["message"][:cut].rstrip() + ("…" if cut else "")
        text = json.dumps(result, separators=(",", ":"), ensure_ascii=False)
        encoded = base64.b64encode(text.encode("utf-8")).decode("ascii")
        if len(encoded) <= limit:
            break
    return encoded


def step_outputs(report: GradeReport, test_files: dict[str, str] | None = None) -> dict[str, str]:
    """Output name (the runner id) -> encoded result, one per exercise, in info.toml order."""
    files = test_files or {}
    return {runner_id(e.name): encode(runner_result(e, files.get(e.name), scores))
            for e, scores in zip(report.exercises, summed_scores(report.exercises), strict=True)}


def append_step_outputs(outputs: dict[str, str], path: Path) -> None:
    """Append `name=value` lines to $GITHUB_OUTPUT (base64 never holds a newline)."""
    with Path(path).open("a", encoding="utf-8") as handle:
        for name, value in outputs.items():
            handle.write(f"{name}={value}\n")


def write_classroom_outputs(report: GradeReport, exercises: Sequence[Exercise],
                            path: Path) -> None:
    """The grading step's outputs: one reporter result per exercise graded."""
    append_step_outputs(step_outputs(report, {e.name: e.test_file for e in exercises}), path)

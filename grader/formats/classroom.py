"""Results for GitHub's autograding reporter (classroom-resources/autograding-grading-reporter@v1).

The reporter reads, for each id in its `runners` input, the environment variable
`<ID upper-cased>_RESULTS`: base64 of `{"version": 1, "status", "max_score", "tests": [...]}`.
It adds up every test's `score` and every runner's `max_score` and fails the job when a runner's
status is `fail` or `error`. Writing one such result per exercise from a single grading run, with
the grader's per-test scores, lets partial credit reach the reporter's total without grading twice.

The reporter sums test scores, not exercise scores, so each runner's tests must add up to the
exercise's score exactly: scores are counted in hundredths, a failed guard carries what it cost
as a negative score, and the rounding hundredths go to one test.
"""

from __future__ import annotations

import base64
import json
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from grader.metadata import Exercise
from grader.results import (
    ERROR,
    FAILED,
    PASSED,
    SKIPPED,
    TIMEOUT,
    ExerciseResult,
    GradeReport,
    TestResult,
)

RESULTS_VERSION = 1
_RUNNER_STATUS = {PASSED: "pass", ERROR: "error", TIMEOUT: "error"}  # partial, failed: "fail"
_TEST_STATUS = {PASSED: "pass", FAILED: "fail"}  # error, timeout, not run: "error"


def runner_id(exercise_name: str) -> str:
    """The reporter's runner id (and step output name) for an exercise: hyphens for underscores."""
    return exercise_name.replace("_", "-")


def _cents(value: float) -> int:
    return int(round(value * 100))


def test_cents(exercise: ExerciseResult) -> list[tuple[TestResult, int]]:
    """The counted tests with their scores in hundredths, adding up to the exercise's score."""
    counted = [t for t in exercise.tests if t.status != SKIPPED]
    cents = [_cents(t.score) for t in counted]
    residue = _cents(exercise.score) - sum(cents)
    if residue and counted:
        failed_guards = [i for i, t in enumerate(counted)
                         if t.max_score == 0 and t.status != PASSED]
        earners = [i for i, c in enumerate(cents) if c > 0]
        if residue < 0 and failed_guards:  # what breaking the given code cost
            index = failed_guards[0]
        else:  # rounding: a hundredth here and there, on the last test that earned
            index = earners[-1] if earners else len(counted) - 1
        cents[index] += residue
    return list(zip(counted, cents, strict=True))


def _message(test: TestResult, cents: int) -> str:
    parts = []
    if test.location and test.status != PASSED:
        parts.append(f"At {test.location}:")
    if test.message and test.status != PASSED:
        parts.append(test.message)
    if cents < 0:
        parts.append(f"This checks code you were given: breaking it cost {-cents / 100:g} points.")
    return "\n".join(parts)


def runner_result(exercise: ExerciseResult, test_file: str | None = None) -> dict[str, Any]:
    """One exercise as the reporter reads a runner's result (before base64)."""
    tests = []
    for test, cents in test_cents(exercise):
        node = f"{test_file}::{test.name}" if test_file else test.name
        tests.append({
            "name": f"{exercise.name}: {test.name}",
            "status": _TEST_STATUS.get(test.status, "error"),
            "score": cents / 100,
            "message": _message(test, cents),
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


def encode(result: dict[str, Any]) -> str:
    """base64 of the compact JSON, as the graders' `result` output holds it."""
    text = json.dumps(result, separators=(",", ":"), ensure_ascii=False)
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def step_outputs(report: GradeReport, test_files: dict[str, str] | None = None) -> dict[str, str]:
    """Output name (the runner id) -> encoded result, one per exercise, in info.toml order."""
    files = test_files or {}
    return {runner_id(e.name): encode(runner_result(e, files.get(e.name)))
            for e in report.exercises}


def append_step_outputs(outputs: dict[str, str], path: Path) -> None:
    """Append `name=value` lines to $GITHUB_OUTPUT (base64 never holds a newline)."""
    with Path(path).open("a", encoding="utf-8") as handle:
        for name, value in outputs.items():
            handle.write(f"{name}={value}\n")


def write_classroom_outputs(report: GradeReport, exercises: Sequence[Exercise],
                            path: Path) -> None:
    """The grading step's outputs: one reporter result per exercise graded."""
    append_step_outputs(step_outputs(report, {e.name: e.test_file for e in exercises}), path)

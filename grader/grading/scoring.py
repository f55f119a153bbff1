"""Turn one suite's raw run into points: weights from info.toml, and what to tell the student.

Points are shared by concept: each test function (one concept) weighs `Exercise.weight(name)`,
and its parametrisations (`test_x[fork]`, `test_x[spawn]`) share that weight equally, so
running a check under two start methods does not make the concept count double. Skipped tests
carry no weight. Tests the run never finished earn nothing.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from grader.grading.results import (
    ERROR,
    FAILED,
    NOT_RUN,
    PARTIAL,
    PASSED,
    TIMEOUT,
    ExerciseResult,
    TestResult,
    round_points,
)
from grader.grading.runner import SuiteRun
from grader.inert import inert_text
from grader.metadata import Exercise

NOT_YOUR_CODE = "(a problem of the exercise set, not of your code: tell your instructor)"


def concept_of(test_name: str) -> str:
    """`test_x[spawn]` -> `test_x`: the name info.toml's weights use."""
    return test_name.split("[", 1)[0]


def budget_message(exercise: Exercise, run: SuiteRun) -> str:
    """Why an overrunning exercise was stopped, and where its code was at that moment."""
    text = f"Stopped: the tests did not finish within this exercise's time budget of {exercise.timeout} s."
    stuck = run.stuck_at
    if stuck is None:
        return text
    text += f" Your code was still running at {stuck.file}:{stuck.line}"
    if stuck.function == "<module>":
        return (text + ", at import time. Code at the top level of a module runs when it is "
                "imported: a loop there that never ends stops every test before it starts. "
                "Put the work inside a function.")
    return (text + f" (in {stuck.function}). Look for a loop that never ends, a lock that is "
            "never released, or a process that is waited for but never finishes.")


def missing_suite(exercise: Exercise) -> ExerciseResult:
    """The exercise has no suite yet: nobody can earn its points."""
    message = f"No tests found for this exercise ({exercise.test_file}) {NOT_YOUR_CODE}"
    return _finish(exercise, [_synthetic(exercise, ERROR, message)], status=ERROR, message=message)


def score_exercise(exercise: Exercise, run: SuiteRun) -> ExerciseResult:
    """Combine the plugin's events, the run's fate and the metadata into an ExerciseResult."""
    collected: list[str] | None = None
    collect_errors: list[dict] = []
    interference: list[dict] = []
    results: dict[str, dict] = {}
    started: list[str] = []
    for event in run.events:
        kind = event.get("event")
        if kind == "collected":
            collected = [str(name) for name in event.get("tests", [])]
        elif kind == "collect_error":
            collect_errors.append(event)
        elif kind == "interference":
            interference.append(event)
        elif kind == "start":
            started.append(str(event.get("test")))
        elif kind == "result":
            results[str(event.get("test"))] = event

    if interference:  # the judge ran something of the submission's: no test of it counts
        message = str(interference[0].get("message") or "Your submission interfered with the judge.")
        test = _synthetic(exercise, ERROR, message)
        test.concept = "interference"
        return _finish(exercise, [test], status=ERROR, message=message, duration=run.duration)

    if collect_errors:
        first = collect_errors[0]
        details = "\n".join(str(e.get("message", "")) for e in collect_errors)
        file, line = first.get("file") or None, _int_or_none(first.get("line"))
        if file:  # the error is in the student's own files: importing their module failed
            message = (f"Importing {file} failed, so none of this exercise's tests could run: "
                       f"{details}")
        else:
            message = f"The tests could not be loaded: {details}"
        test = _synthetic(exercise, ERROR, message)
        test.file, test.line = file, line
        return _finish(exercise, [test], status=ERROR, message=message, duration=run.duration,
                       file=test.file, line=test.line)

    names = collected if collected is not None else list(results)
    if not names:
        if run.timed_out:
            message = budget_message(exercise, run)
            return _finish(exercise, [_synthetic(exercise, TIMEOUT, message, run)], status=TIMEOUT,
                           message=message, duration=run.duration)
        message = _no_tests_message(exercise, run)
        return _finish(exercise, [_synthetic(exercise, ERROR, message)], status=ERROR,
                       message=message, duration=run.duration)

    running = started[-1] if started and started[-1] not in results else None
    tests = []
    for name in names:
        event = results.get(name)
        if event is not None:
            tests.append(TestResult(
                name=name,
                status=str(event.get("status", ERROR)),
                score=0.0,
                max_score=0.0,
                message=str(event.get("message") or ""),
                file=event.get("file") or None,
                line=_int_or_none(event.get("line")),
                concept=event.get("concept") or None,
                duration=float(event.get("duration") or 0.0),
                witness=event.get("witness") if isinstance(event.get("witness"), dict) else None,
            ))
        elif name == running and run.timed_out:
            stuck = run.stuck_at
            tests.append(TestResult(name, TIMEOUT, 0.0, 0.0, budget_message(exercise, run),
                                    stuck.file if stuck else None, stuck.line if stuck else None))
        elif name == running:
            tests.append(TestResult(name, ERROR, 0.0, 0.0, _crash_message(run)))
        else:
            why = (f"Not run: the time budget of {exercise.timeout} s was used up."
                   if run.timed_out else "Not run: the test run stopped before this test.")
            tests.append(TestResult(name, NOT_RUN, 0.0, 0.0, why))

    penalty = _share_points(exercise, tests)
    status = _exercise_status(tests)
    message = ""
    if run.timed_out and any(t.status in (TIMEOUT, NOT_RUN) for t in tests):
        status = TIMEOUT
    first = next((t for t in tests if t.counts and t.status != PASSED), None)
    if first is not None:
        message = first.message
    return _finish(exercise, tests, status=status, message=message, duration=run.duration,
                   file=first.file if first else None, line=first.line if first else None,
                   penalty=penalty)


def _share_points(exercise: Exercise, tests: list[TestResult]) -> float:
    """Give each counted test its share of the exercise's points, and its score.

    Guards (info.toml `guards`: checks of code the stub already gets right) earn nothing, so a
    stub scores 0; a failing guard costs what a test of its weight would earn. Returns that cost.
    """
    members: dict[str, list[TestResult]] = defaultdict(list)
    guards: dict[str, list[TestResult]] = defaultdict(list)
    for test in tests:
        if test.counts:
            kind = guards if exercise.is_guard(test.name) else members
            kind[concept_of(test.name)].append(test)
    total = sum(exercise.weight(concept) for concept in members)
    for concept, group in members.items():
        share = exercise.points * exercise.weight(concept) / total if total > 0 else 0.0
        for test in group:
            test.max_score = share / len(group)
            test.score = test.max_score if test.status == PASSED else 0.0
    penalty = 0.0
    for concept, group in guards.items():
        share = exercise.points * exercise.weight(concept) / total if total > 0 else 0.0
        for test in group:
            test.max_score = test.score = 0.0
            if test.status != PASSED:
                penalty += share / len(group)
    return penalty


def apportion(shares: list[float], total: float, places: int = 2) -> list[float]:
    """`shares` rounded to `places` decimals so that they add up to `total` (rounded) exactly:
    each is rounded down, and the units left over go to the largest remainders (earlier tests
    first on ties). Rounding each on its own gives 12 x 2.08 = 24.96 for 25 points."""
    unit = 10**places
    exact = [round(share * unit, 6) for share in shares]
    floors = [math.floor(value) for value in exact]
    left = round(total * unit) - sum(floors)
    order = sorted(range(len(shares)), key=lambda i: (floors[i] - exact[i], i))
    for index in order[:max(left, 0)]:
        floors[index] += 1
    return [value / unit for value in floors]


def _exercise_status(tests: list[TestResult]) -> str:
    counted = [t for t in tests if t.counts]
    if not counted:
        return ERROR
    if all(t.status == PASSED for t in counted):
        return PASSED
    if any(t.status == PASSED and t.max_score > 0 for t in counted):
        return PARTIAL
    return FAILED


def _finish(exercise: Exercise, tests: list[TestResult], *, status: str, message: str,
            duration: float = 0.0, file: str | None = None,
            line: int | None = None, penalty: float = 0.0) -> ExerciseResult:
    shares = apportion([t.max_score for t in tests], sum(t.max_score for t in tests))
    for test, share in zip(tests, shares, strict=True):
        earned = test.score > 0 and test.score >= test.max_score - 1e-9
        test.max_score = share
        test.score = share if earned else round_points(test.score)
    if status == PASSED:
        score = float(exercise.points)
    else:
        score = max(0.0, sum(t.score for t in tests) - penalty)
    if status == ERROR and not any(t.counts for t in tests):
        said = [t.message for t in tests if t.message]  # the suite's own reasons, when it gave some
        message = message or "\n".join(said) or "No test ran: every test was skipped."
    for test in tests:
        _make_inert(test)
    next_hint = exercise.hints[0] if exercise.hints and status != PASSED else None
    return ExerciseResult(
        name=exercise.name,
        title=exercise.title,
        status=status,
        score=round_points(score),
        max_score=float(exercise.points),
        tests=tests,
        message=inert_text(message),
        file=inert_text(file) if file else file,
        line=line,
        hint=next_hint,
        duration=duration,
    )


def _make_inert(test: TestResult) -> None:
    """Where student text enters the results: every output format shows it as it is here."""
    test.name, test.message = inert_text(test.name), inert_text(test.message)
    test.file = inert_text(test.file) if test.file else test.file
    test.concept = inert_text(test.concept) if test.concept else test.concept
    if test.witness is not None:
        test.witness = _inert_data(test.witness)


def _inert_data(value: Any) -> Any:
    """JSON data with every string in it made inert (a witness's steps and labels)."""
    if isinstance(value, str):
        return inert_text(value)
    if isinstance(value, dict):
        return {_inert_data(key): _inert_data(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_inert_data(item) for item in value]
    return value


def _synthetic(exercise: Exercise, status: str, message: str,
               run: SuiteRun | None = None) -> TestResult:
    """A stand-in test when the suite's own tests are unknown: it carries all the points."""
    stuck = run.stuck_at if run else None
    return TestResult(
        name=exercise.test_file.rsplit("/", 1)[-1],
        status=status,
        score=0.0,
        max_score=float(exercise.points),
        message=message,
        file=stuck.file if stuck else None,
        line=stuck.line if stuck else None,
    )


def _no_tests_message(exercise: Exercise, run: SuiteRun) -> str:
    if run.returncode == 5:
        return f"The suite {exercise.test_file} has no tests {NOT_YOUR_CODE}"
    if run.returncode in (3, 4):
        tail = _last_lines(run.output)
        text = f"pytest could not run {exercise.test_file} (exit code {run.returncode}) {NOT_YOUR_CODE}"
        return f"{text}\n{tail}" if tail else text
    return _crash_message(run)


def _crash_message(run: SuiteRun) -> str:
    """The run ended before reporting: say how, with the end of its output for the instructor."""
    code = run.returncode
    if code is not None and code < 0:
        how = f"was killed by signal {-code}"
    else:
        how = f"ended unexpectedly (exit code {code})"
    tail = _last_lines(run.output)
    text = (f"The test process {how} before reporting a result: does your code call exit() "
            "or end the process?")
    return f"{text}\n{tail}" if tail else text


def _last_lines(output: str, count: int = 8) -> str:
    lines = [line for line in output.strip().splitlines() if line.strip()]
    return "\n".join(lines[-count:])


def _int_or_none(value: object) -> int | None:
    try:
        return int(value) if value is not None else None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None

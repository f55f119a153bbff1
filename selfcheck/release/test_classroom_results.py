"""The reporter's results (grader.formats.classroom) fed to the reporter's stand-in: the total it
prints is the grader's total exactly, whatever the weights, rounding, guards and exercise count."""

from __future__ import annotations

import base64
import json

from hypothesis import example, given, settings
from hypothesis import strategies as st

from grader.formats.classroom import (
    MAX_ENCODED,
    cents_per_test,
    encode,
    runner_result,
    step_outputs,
)
from grader.formats.github import notices
from grader.grading.results import (
    FAILED,
    PARTIAL,
    PASSED,
    SKIPPED,
    ExerciseResult,
    GradeReport,
    TestResult,
    round_points,
)

from .actions_standin import reporter


def exercise(name: str, points: float, passed: list[bool], score: float | None = None,
             guards: int = 0, failed_guards: int = 0) -> ExerciseResult:
    """Tests sharing `points` equally; guards earn 0; score as scoring.py would give it."""
    share = points / len(passed) if passed else 0.0
    tests = [TestResult(f"test_{i}", PASSED if ok else FAILED,
                        round_points(share if ok else 0.0), round_points(share))
             for i, ok in enumerate(passed)]
    tests += [TestResult(f"test_guard_{i}", FAILED if i < failed_guards else PASSED, 0.0, 0.0)
              for i in range(guards)]
    if score is None:
        earned = share * sum(passed) - share * failed_guards
        score = float(points) if all(passed) and not failed_guards else max(0.0, earned)
    status = PASSED if all(passed) and not failed_guards else PARTIAL if score else FAILED
    return ExerciseResult(name, name, status, round_points(score), float(points), tests)


def reporter_run(report: GradeReport) -> tuple[int, str]:
    outputs = step_outputs(report)
    env = {f"{runner.upper()}_RESULTS": value for runner, value in outputs.items()}
    return reporter({"runners": ",".join(outputs)}, env)


def test_thirds_add_up_to_the_points_and_print_clean() -> None:
    report = GradeReport("exercises", [exercise("a_b", 10, [True] * 3),
                                       exercise("c", 10, [True, True, False]),
                                       exercise("d", 100, [True] * 7)])
    code, out = reporter_run(report)
    assert report.score == 116.67
    assert "::notice title=Autograding complete::Points 116.67/120" in out
    assert '::notice title=Autograding report::{"totalPoints":116.67,"maxPoints":120}' in out
    assert notices(report)[1].endswith('{"totalPoints":116.67,"maxPoints":120}')  # the grader's
    assert code == 1  # c lost points: the reporter fails the job


def test_a_failed_guard_costs_from_the_earners_and_skipped_tests_are_left_out() -> None:
    broken = exercise("g", 12, [True, True, False], guards=2, failed_guards=1)
    broken.tests.append(TestResult("test_skipped", SKIPPED, 0.0, 0.0))
    assert broken.score == 4.0  # 8 earned, 4 lost by the guard
    cents = {t.name: c for t, c in cents_per_test(broken)}
    assert cents == {"test_0": 400, "test_1": 0, "test_2": 0,
                     "test_guard_0": 0, "test_guard_1": 0}
    result = runner_result(broken, "tests/test_g.py")
    assert result["status"] == "fail" and result["max_score"] == 12
    guard = next(t for t in result["tests"] if t["name"] == "g: test_guard_0")
    assert guard["status"] == "fail" and "code you were given" in guard["message"]
    assert guard["test_code"] == "python -m pytest tests/test_g.py::test_guard_0"


def test_the_reporter_reads_what_the_grader_writes() -> None:
    report = GradeReport("exercises", [exercise("shared_value", 10, [True, False])])
    (value,) = step_outputs(report).values()
    data = json.loads(base64.b64decode(value))
    assert set(data) == {"version", "status", "max_score", "tests"} and data["version"] == 1
    assert set(data["tests"][0]) == {"name", "status", "score", "message", "test_code",
                                     "filename", "line_no", "duration"}
    assert list(step_outputs(report)) == ["shared-value"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 100), st.lists(st.booleans(), min_size=1, max_size=9),
                          st.integers(0, 3)), min_size=1, max_size=8))
# 0.2 points after 39.56: no nudge of that small value by its own ulps moved the sum.
@example([(89, [False] * 5 + [True] * 4, 0), (1, [False] * 4 + [True], 0), (64, [True], 0)])
def test_the_reporters_total_is_the_graders_exactly(specs: list) -> None:
    exercises = [exercise(f"e{i}", points, passed, guards=guards, failed_guards=guards // 2)
                 for i, (points, passed, guards) in enumerate(specs)]
    report = GradeReport("exercises", exercises)
    for result in exercises:
        assert sum(c for _, c in cents_per_test(result)) == round(result.score * 100)
    _, out = reporter_run(report)
    assert notices(report)[1].split("::", 2)[2] in out  # the same report notice, to the digit


def test_long_messages_are_cut_to_fit_an_environment_variable() -> None:
    many = exercise("many", 50, [False] * 200)
    for test in many.tests:
        test.message = "x" * 2000
    result = runner_result(many)
    encoded = encode(result)
    assert len(encoded) <= MAX_ENCODED < 128 * 1024
    data = json.loads(base64.b64decode(encoded))
    assert len(data["tests"]) == 200 and data["tests"][0]["message"].endswith("…")
    short = exercise("short", 5, [False])
    short.tests[0].message = "y" * 2000
    assert json.loads(base64.b64decode(encode(runner_result(short))))["tests"][0]["message"] == (
        "y" * 2000)

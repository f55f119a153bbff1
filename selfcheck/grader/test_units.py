"""Unit tests of the pieces the goldens cover only by example: scoring by weight, the GitHub
escaping and annotation order, the stack-dump parser, colour and clipping."""

from __future__ import annotations

from pathlib import Path

from grader.formats.colour import Painter, use_colour
from grader.formats.github import (
    MAX_ANNOTATIONS,
    annotations,
    command,
    escape_data,
    escape_property,
    notices,
)
from grader.formats.terminal import render_table
from grader.grading.results import ExerciseResult, GradeReport, TestResult, format_points
from grader.grading.runner import StuckAt, SuiteRun, stuck_location
from grader.grading.scoring import score_exercise
from grader.metadata import Exercise

EXERCISE = Exercise(name="ex", module="ex", title="An exercise", points=12, timeout=7,
                    hints=("Look closer.",), weights={"test_heavy": 2})


def events(*results: tuple[str, str], collected: list[str] | None = None) -> list[dict]:
    names = collected if collected is not None else [name for name, _ in results]
    out: list[dict] = [{"event": "collected", "tests": names}]
    for name, status in results:
        out.append({"event": "start", "test": name})
        out.append({"event": "result", "test": name, "status": status,
                    "message": "" if status == "passed" else f"{name} went wrong",
                    "file": None, "line": None, "concept": None, "duration": 0.1})
    out.append({"event": "finish", "exitstatus": 0})
    return out


def test_points_are_shared_by_weight_and_parameters_share_their_concept() -> None:
    run = SuiteRun(events=events(("test_heavy", "passed"), ("test_light[fork]", "passed"),
                                 ("test_light[spawn]", "failed")))
    result = score_exercise(EXERCISE, run)
    scores = {t.name: (t.score, t.max_score) for t in result.tests}
    # weights: test_heavy 2, test_light 1 (split over its two parameters) -> 8, 2, 2
    assert scores == {"test_heavy": (8.0, 8.0), "test_light[fork]": (2.0, 2.0),
                      "test_light[spawn]": (0.0, 2.0)}
    assert (result.status, result.score, result.max_score) == ("partial", 10.0, 12.0)
    assert result.message == "test_light[spawn] went wrong"
    assert result.hint == "Look closer."


def test_skipped_tests_carry_no_points() -> None:
    run = SuiteRun(events=events(("test_heavy", "passed"), ("test_other", "skipped")))
    result = score_exercise(EXERCISE, run)
    assert [(t.name, t.max_score) for t in result.tests] == [("test_heavy", 12.0),
                                                             ("test_other", 0.0)]
    assert result.status == "passed" and result.score == 12.0 and result.hint is None


def test_all_passed_gives_exactly_the_points_despite_thirds() -> None:
    exercise = Exercise(name="ex", module="ex", title="t", points=10, timeout=7)
    run = SuiteRun(events=events(("test_a", "passed"), ("test_b", "passed"), ("test_c", "passed")))
    result = score_exercise(exercise, run)
    # Largest remainder: the hundredth left over goes to the first of the equal remainders.
    assert result.score == 10.0 and [t.max_score for t in result.tests] == [3.34, 3.33, 3.33]


def test_per_test_points_add_up_to_the_exercise_in_every_format() -> None:
    """25 points over 12 tests: rounded one by one they made 24.96 (Gradescope showed 99.98 of 100)."""
    from grader.formats.gradescope import report_to_gradescope
    from grader.formats.json_results import report_to_json

    exercise = Exercise(name="ex", module="ex", title="t", points=25, timeout=7)
    names = [f"test_{i:02}" for i in range(12)]
    done = score_exercise(exercise, SuiteRun(events=events(*[(name, "passed") for name in names])))
    half = score_exercise(exercise, SuiteRun(events=events(*[(name, "passed" if i % 2 else "failed")
                                                             for i, name in enumerate(names)])))
    assert round(sum(t.max_score for t in done.tests), 2) == 25.0 == done.score
    assert round(sum(t.score for t in half.tests), 2) == half.score
    report = GradeReport(target="t", exercises=[done])
    assert round(sum(t["max_score"] for t in report_to_gradescope(report)["tests"]), 2) == 25.0
    assert round(sum(t["score"] for t in report_to_gradescope(report)["tests"]), 2) == 25.0
    exported = report_to_json(report)["exercises"][0]["tests"]
    assert round(sum(t["max_score"] for t in exported), 2) == 25.0


def test_guards_earn_nothing_but_a_failing_guard_costs_its_share() -> None:
    guarded = Exercise(name="ex", module="ex", title="t", points=10, timeout=7, guards=("test_given",))
    stub = score_exercise(guarded, SuiteRun(events=events(("test_core", "failed"), ("test_given", "passed"))))
    assert (stub.score, stub.status) == (0, "failed")
    done = score_exercise(guarded, SuiteRun(events=events(("test_core", "passed"), ("test_given", "passed"))))
    assert (done.score, done.status) == (10, "passed")
    broke_given = score_exercise(guarded, SuiteRun(events=events(("test_core", "passed"), ("test_given", "failed"))))
    assert broke_given.score == 0 and broke_given.status != "passed"
    both = Exercise(name="ex", module="ex", title="t", points=10, timeout=7, guards=("test_given",))
    run = SuiteRun(events=events(("test_a", "passed"), ("test_b", "passed"), ("test_given", "failed")))
    assert score_exercise(both, run).score == 5


def test_budget_overrun_marks_running_test_timeout_and_the_rest_not_run() -> None:
    evs = events(("test_heavy", "passed"), collected=["test_heavy", "test_b", "test_c"])
    evs = [e for e in evs if e["event"] != "finish"] + [{"event": "start", "test": "test_b"}]
    run = SuiteRun(events=evs, timed_out=True, stuck_at=StuckAt("exercises/ex.py", 4, "work"))
    result = score_exercise(EXERCISE, run)
    assert [t.status for t in result.tests] == ["passed", "timeout", "not_run"]
    assert result.status == "timeout"
    assert (result.file, result.line) == ("exercises/ex.py", 4)
    assert "time budget of 7 s" in result.message and "exercises/ex.py:4 (in work)" in result.message


def test_crash_before_reporting_is_an_error_with_its_exit_code() -> None:
    evs = [{"event": "collected", "tests": ["test_a"]}, {"event": "start", "test": "test_a"}]
    result = score_exercise(EXERCISE, SuiteRun(events=evs, returncode=3, output="boom"))
    assert result.tests[0].status == "error"
    assert "exit code 3" in result.message and result.score == 0


def test_no_events_and_exit_5_means_the_suite_has_no_tests() -> None:
    result = score_exercise(EXERCISE, SuiteRun(returncode=5))
    assert result.status == "error" and "has no tests" in result.message
    assert result.tests[0].max_score == 12.0


def test_stuck_location_prefers_the_test_thread_and_the_innermost_student_frame(tmp_path: Path) -> None:
    target = tmp_path / "exercises"
    target.mkdir()
    dump = "\n".join([
        "Thread 0x01 (most recent call first):",
        f'  File "{target}/helper.py", line 99 in other',
        "",
        "Current thread 0x02 (most recent call first):",
        '  File "/usr/lib/python3.11/threading.py", line 320 in wait',
        f'  File "{target}/ex.py", line 12 in worker',
        f'  File "{target}/ex.py", line 30 in main',
        '  File "/venv/site-packages/_pytest/python.py", line 157 in pytest_pyfunc_call',
    ])
    assert stuck_location(dump, target, tmp_path) == StuckAt("exercises/ex.py", 12, "worker")
    assert stuck_location("garbage", target, tmp_path) is None


def test_workflow_command_escaping() -> None:
    assert escape_data("100% done\r\nnext") == "100%25 done%0D%0Anext"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    assert command("error", "x: y, z", file="a,b.py", line=3, title="t: 1") == \
        "::error file=a%2Cb.py,line=3,title=t%3A 1::x: y, z"
    assert command("notice", "m", title=None) == "::notice::m"


def _report(per_exercise: int, exercises: int = 3) -> GradeReport:
    results = []
    for e in range(exercises):
        tests = [TestResult(f"test_{t}", "failed", 0.0, 1.0, f"problem {e}.{t}",
                            f"exercises/ex{e}.py", t + 1) for t in range(per_exercise)]
        results.append(ExerciseResult(f"ex{e}", "t", "failed", 0.0, float(per_exercise), tests,
                                      tests[0].message if tests else ""))
    return GradeReport("exercises", results)


def test_annotations_at_most_ten_first_problem_of_each_exercise_first() -> None:
    lines = annotations(_report(per_exercise=5))
    assert len(lines) == MAX_ANNOTATIONS
    assert [line.rsplit("::", 1)[1] for line in lines[:4]] == [
        "problem 0.0", "problem 1.0", "problem 2.0", "problem 0.1"]


def test_duplicate_annotations_are_dropped() -> None:
    report = _report(per_exercise=2, exercises=1)
    for test in report.exercises[0].tests:
        test.message, test.line = "same", 1
    assert len(annotations(report)) == 1


def test_notices_match_the_autograding_reporter() -> None:
    report = GradeReport("exercises", [ExerciseResult("a", "t", "partial", 7.5, 10.0)])
    assert notices(report) == [
        "::notice title=Autograding complete::Points 7.5/10",
        '::notice title=Autograding report::{"totalPoints":7.5,"maxPoints":10}',
    ]


def test_colour_rules(monkeypatch) -> None:
    class Tty:
        def isatty(self) -> bool:
            return True

    for name in ("NO_COLOR", "FORCE_COLOR", "TERM"):
        monkeypatch.delenv(name, raising=False)
    assert use_colour("auto", Tty()) is True
    assert use_colour("auto", object()) is False  # not a terminal
    monkeypatch.setenv("NO_COLOR", "1")
    assert use_colour("auto", Tty()) is False
    assert use_colour("always", object()) is True
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert use_colour("auto", object()) is True
    assert use_colour("never", Tty()) is False


def test_table_colours_status_and_clips_feedback_to_width() -> None:
    report = _report(per_exercise=1, exercises=1)
    report.exercises[0].message = "x" * 300
    plain = render_table(report, Painter(False), width=80)
    row = next(line for line in plain.splitlines() if line.startswith("  ex0"))
    assert len(row) == 80 and row.endswith("…")
    coloured = render_table(report, Painter(True), width=80)
    assert "\033[31mfailed\033[0m" in coloured
    assert "\033[" not in plain


def test_format_points() -> None:
    assert [format_points(v) for v in (7.0, 2.5, 10 / 3, 0)] == ["7", "2.5", "3.33", "0"]

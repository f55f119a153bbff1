"""The generated classroom workflow, run for real: its steps in order, `run:` steps with bash in
a student checkout, the actions replaced by stand-ins that follow GitHub's (actions_standin).

The checkout is a release of the grader's fixture exercise set (three exercises, partial credit
in halves), and, in the slow test, of this repository's own five exercises. What must hold: the
push is graded once; the reporter's total equals the grader's own to the hundredth; exactly one
`Autograding report` notice; a tampered suite costs its exercise's points in CI.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.instructor.release import build_release
from grader.instructor.workflow import GRADE_COMMAND, WORKFLOW_PATH
from grader.metadata import REPO_ROOT, load_exercises

from .actions_standin import JobRun, reporter, run_job
from .conftest import real_partial, submission

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="run: steps need bash")

SUMMARY_TOTAL = re.compile(r"^### Autograding \(exercises\): ([\d.]+)/([\d.]+) points$", re.M)


@pytest.fixture(scope="session")
def setup_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """setup-python's stand-in: a fresh virtual environment that sees this interpreter's
    packages (pytest and friends), into which the workflow's install step really installs."""
    venv = tmp_path_factory.mktemp("setup-python") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                   check=True, timeout=300)
    return venv / "bin"


@pytest.fixture(scope="session")
def template(graded_source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_release(graded_source, tmp_path_factory.mktemp("template") / "repo").root


def checkout(template: Path, destination: Path, files_from: Path | None = None) -> Path:
    """A student's repository at a push: the template, with their exercise files committed."""
    shutil.copytree(template, destination)
    if files_from is not None:
        for path in files_from.glob("*.py"):
            shutil.copy2(path, destination / "exercises" / path.name)
    return destination


def run_workflow(workspace: Path, python_bin: Path, scratch: Path) -> JobRun:
    return run_job(workspace / WORKFLOW_PATH, workspace, python_bin, scratch)


def grader_total(job: JobRun) -> tuple[float, float]:
    """The grader's own total, from the job summary the grading step wrote."""
    (match,) = SUMMARY_TOTAL.findall(job.step("Grade").summary)
    return float(match[0]), float(match[1])


def reporter_total(job: JobRun) -> tuple[float, float]:
    (report,) = job.notices("Autograding report")
    match = re.fullmatch(r'\{"totalPoints":([-\d.e]+),"maxPoints":([\d.]+)\}', report)
    assert match, report
    return float(match[1]), float(match[2])


def check_graded_once(job: JobRun) -> None:
    graded = [s.name for s in job.steps if "Total: " in s.stdout]  # the grader's table
    assert graded == [job.step("Grade").name]
    assert job.step("Grade").stdout.count("\nTotal: ") == 1
    assert len(job.notices("Autograding report")) == 1
    assert len(job.notices("Autograding complete")) == 1


@pytest.mark.parametrize("case, files, expected, success", [
    ("stubs", None, (0.0, 21.0), False),
    ("solutions", "solutions", (21.0, 21.0), True),
    ("partial", "partial", (16.0, 21.0), False),
])
def test_the_workflow_grades_once_and_reports_the_graders_total(
        case: str, files: str | None, expected: tuple[float, float], success: bool,
        template: Path, graded_source: Path, setup_python: Path, tmp_path: Path) -> None:
    source = (graded_source / "solutions" if files == "solutions"
              else submission(files) if files else None)
    workspace = checkout(template, tmp_path / "student", source)
    job = run_workflow(workspace, setup_python, tmp_path / "runner")

    assert [s.outcome for s in job.steps[:4]] == ["success"] * 4, job.steps
    assert job.step("Autograding Reporter").outcome == ("success" if success else "failure")
    check_graded_once(job)
    total = reporter_total(job)
    assert grader_total(job) == expected
    assert total == expected  # exactly: no 99.99999999999997
    (complete,) = job.notices("Autograding complete")
    assert complete == f"Points {expected[0]:g}/{expected[1]:g}"
    # One output per exercise, and the annotations at the student's lines.
    ids = [e.name.replace("_", "-") for e in load_exercises(workspace / "info.toml")]
    assert list(job.step("Grade").outputs) == ids
    if case == "partial":
        annotations = [props for props, _ in job.commands("error") if "file" in props]
        assert {(p["file"], p["line"]) for p in annotations} == {
            ("exercises/counter.py", "1"), ("exercises/greeting.py", "1")}


def test_a_tampered_suite_costs_its_exercise_in_the_workflow(
        template: Path, setup_python: Path, tmp_path: Path) -> None:
    workspace = checkout(template, tmp_path / "student", submission("partial"))
    suite = workspace / "tests" / "test_counter.py"
    # The student "fixes" the test they fail instead of their code.
    suite.write_text(suite.read_text(encoding="utf-8").replace(
        "if result != -5:", "if result != 5:"), encoding="utf-8")
    job = run_workflow(workspace, setup_python, tmp_path / "runner")

    # counter (7.5 of 10 untampered, 10 with the edited test) scores 0; the others count.
    assert grader_total(job) == (8.5, 21.0)
    assert reporter_total(job) == (8.5, 21.0)
    grade = job.step("Grade")
    assert "tests/test_counter.py" in grade.summary
    assert "git checkout $(git rev-list --max-parents=0 HEAD) -- tests/test_counter.py" in (
        grade.stdout)
    assert job.step("Autograding Reporter").outcome == "failure"


def test_the_grading_step_fails_loudly_outside_a_workflow(template: Path, tmp_path: Path) -> None:
    """--classroom without $GITHUB_OUTPUT is a usage error, not a silent run."""
    workspace = checkout(template, tmp_path / "student")
    command = GRADE_COMMAND.split()
    assert command[0] == "python" and command[-3:] == ["-m", "grader", "--classroom"]
    env = {"PATH": str(Path(sys.executable).parent), "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, *command[1:]], cwd=workspace, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and "GITHUB_OUTPUT" in done.stderr


# -- the stand-in reporter follows the facts ------------------------------------------------------

def _encoded(status: str, max_score: float, scores: list[float]) -> str:
    import base64
    import json

    tests = [{"name": f"t{i}", "status": "pass", "score": s, "message": "", "test_code": "",
              "filename": "", "line_no": 0, "duration": 0} for i, s in enumerate(scores)]
    data = {"version": 1, "status": status, "max_score": max_score, "tests": tests}
    return base64.b64encode(json.dumps(data).encode()).decode()


def test_reporter_standin_sums_test_scores_and_fails_on_fail_or_error() -> None:
    env = {"A-B_RESULTS": _encoded("pass", 10, [2.5, 7.5]),
           "C_RESULTS": _encoded("fail", 5, [1.25])}
    code, out = reporter({"runners": "a-b, c"}, env)
    assert code == 1
    assert "::notice title=Autograding complete::Points 11.25/15" in out
    assert '::notice title=Autograding report::{"totalPoints":11.25,"maxPoints":15}' in out
    code, out = reporter({"runners": "a-b"}, env)
    assert code == 0 and "Points 10/10" in out
    code, out = reporter({"runners": "c"}, {"C_RESULTS": _encoded("error", 5, [5])})
    assert code == 1 and "errored" in out
    code, _ = reporter({"runners": "missing"}, env)
    assert code == 1


@pytest.fixture(scope="session")
def real_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_release(REPO_ROOT, tmp_path_factory.mktemp("real") / "template").root


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("case", ["solutions", "partial"])
def test_the_real_exercise_set_through_the_workflow(case: str, real_template: Path,
                                                    setup_python: Path, tmp_path: Path) -> None:
    """This repository's five exercises; the reporter's total is the grader's. The partial
    submission (two exercises solved, one half done, two stubs) takes every path of a failing
    grading that the stubs alone would (their score is the suites' business:
    selfcheck/test_suites_judge.py); the solutions take the path of full marks."""
    exercises = load_exercises(REPO_ROOT / "info.toml")
    files = {"solutions": REPO_ROOT / "solutions", "partial": real_partial(tmp_path / "partial")}[case]
    workspace = checkout(real_template, tmp_path / "student", files)
    job = run_workflow(workspace, setup_python, tmp_path / "runner")
    check_graded_once(job)
    graded = grader_total(job)
    maximum = float(sum(e.points for e in exercises))
    if case == "partial":  # more than the two solved exercises, less than the third as well
        low = float(sum(e.points for e in exercises[:2]))
        assert low < graded[0] < low + exercises[2].points, job.step("Grade").stdout
    else:
        assert graded == (maximum, maximum), job.step("Grade").stdout
    passed = graded[0] == maximum
    assert job.step("Autograding Reporter").outcome == ("success" if passed else "failure")
    assert reporter_total(job) == graded  # exactly, not only to the hundredth
    print(f"{case}: grader {graded}, reporter {reporter_total(job)}")

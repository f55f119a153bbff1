"""`python -m grader new`: an instructor's own exercise, from scaffold to release.

In a temporary copy of this repository: `grader new semaphore_pool` writes the five pieces;
`grader check` names what is still to write (the placeholders, a rule with no test, the failing
solution); once the author has written the stub, the solution and one test per rule, `grader
check` passes, and the workflow, the release and the Gradescope zip have the exercise with no
other change.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

import pytest

from grader import cli
from grader.instructor.gradescope.build import build_autograder
from grader.instructor.new.authoring import marked_tests, rule_ids, to_do
from grader.instructor.release import build_release
from grader.instructor.workflow import WORKFLOW_PATH
from grader.metadata import REPO_ROOT, load_exercises

NAME = "semaphore_pool"
TITLE = 'A pool of slots: "at most" N processes'
SKIP = shutil.ignore_patterns(".venv", ".git", "__pycache__", ".hypothesis", ".pytest_cache",
                              ".ruff_cache", "grading-results", "selfcheck", "benchmarks",
                              "*.egg-info")

STUB = '''"""A pool of slots: every process adds its work to one shared total."""

from multiprocessing import *


def work(total, lock, times):
    for _ in range(times):
        # TODO: another process can write between this read and this write (rule S1).
        total.value += 1


def run(processes=4, times=10):
    if processes < 1:
        raise ValueError("at least one process")
    total = RawValue("i", 0)
    lock = Lock()
    children = [Process(target=work, args=(total, lock, times)) for _ in range(processes)]
    for child in children:
        child.start()
    for child in children:
        child.join()
    return total.value
'''
SOLUTION = STUB.replace(
    "        # TODO: another process can write between this read and this write (rule S1).\n"
    "        total.value += 1\n",
    "        with lock:\n            total.value += 1\n")
INSTRUCTIONS = """# A pool of slots

## What to do

* `run(processes=4, times=10)` returns the total of every process's work: `run(4, 10)`
  returns `40` (rule S1).
* Fewer than one process is a mistake: `run(0, 10)` raises `ValueError` (rule S2).
"""


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return Path(shutil.copytree(REPO_ROOT, tmp_path / "repo", ignore=SKIP))


def check(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = cli.main(["check", "--root", str(root), "--exercise", NAME, "-q", "--color", "never"])
    return code, capsys.readouterr().out


def test_new_writes_an_exercise_that_check_workflow_release_and_gradescope_handle(
        repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["new", NAME, "--title", TITLE, "--root", str(repo)]) == 0
    exercise = load_exercises(repo / "info.toml")[-1]
    assert (exercise.name, exercise.module, exercise.title) == (NAME, NAME, TITLE)
    for name in (exercise.stub_file, exercise.instructions_file, f"solutions/{NAME}.py",
                 exercise.test_file):
        assert (repo / name).is_file(), name
    # The scaffold's suite is in the suites' style: one test per rule, marked with it.
    rules = rule_ids((repo / exercise.instructions_file).read_text(encoding="utf-8"))
    tests = marked_tests((repo / exercise.test_file).read_text(encoding="utf-8"))
    assert rules == ["S1", "S2"] and sorted(i for ids in tests.values() for i in ids) == rules
    assert "student_module(MODULE)" in (repo / exercise.test_file).read_text(encoding="utf-8")
    # The workflow was regenerated with it: `workflow --check` passes without another step.
    workflow = repo / WORKFLOW_PATH
    assert "semaphore-pool" in workflow.read_text(encoding="utf-8")
    assert cli.main(["workflow", "--check", "--metadata", str(repo / "info.toml"),
                     "--output", str(workflow)]) == 0

    # Before the author fills it in, check names every file and what to do there.
    edit(repo / exercise.instructions_file, "(rule S2).",
         "(rule S2). Every process must have finished when `run` returns (rule S3).")
    code, out = check(repo, capsys)
    assert code == 1, out
    assert re.search(r"semaphore_pool +0/10 +0/10 +solution loses points", out), out
    for placeholder in (f"exercises/{NAME}.py:", f"exercises/{NAME}.md:", f"solutions/{NAME}.py:",
                        f"tests/test_{NAME}.py:"):
        assert f"  - {placeholder}" in out and "fill in" in out, (placeholder, out)
    assert f"info.toml: fill in the hint of {NAME}" in out
    assert (f"rule S3 of exercises/{NAME}.md has no test: mark the test that checks it "
            f"@pytest.mark.rule('S3') in tests/test_{NAME}.py") in out
    assert f"solutions/{NAME}.py loses points: Your code raised NotImplementedError" in out

    # The author writes the stub, the solution, the instructions, one test per rule and a hint.
    (repo / exercise.stub_file).write_text(STUB, encoding="utf-8")
    (repo / "solutions" / f"{NAME}.py").write_text(SOLUTION, encoding="utf-8")
    (repo / exercise.instructions_file).write_text(INSTRUCTIONS, encoding="utf-8")
    suite = repo / exercise.test_file
    text = suite.read_text(encoding="utf-8")
    suite.write_text("\n".join(line for line in text.splitlines() if "TODO(grader new)" not in line)
                     + "\n", encoding="utf-8")
    edit(repo / "info.toml", '"TODO(grader new): a nudge towards the idea, never the answer."',
         '"The read and the write of total.value must happen in one hold of the lock."')
    assert to_do(repo, load_exercises(repo / "info.toml")[-1]) == []
    code, out = check(repo, capsys)
    assert code == 0, out
    assert re.search(r"semaphore_pool +10/10 +[0-9.]+/10 +ok", out) and "check passed" in out

    # The release and the Gradescope zip take it from info.toml, like every other exercise.
    release = build_release(repo, tmp_path / "release").root
    for name in (exercise.stub_file, exercise.instructions_file, exercise.test_file):
        assert (release / name).read_bytes() == (repo / name).read_bytes(), name
    assert not (release / "solutions").exists()
    assert f"python -m grader --exercise {NAME}" in (release / "README.md").read_text()
    assert "semaphore-pool" in (release / WORKFLOW_PATH).read_text(encoding="utf-8")
    entries = build_autograder(repo, tmp_path / "autograder.zip")
    assert exercise.test_file in entries and not any(e.startswith("solutions/") for e in entries)
    with zipfile.ZipFile(tmp_path / "autograder.zip") as archive:
        assert f'name = "{NAME}"' in archive.read("info.toml").decode("utf-8")


@pytest.mark.parametrize("args, fragment", [
    (["new", "Semaphore-Pool", "--title", "x"], "cannot be an exercise name"),
    (["new", "bank_account", "--title", "x"], "already has an exercise called 'bank_account'"),
    (["new", NAME], "the following arguments are required: --title"),
])
def test_new_refuses_a_bad_name_a_taken_name_and_no_title(
        args: list[str], fragment: str, repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = (repo / "info.toml").read_text(encoding="utf-8")
    assert cli.main([*args, "--root", str(repo)]) == 2
    assert fragment in capsys.readouterr().err
    assert (repo / "info.toml").read_text(encoding="utf-8") == before
    assert not (repo / "exercises" / f"{NAME}.py").exists()


def test_new_picks_a_rule_letter_no_other_exercise_uses(repo: Path) -> None:
    # shared_value's rules are W1.., so a name starting with w gets its next letter.
    assert cli.main(["new", "waiting_room", "--title", "Waiting", "--root", str(repo)]) == 0
    rules = rule_ids((repo / "exercises" / "waiting_room.md").read_text(encoding="utf-8"))
    assert rules == ["A1", "A2"]


def test_check_names_a_marker_of_no_rule_a_test_of_no_rule_and_a_missing_solution(
        tmp_path: Path) -> None:
    from grader.metadata import Exercise

    exercise = Exercise("pool", "pool", "Pool", 10, 60)
    (tmp_path / "exercises").mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "exercises" / "pool.py").write_text("def run():\n    return 0\n")
    (tmp_path / "exercises" / "pool.md").write_text(
        "* `run()` returns the total (rule P1).\n\n```\nnot a rule (rule P9)\n```\n")
    (tmp_path / "tests" / "test_pool.py").write_text(
        "import pytest\n\n\n@pytest.mark.rule('P1', 'P2')\ndef test_total():\n    pass\n\n\n"
        "def test_other():\n    pass\n")
    assert to_do(tmp_path, exercise) == [
        "solutions/pool.py is missing: write the solution",
        "tests/test_pool.py marks rule P2, which exercises/pool.md does not state: end the "
        "rule's sentence with (rule P2)",
        "tests/test_pool.py::test_other names no rule: mark it @pytest.mark.rule(...) with the "
        "rule it checks",
    ]
    (tmp_path / "solutions").mkdir()
    (tmp_path / "solutions" / "pool.py").write_text("def run():\n    return 0\n")
    (tmp_path / "tests" / "test_pool.py").write_text(
        "import pytest\n\n\n@pytest.mark.rule('P1')\ndef test_total():\n    pass\n")
    assert to_do(tmp_path, exercise) == []

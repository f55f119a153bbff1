"""A private answer key (info.toml `answer_key_private = true`): the release leaves it out, the
student's own check confirms the answers' format and says who grades them, and the
instructor's grading, from the repository that has the key, scores them."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from grader.instructor.release import build_release
from grader.metadata import REPO_ROOT, exercise_by_name

from .conftest import run_python

KEY = exercise_by_name("lesson_questions").answer_key
SOLVED = (REPO_ROOT / "solutions" / "lesson_questions.py").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def private_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This repository with its answer key marked private."""
    repo = tmp_path_factory.mktemp("private") / "repo"
    shutil.copytree(REPO_ROOT, repo, ignore=shutil.ignore_patterns(
        ".git", ".venv", "__pycache__", "grading-results", ".pytest_cache", ".hypothesis"))
    info = repo / "info.toml"
    text = info.read_text(encoding="utf-8")
    assert text.count("answer_key_private = false") == 1
    info.write_text(text.replace("answer_key_private = false", "answer_key_private = true"), encoding="utf-8")
    return repo


def graded(checkout: Path, answers: str, out: Path) -> dict:
    (checkout / "exercises" / "lesson_questions.py").write_text(answers, encoding="utf-8")
    run_python(["-m", "grader", "--exercise", "lesson_questions", "--json", str(out), "-q", "--no-report"],
               cwd=checkout)
    return json.loads(out.read_text(encoding="utf-8"))["exercises"][0]


def test_the_key_is_in_the_release_unless_private(private_repo: Path, tmp_path: Path) -> None:
    assert KEY and (REPO_ROOT / KEY).is_file()
    public = build_release(REPO_ROOT, tmp_path / "public")
    private = build_release(private_repo, tmp_path / "private")
    assert KEY in public.files and KEY in public.hashed
    assert KEY not in private.files and not (private.root / KEY).exists()


def test_without_the_key_the_students_check_confirms_the_format_and_says_who_grades(
        private_repo: Path, tmp_path: Path) -> None:
    release = build_release(private_repo, tmp_path / "release").root
    right = graded(release, SOLVED, tmp_path / "right.json")
    assert right["score"] == 0 and [t["status"] for t in right["tests"]] == ["skipped", "skipped"]
    assert "Your instructor's grading scores it" in right["message"], right["message"]
    assert "question 1, C," in right["message"]
    wrong = graded(release, SOLVED.replace('QUESTION_2: str | None = "B"', "QUESTION_2 = 2"),
                   tmp_path / "wrong.json")
    statuses = {t["name"].split("_why")[0].split("_how")[0]: t["status"] for t in wrong["tests"]}
    assert statuses == {"test_question_1": "skipped", "test_question_2": "failed"}, wrong
    assert "QUESTION_2 is 2: set it to the letter" in wrong["message"]


@pytest.mark.slow
def test_the_instructors_grading_with_the_key_scores_the_answers(private_repo: Path, tmp_path: Path) -> None:
    release = build_release(private_repo, tmp_path / "release").root
    students = {}
    for name, text in {"right": SOLVED, "wrong": SOLVED.replace('= "B"', '= "D"')}.items():
        students[name] = tmp_path / name
        shutil.copytree(release, students[name])
        (students[name] / "exercises" / "lesson_questions.py").write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    done = run_python(["-m", "grader", "batch", *map(str, students.values()), "--tests-from",
                       str(private_repo), "--manifest", str(release / ".grader-manifest.json"),
                       "--exercise", "lesson_questions", "--out", str(out)], cwd=private_repo)
    assert done.returncode == 0, done.stdout + done.stderr
    with (out / "grades.csv").open(newline="", encoding="utf-8") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    assert (rows["right"]["lesson_questions"], rows["wrong"]["lesson_questions"]) == ("10", "5")

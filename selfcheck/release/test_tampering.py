"""What tampering costs (grader.grading.tampered_exercises): on GitHub Actions the exercises decided by changed
protected files score 0 with a message saying how to restore them; locally the grader grades
and warns; with --tests-from (pristine tests) nothing is withheld."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader import cli
from grader.grading.tampered_exercises import files_touching
from grader.instructor.release import build_release
from grader.metadata import Exercise


@pytest.fixture
def student(fixture_repo: Path, tmp_path: Path) -> Path:
    """A fresh release of the stand-in repository with both exercises solved."""
    root = build_release(fixture_repo, tmp_path / "student").root
    for module in ("adder", "shared_total"):
        (root / "exercises" / f"{module}.py").write_text(
            (fixture_repo / "solutions" / f"{module}.py").read_text(encoding="utf-8"))
    return root


def grade(root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
          capsys: pytest.CaptureFixture[str], *args: str, ci: bool) -> tuple[int, dict, str]:
    for name in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT"):
        monkeypatch.delenv(name, raising=False)
    if ci:
        monkeypatch.setenv("GITHUB_ACTIONS", "true")
    out = tmp_path / "results.json"
    code = cli.main(["--root", str(root), "--json", str(out), "-q", "--color", "never", *args])
    stdout = capsys.readouterr().out
    return code, json.loads(out.read_text(encoding="utf-8")), stdout


def scores(data: dict) -> dict[str, float]:
    return {e["name"]: e["score"] for e in data["exercises"]}


def edit_suite(root: Path) -> None:
    suite = root / "tests" / "test_adder.py"
    suite.write_text(suite.read_text(encoding="utf-8") + "\n# mine now\n", encoding="utf-8")


def test_an_untouched_checkout_keeps_its_points_in_ci(student: Path, tmp_path: Path, monkeypatch,
                                                      capsys) -> None:
    code, data, _ = grade(student, tmp_path, monkeypatch, capsys, ci=True)
    assert (code, scores(data), data["tampered"]) == (0, {"adder": 6, "shared_total": 4}, [])


def test_an_edited_suite_costs_its_exercise_in_ci_only(student: Path, tmp_path: Path,
                                                       monkeypatch, capsys) -> None:
    edit_suite(student)
    code, data, stdout = grade(student, tmp_path, monkeypatch, capsys, ci=True)
    assert code == 1 and scores(data) == {"adder": 0, "shared_total": 4}
    (adder,) = [e for e in data["exercises"] if e["name"] == "adder"]
    assert adder["status"] == "error"
    assert "tests/test_adder.py" in adder["message"]
    assert "git checkout $(git rev-list --max-parents=0 HEAD) -- tests/test_adder.py" in (
        adder["message"])
    assert "::error title=adder%3A integrity::Not graded" in stdout  # annotated too

    # Locally: graded as usual, with the warning.
    code, data, stdout = grade(student, tmp_path, monkeypatch, capsys, ci=False)
    assert code == 0 and scores(data) == {"adder": 6, "shared_total": 4}
    assert data["tampered"] == ["tests/test_adder.py"]
    assert "Warning: files that decide the grade differ from the release" in stdout


def test_shared_files_cost_every_exercise(student: Path, tmp_path: Path, monkeypatch,
                                          capsys) -> None:
    (student / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    _, data, _ = grade(student, tmp_path, monkeypatch, capsys, ci=True)
    assert scores(data) == {"adder": 0, "shared_total": 0}
    assert all("pytest.ini" in e["message"] for e in data["exercises"])


def test_pristine_tests_from_the_instructor_withhold_nothing(
        student: Path, fixture_repo: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    edit_suite(student)
    _, data, _ = grade(student, tmp_path, monkeypatch, capsys, "--tests-from", str(fixture_repo),
                       ci=True)
    assert scores(data) == {"adder": 6, "shared_total": 4}
    assert data["tampered"] == ["tests/test_adder.py"]  # still reported


def test_which_files_touch_which_exercise() -> None:
    a, b = Exercise("a", "a", "t", 1, 1), Exercise("b", "b", "t", 1, 1)
    changed = ["tests/test_a.py", "tests/test_b.py", "info.toml"]
    assert files_touching(a, changed, [a, b]) == ["tests/test_a.py", "info.toml"]
    assert files_touching(b, ["tests/test_a.py"], [a, b]) == []
    assert files_touching(b, ["tests/conftest.py"], [a, b]) == ["tests/conftest.py"]

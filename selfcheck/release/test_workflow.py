"""The workflows: the students' one is generated from info.toml and current; both are valid.

Validity is checked with check-jsonschema's GitHub-workflow schema, the one the CI linters use,
run as a separate process exactly as on the command line; a broken workflow is shown to fail it
so that a passing check means something.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from grader import cli
from grader.instructor.workflow import (
    GRADE_COMMAND,
    GRADE_STEP,
    REPORTER,
    UPLOAD_ARTIFACT,
    WORKFLOW_PATH,
    main,
    render,
    results_variable,
    step_id,
)
from grader.metadata import METADATA_FILE, REPO_ROOT, Exercise, load_exercises

CLASSROOM = REPO_ROOT / WORKFLOW_PATH
CI = REPO_ROOT / ".github/workflows/ci.yml"


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
         str(path)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def load(path: Path) -> dict:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def steps(workflow: dict) -> list[dict]:
    (job,) = workflow["jobs"].values()
    return job["steps"]


@pytest.mark.parametrize("path", [CLASSROOM, CI], ids=["classroom.yml", "ci.yml"])
def test_workflow_is_valid(path: Path) -> None:
    result = validate(path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_validator_rejects_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    text = CLASSROOM.read_text(encoding="utf-8").replace("runs-on: ubuntu-latest", "runs_on: x")
    broken.write_text(text, encoding="utf-8")
    result = validate(broken)
    assert result.returncode == 1, result.stdout + result.stderr


def test_committed_classroom_workflow_is_current() -> None:
    assert CLASSROOM.read_text(encoding="utf-8") == render(load_exercises()), (
        "the workflow is out of date: run `python -m grader workflow` and commit the result"
    )


def test_classroom_workflow_has_the_autograding_shape() -> None:
    workflow = load(CLASSROOM)
    assert workflow["name"] == "Autograding Tests"  # what Classroom's tools looked for
    assert set(workflow["on"]) == {"push", "workflow_dispatch"}
    ((name, job),) = workflow["jobs"].items()
    assert name == "run-autograding-tests" and job["runs-on"] == "ubuntu-latest"
    uses = [s.get("uses", "") for s in job["steps"]]
    assert uses[0].startswith("actions/checkout@") and uses[1].startswith("actions/setup-python@")
    install = job["steps"][2]["run"]
    assert install in ("python -m pip install -e .", "python -m pip install .")

    # One grading step (each push grades once), the reporter, and the report's upload.
    assert len(job["steps"]) == 6
    grade, reporter = job["steps"][3:5]
    # The grading interpreter checks every hash-based bytecode file against its source.
    assert grade["id"] == GRADE_STEP and grade["run"] == GRADE_COMMAND == (
        "python --check-hash-based-pycs always -m grader --classroom")
    assert "uses" not in grade and "if" not in grade
    exercises = load_exercises()
    # Minutes, never shorter than the grader's own budgets in seconds, within the job's.
    assert grade["timeout-minutes"] * 60 >= sum(e.timeout for e in exercises)
    assert job["timeout-minutes"] > grade["timeout-minutes"]

    assert reporter["uses"] == REPORTER and "if" not in reporter
    ids = [step_id(e) for e in exercises]
    assert reporter["with"]["runners"] == ",".join(ids)
    assert reporter["env"] == {
        f"{i.upper()}_RESULTS": f"${{{{steps.{GRADE_STEP}.outputs.{i}}}}}" for i in ids
    }
    upload = job["steps"][-1]  # the HTML report the grading step wrote, as an artifact
    assert upload["uses"] == UPLOAD_ARTIFACT and upload["with"]["path"] == "grading-results/"
    assert "!cancelled()" in upload["if"]


def test_ids_keep_hyphens_and_names_that_cannot_be_ids_are_refused() -> None:
    exercise = Exercise("lock_order", "lock_order", "t", 5, 60)
    assert step_id(exercise) == "lock-order"
    assert results_variable("lock-order") == "LOCK-ORDER_RESULTS"
    with pytest.raises(ValueError, match="output name"):
        step_id(Exercise("9 lives", "m", "t", 5, 60))


def test_another_exercise_set_renders_a_valid_workflow(tmp_path: Path) -> None:
    exercises = [Exercise("lock_order", "lock_order", 'Colons: "quotes" # and hashes', 7, 90),
                 Exercise("quiz", "quiz", "t", 3, 400)]
    path = tmp_path / "w.yml"
    path.write_text(render(exercises), encoding="utf-8")
    reporter = steps(load(path))[4]  # after checkout, setup, install and the grading step
    assert reporter["uses"] == REPORTER and reporter["with"]["runners"] == "lock-order,quiz"
    assert reporter["env"]["LOCK-ORDER_RESULTS"] == "${{steps.grade.outputs.lock-order}}"
    assert steps(load(path))[3]["timeout-minutes"] == 3 + 8  # 90 s and 400 s, plus a minute each
    assert validate(path).returncode == 0


def test_main_writes_and_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "classroom.yml"
    assert main(check=True, output=out) == 1
    assert cli.main(["workflow", "--output", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == render(load_exercises(METADATA_FILE))
    assert cli.main(["workflow", "--check", "--output", str(out)]) == 0
    assert cli.main(["workflow", "--no-such-option"]) == 2


def readme_quick_start() -> list[str]:
    """The commands of README.md's Quick start block, `a && b` counted as two."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("## Quick start", 1)[1].split("```", 2)[1]
    return [c.strip() for line in block.splitlines() if line.strip() for c in line.split("&&")]


def test_ci_runs_the_readme_commands_everywhere() -> None:
    (job,) = [j for name, j in load(CI)["jobs"].items() if name == "selfcheck"]
    matrix = job["strategy"]["matrix"]
    assert set(matrix["os"]) == {"ubuntu-latest", "macos-latest", "windows-latest"}
    assert matrix["python-version"] == ["3.11", "3.12", "3.13", "3.14"]
    runs = [s["run"] for s in job["steps"] if "run" in s]
    assert [r for r in runs if r.split()[:4] == ["python", "-m", "pytest", "selfcheck"]]
    assert runs == readme_quick_start()
    # PowerShell on Windows: plain commands only, no bash-isms.
    assert not [r for r in runs if any(t in r for t in ("&&", "||", "$(", "export ", "source "))]

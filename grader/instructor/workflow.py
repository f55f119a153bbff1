"""`python -m grader workflow`: write the students' GitHub Actions workflow from info.toml.

The workflow keeps the shape GitHub Classroom's autograding generated (checkout, Python, install,
then GitHub's grading reporter, which still runs as a plain action) but grades once: a single
step runs `python -m grader --classroom` (with bytecode checked against its source), which writes the job summary and the annotations and,
as step outputs, one result per exercise in the reporter's format with per-test scores, so
partial credit reaches the reporter's total. The reporter prints the one score notice of the
run and fails the job when points were lost. Generated, never hand-edited: the self-check fails
when the committed file no longer matches info.toml.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from grader.formats.classroom import runner_id
from grader.metadata import METADATA_FILE, REPO_ROOT, Exercise, load_exercises

WORKFLOW_PATH = Path(".github/workflows/classroom.yml")
PYTHON_VERSION = "3.12"
REPORTER = "classroom-resources/autograding-grading-reporter@v1"
UPLOAD_ARTIFACT = "actions/upload-artifact@v4"
INSTALL_MINUTES = 5
GRADE_STEP = "grade"
# The grading step's interpreter checks every hash-based bytecode file against its source, so
# a file a checkout ships in a __pycache__ folder cannot run instead of the grader's own code
# (docs/threat-model.md); the judge it starts does the same (grader/grading/runner.py).
GRADE_INTERPRETER_OPTIONS = ("--check-hash-based-pycs", "always")
GRADE_COMMAND = " ".join(("python", *GRADE_INTERPRETER_OPTIONS, "-m", "grader", "--classroom"))
_STEP_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def step_id(exercise: Exercise) -> str:
    """The runner id (the grading step's output name) for an exercise: hyphens for underscores,
    as Classroom spelled its step ids (grader.formats.classroom writes the same name)."""
    identifier = runner_id(exercise.name)
    if not _STEP_ID.match(identifier):
        raise ValueError(f"exercise name {exercise.name!r} cannot be a workflow output name")
    return identifier


def results_variable(identifier: str) -> str:
    """The env var the reporter reads for a runner: `<ID>_RESULTS`, upper-cased, hyphens kept."""
    return f"{identifier.upper()}_RESULTS"


def step_timeout_minutes(exercise: Exercise) -> int:
    """An exercise's backstop in whole minutes: the grader's own budget plus a minute to start."""
    return math.ceil(exercise.timeout / 60) + 1


def grade_timeout_minutes(exercises: Sequence[Exercise]) -> int:
    """The grading step's backstop: every exercise's, as they run one after the other."""
    return sum(step_timeout_minutes(e) for e in exercises)


def _quoted(text: str) -> str:
    # A JSON string is a valid YAML double-quoted scalar: titles may hold ':' '#' or quotes.
    return json.dumps(text)


def render(exercises: Sequence[Exercise]) -> str:
    """The whole workflow file as text (deterministic, so it can be compared byte for byte)."""
    if not exercises:
        raise ValueError("info.toml lists no exercises")
    ids = [step_id(exercise) for exercise in exercises]
    if len(set(ids)) != len(ids):
        raise ValueError(f"exercise names collide as step ids: {ids}")
    grading_minutes = grade_timeout_minutes(exercises)
    job_minutes = INSTALL_MINUTES + grading_minutes
    lines = [
        "# Generated from info.toml by `python -m grader workflow`: do not edit by hand.",
        "# One grading run: the job summary, the annotations on your lines and one result per",
        "# exercise (partial credit included), which GitHub's autograding reporter adds up.",
        "name: Autograding Tests",
        '"on":',
        "  - push",
        "  - workflow_dispatch",
        "permissions:",
        "  checks: write",
        "  actions: read",
        "  contents: read",
        "jobs:",
        "  run-autograding-tests:",
        "    runs-on: ubuntu-latest",
        "    if: github.actor != 'github-classroom[bot]'",
        f"    timeout-minutes: {job_minutes}",
        "    steps:",
        "      - name: Checkout code",
        "        uses: actions/checkout@v4",
        "      - name: Set up Python",
        "        uses: actions/setup-python@v5",
        "        with:",
        f"          python-version: {_quoted(PYTHON_VERSION)}",
        "      - name: Install the exercises and the grader",
        "        id: install",
        "        run: python -m pip install -e .",
        "      - name: Grade (job summary, annotations, one result per exercise)",
        f"        id: {GRADE_STEP}",
        f"        timeout-minutes: {grading_minutes}",
        f"        run: {GRADE_COMMAND}",
        "      - name: Autograding Reporter",
        f"        uses: {REPORTER}",
        "        env:",
    ]
    lines += [
        f'          {results_variable(identifier)}: "${{{{steps.{GRADE_STEP}.outputs.{identifier}}}}}"'
        for identifier in ids
    ]
    lines += [
        "        with:",
        f"          runners: {','.join(ids)}",
        # The HTML report (timelines of concurrency failures) that the grading step wrote.
        "      - name: Upload the grading report",
        "        if: ${{ !cancelled() && steps.install.outcome == 'success' }}",
        f"        uses: {UPLOAD_ARTIFACT}",
        "        with:",
        "          name: grading-report",
        "          path: grading-results/",
        "          if-no-files-found: ignore",
    ]
    return "\n".join(lines) + "\n"


def render_file(metadata: Path = METADATA_FILE) -> str:
    """The workflow for the exercise set in `metadata`."""
    return render(load_exercises(metadata))


def parser() -> argparse.ArgumentParser:
    """`python -m grader workflow`'s options: main()'s keywords, with its defaults."""
    parser = argparse.ArgumentParser(
        prog="python -m grader workflow",
        description="Write .github/workflows/classroom.yml from info.toml.",
        argument_default=argparse.SUPPRESS,
    )
    parser.add_argument("--metadata", type=Path, help="the info.toml")
    parser.add_argument("--output", type=Path, help="where to write it")
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 when the file is out of date"
    )
    return parser


def main(*, metadata: Path = METADATA_FILE, output: Path = REPO_ROOT / WORKFLOW_PATH,
         check: bool = False) -> int:
    """Write the workflow for the exercise set in `metadata` (info.toml) to `output`, or with
    `check` write nothing and compare; 0 done/current, 1 out of date, 2 when it cannot be made."""
    try:
        text = render_file(metadata)
    except (OSError, KeyError, ValueError) as error:
        print(f"grader workflow: {error}", file=sys.stderr)
        return 2
    current = output.read_text(encoding="utf-8") if output.is_file() else None
    if check:
        if current == text:
            print(f"{output} is up to date")
            return 0
        print(f"{output} is out of date: run `python -m grader workflow`", file=sys.stderr)
        return 1
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8", newline="\n")
    print(f"wrote {output}")
    return 0

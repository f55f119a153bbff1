"""Golden files, as Exercism's test runner does: a fixed set of submissions (fixtures/repo) and,
for each, the expected terminal and GitHub output, JSON results, Gradescope results and job
summary (golden/<case>/), compared exactly after normalising durations and the scratch path.

Each case is one grading run with GITHUB_ACTIONS=true, so stdout holds the plain table followed
by the annotations and notices.

To regenerate the goldens after an intended change, run

    UPDATE_GOLDEN=1 python -m pytest selfcheck/grader/test_golden.py

and review the diff of selfcheck/grader/golden/ before committing it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

SCHEMAS = Path(__file__).resolve().parents[2] / "grader" / "schemas"
GOLDEN_DIR = Path(__file__).resolve().parent / "golden"

# case -> (--target, expected exit code)
CASES = {
    "solutions": ("solutions", 0),
    "stubs": ("exercises", 1),
    "partial": ("submissions/partial", 1),
    "syntax_error": ("submissions/syntax_error", 1),
    "import_error": ("submissions/import_error", 1),
    "import_loop": ("submissions/import_loop", 1),
    "hang": ("submissions/hang", 1),
    "huge_output": ("submissions/huge_output", 1),
}


def schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))


def normalise(value: Any, root: str) -> Any:
    """Durations and execution times become 0; the scratch copy's path becomes <ROOT>."""
    if isinstance(value, dict):
        return {key: 0 if key in ("duration", "execution_time") else normalise(item, root)
                for key, item in value.items()}
    if isinstance(value, list):
        return [normalise(item, root) for item in value]
    if isinstance(value, str):
        return value.replace(root, "<ROOT>")
    return value


def check_golden(case: str, name: str, actual: str) -> None:
    path = GOLDEN_DIR / case / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    assert path.is_file(), f"no golden file {path}: run with UPDATE_GOLDEN=1 to create it"
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"{case}/{name} differs from its golden file"


# Where the student's code was stuck comes from a SIGUSR1 stack dump, and pytest-timeout's
# "took longer than" from SIGALRM: Windows has neither, so its messages differ there.
NEEDS_SIGNALS = {"import_loop", "hang"}
POSIX_ONLY = pytest.mark.skipif(sys.platform == "win32", reason="needs SIGUSR1 and SIGALRM")


@pytest.mark.parametrize("case", [pytest.param(case, marks=POSIX_ONLY) if case in NEEDS_SIGNALS
                                  else case for case in CASES])
def test_golden(case: str, fixture_repo: Path, grade, tmp_path: Path) -> None:
    target, expected_code = CASES[case]
    results = tmp_path / "out" / "results.json"
    gradescope = tmp_path / "out" / "gradescope.json"
    summary = tmp_path / "summary.md"
    run = grade(fixture_repo, "--target", target, "--json", str(results),
                "--gradescope", str(gradescope), "-q", "--color", "never",
                env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)})
    root = str(fixture_repo)

    assert run.code == expected_code, run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr

    data = json.loads(results.read_text(encoding="utf-8"))
    jsonschema.validate(data, schema("results"))
    assert data["version"] == 1
    gs = json.loads(gradescope.read_text(encoding="utf-8"))
    jsonschema.validate(gs, schema("gradescope"))
    assert gs["score"] == data["score"]

    check_golden(case, "stdout.txt", run.stdout.replace(root, "<ROOT>"))
    check_golden(case, "results.json", json.dumps(normalise(data, root), indent=2) + "\n")
    check_golden(case, "gradescope.json", json.dumps(normalise(gs, root), indent=2) + "\n")
    check_golden(case, "summary.md", summary.read_text(encoding="utf-8").replace(root, "<ROOT>"))

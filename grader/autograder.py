"""What a Gradescope autograder built by `python -m grader gradescope` does for one submission.

`run_autograder` calls `python -m grader.autograder --root ROOT` from ROOT/source. The tests
come from ROOT/source, as built (pristine: nothing the student uploads can replace them). The
submission's exercise modules are taken from the top level of the upload or from an
`exercises/` directory in it (at any depth, so a zip of the whole repository works), put into a
fresh copy of the source as `exercises/`, and graded there, so that messages name the student's
lines as `exercises/<module>.py:LINE`. Gradescope always gets a results.json: when the grader
itself fails, one that says so with a score of 0.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from grader.metadata import Exercise, load_exercises

GRADING_DIR = "grading"  # under the root: the copy of the source a submission is graded in
_NOT_CODE = frozenset({"tests", "grader", "solutions", "__pycache__", ".git"})


def find_submitted(submission: Path, module: str) -> Path | None:
    """The student's `<module>.py`: at the top level or in `exercises/`, the shallowest found."""
    for candidate in (submission / "exercises" / f"{module}.py", submission / f"{module}.py"):
        if candidate.is_file():
            return candidate
    found = [p for p in submission.rglob(f"{module}.py")
             if p.is_file() and not _NOT_CODE.intersection(p.relative_to(submission).parts)]
    found.sort(key=lambda p: (p.parent.name != "exercises", len(p.parts), str(p)))
    return found[0] if found else None


def prepare(source: Path, submission: Path, work: Path,
            exercises: Sequence[Exercise]) -> list[str]:
    """A fresh copy of the source at `work` with the submitted modules in exercises/; returns
    the files that were not submitted."""
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(source, work, ignore=shutil.ignore_patterns(
        "__pycache__", "*.pyc", "grading-results", "exercises"))
    (work / "exercises").mkdir()
    missing = []
    for exercise in exercises:
        found = find_submitted(submission, exercise.module)
        if found is None:
            missing.append(f"{exercise.module}.py")
        else:
            shutil.copyfile(found, work / "exercises" / f"{exercise.module}.py")
    return missing


def failure_results(message: str, started: float) -> dict[str, object]:
    """results.json for a run the grader could not finish: 0 points and why."""
    return {"score": 0.0, "execution_time": int(round(time.monotonic() - started)),
            "output": message, "visibility": "visible", "stdout_visibility": "visible",
            "tests": []}


def run(root: Path) -> int:
    """Grade ROOT/submission with ROOT/source's tests into ROOT/results/results.json."""
    started = time.monotonic()
    source, submission = root / "source", root / "submission"
    results = root / "results" / "results.json"
    results.parent.mkdir(parents=True, exist_ok=True)
    results.unlink(missing_ok=True)
    work = root / GRADING_DIR
    exercises = load_exercises(source / "info.toml")
    missing = prepare(source, submission, work, exercises)
    env = {k: v for k, v in os.environ.items()
           if k not in ("GITHUB_ACTIONS", "PYTHONPATH", "PYTEST_ADDOPTS")}
    command = [sys.executable, "-m", "grader", "--root", str(work), "--target", "exercises",
               "--gradescope", str(results), "--color", "never", "-q"]
    done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True,
                          check=False)
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    if done.returncode not in (0, 1) or not results.is_file():
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        data = failure_results("The autograder could not grade this submission (not your "
                               f"code's fault; tell your instructor):\n{tail}", started)
    else:
        data = json.loads(results.read_text(encoding="utf-8"))
        data["execution_time"] = int(round(time.monotonic() - started))
        if missing:
            data["output"] = ("Not submitted: " + ", ".join(missing) + " (upload them at the "
                              "top level or in exercises/).\n" + str(data.get("output", "")))
    results.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.autograder",
                                     description="Grade a Gradescope submission.")
    parser.add_argument("--root", type=Path, default=Path("/autograder"))
    args = parser.parse_args(argv)
    return run(args.root.resolve())


if __name__ == "__main__":
    sys.exit(main())

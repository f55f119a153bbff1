"""What a Gradescope autograder built by `python -m grader gradescope` does for one submission.

`run_autograder` calls `python -m grader.instructor.gradescope.autograder --root ROOT` from ROOT/source. The tests
come from ROOT/source, as built (pristine: nothing the student uploads can replace them). The
submission's exercise modules are taken from the top level of the upload or from an
`exercises/` directory in it (at any depth, so a zip of the whole repository works), put into a
fresh copy of the source as `exercises/`, and graded there, so that messages name the student's
lines as `exercises/<module>.py:LINE`. Only regular files are taken from the upload, never
through a symbolic link and at most MAX_FILE_BYTES each. Gradescope always gets a results.json:
when the upload cannot be graded or the grader itself fails, one that says so with a score of 0.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from grader.inert import inert_text
from grader.metadata import Exercise, load_exercises

MAX_FILE_BYTES = 1024 * 1024  # an exercise module larger than this is not a submission
GRADING_DIR = "grading"  # under the root: the copy of the source a submission is graded in
_NOT_CODE = frozenset({"tests", "grader", "solutions", "__pycache__", ".git"})


class SubmissionError(Exception):
    """The upload cannot be graded as it is; the message tells the student why."""


def _upload_name(submission: Path, path: Path) -> str:
    return inert_text(path.relative_to(submission).as_posix())


def _check_regular(submission: Path, path: Path) -> None:
    """`path` and every folder on the way to it from `submission` are real (no link, no device,
    no pipe): what the grader reads is what the student uploaded."""
    current = submission
    for part in path.relative_to(submission).parts:
        current = current / part
        mode = os.lstat(current).st_mode
        if stat.S_ISLNK(mode):
            raise SubmissionError(f"{_upload_name(submission, current)} is a symbolic link; upload "
                                  "the file itself. Nothing was graded (0 points).")
        if current != path and not stat.S_ISDIR(mode):
            raise SubmissionError(f"{_upload_name(submission, current)} is not a folder.")
    if not stat.S_ISREG(os.lstat(path).st_mode):
        raise SubmissionError(f"{_upload_name(submission, path)} is not a regular file (a device, "
                              "a pipe or a folder); upload the file itself. Nothing was graded "
                              "(0 points).")


def find_submitted(submission: Path, module: str) -> Path | None:
    """The student's `<module>.py`: at the top level or in `exercises/`, the shallowest found.
    Raises SubmissionError when what is found is not a regular file reached without links."""
    for candidate in (submission / "exercises" / f"{module}.py", submission / f"{module}.py"):
        if os.path.lexists(candidate):
            _check_regular(submission, candidate)
            return candidate
    found = [p for p in submission.rglob(f"{module}.py")
             if not _NOT_CODE.intersection(p.relative_to(submission).parts)]
    found.sort(key=lambda p: (p.parent.name != "exercises", len(p.parts), str(p)))
    if found:
        _check_regular(submission, found[0])
    return found[0] if found else None


def copy_submitted(found: Path, submission: Path, to: Path) -> None:
    """Copy a regular file, refusing one that is a link, special or larger than the cap."""
    descriptor = os.open(found, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    with open(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise SubmissionError(f"{_upload_name(submission, found)} is not a regular file.")
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise SubmissionError(f"{_upload_name(submission, found)} is larger than "
                              f"{MAX_FILE_BYTES // 1024} KiB: not an exercise file.")
    to.write_bytes(data)


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
            copy_submitted(found, submission, work / "exercises" / f"{exercise.module}.py")
    return missing


def failure_results(message: str, started: float) -> dict[str, object]:
    """results.json for a run the grader could not finish: 0 points and why."""
    return {"score": 0.0, "execution_time": int(round(time.monotonic() - started)),
            "output": message, "visibility": "visible", "stdout_visibility": "visible",
            "tests": []}


def run(root: Path) -> int:
    """Grade ROOT/submission with ROOT/source's tests into ROOT/results/results.json, which is
    written whatever happens (0 points and the reason when the submission cannot be graded)."""
    started = time.monotonic()
    results = root / "results" / "results.json"
    results.parent.mkdir(parents=True, exist_ok=True)
    results.unlink(missing_ok=True)
    try:
        data = _grade(root, results, started)
    except SubmissionError as error:
        data = failure_results(f"This upload cannot be graded: {error}", started)
    except Exception as error:  # noqa: BLE001 - whatever fails, Gradescope gets a results file
        data = failure_results("The autograder could not grade this submission (not your code's "
                               "fault; tell your instructor): "
                               + inert_text(f"{type(error).__name__}: {error}"), started)
    results.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


def _grade(root: Path, results: Path, started: float) -> dict[str, object]:
    source, submission = root / "source", root / "submission"
    work = root / GRADING_DIR
    exercises = load_exercises(source / "info.toml")
    missing = prepare(source, submission, work, exercises)
    env = {k: v for k, v in os.environ.items()
           if k not in ("GITHUB_ACTIONS", "PYTHONPATH", "PYTEST_ADDOPTS")}
    command = [sys.executable, "-m", "grader", "--root", str(work), "--target", "exercises",
               "--gradescope", str(results), "--color", "never", "-q"]
    done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True,
                          errors="replace", check=False)
    sys.stdout.write(inert_text(done.stdout))
    sys.stderr.write(inert_text(done.stderr))
    if done.returncode not in (0, 1) or not results.is_file():
        tail = inert_text("\n".join(done.stderr.strip().splitlines()[-5:]))
        return failure_results("The autograder could not grade this submission (not your "
                               f"code's fault; tell your instructor):\n{tail}", started)
    data = json.loads(results.read_text(encoding="utf-8"))
    data["execution_time"] = int(round(time.monotonic() - started))
    if missing:
        data["output"] = ("Not submitted: " + ", ".join(missing) + " (upload them at the "
                          "top level or in exercises/).\n" + str(data.get("output", "")))
    return data


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.instructor.gradescope.autograder",
                                     description="Grade a Gradescope submission.")
    parser.add_argument("--root", type=Path, default=Path("/autograder"))
    args = parser.parse_args(argv)
    return run(args.root.resolve())


if __name__ == "__main__":
    sys.exit(main())

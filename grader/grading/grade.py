"""Grade a target: run each exercise's suite in turn and gather the results into a GradeReport.

This is the one place that knows where things live: the graded repository (`root`), the
repository the tests and metadata come from (`tests_root`: the same, or a pristine checkout
given by `--tests-from` so that edited tests or weights cannot raise a grade) and the directory
of modules being judged (`target`).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from grader.grading.results import ExerciseResult, GradeReport
from grader.grading.runner import run_suite
from grader.grading.scoring import missing_suite, score_exercise
from grader.grading.tampered_exercises import files_touching, tampered_result
from grader.metadata import Exercise, load_exercises
from grader.paths import TARGET_NAMES


class UsageError(Exception):
    """A mistake on the command line (exit code 2), said in one sentence."""


class UsageParser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of exiting, so the CLI owns every exit code."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message}\n{self.format_usage().rstrip()}")


class Progress(Protocol):
    """Told about each exercise as it is graded, so a person sees the run move."""

    def start(self, index: int, total: int, exercise: Exercise) -> None: ...

    def done(self, result: ExerciseResult) -> None: ...


@dataclass(frozen=True)
class Setup:
    """Where one grading run reads from."""

    root: Path
    tests_root: Path
    target: Path
    target_label: str

    @property
    def metadata_file(self) -> Path:
        return self.tests_root / "info.toml"


def make_setup(root: str | Path, target: str, tests_from: str | Path | None = None) -> Setup:
    """Check the paths a person gave and resolve them; UsageError says what is wrong."""
    root_path = Path(root).resolve()
    tests_root = Path(tests_from).resolve() if tests_from else root_path
    for path, what in ((root_path, "--root"), (tests_root, "--tests-from")):
        if not (path / "info.toml").is_file():
            raise UsageError(f"{what} {path}: not an exercise repository (no info.toml there)")
    if target in TARGET_NAMES:
        target_path = root_path / target
        label = target
    else:
        target_path = Path(target)
        if not target_path.is_absolute() and not target_path.exists():
            target_path = root_path / target_path  # relative to the repository, as in the docs
        target_path = target_path.resolve()
        try:
            label = target_path.relative_to(root_path).as_posix()
        except ValueError:
            label = str(target_path)
    if not target_path.is_dir():
        raise UsageError(f"--target {target}: no such directory ({target_path})")
    return Setup(root_path, tests_root, target_path, label)


def select_exercises(setup: Setup, names: Sequence[str] | None) -> list[Exercise]:
    """The exercises to grade, in info.toml order; an unknown name is a usage error."""
    exercises = load_exercises(setup.metadata_file)
    if not names:
        return exercises
    chosen = []
    for name in names:
        match = next((e for e in exercises if name in (e.name, e.module)), None)
        if match is None:
            known = ", ".join(e.name for e in exercises)
            raise UsageError(f"no exercise called {name!r}; the exercises are: {known}")
        if match not in chosen:
            chosen.append(match)
    return [e for e in exercises if e in chosen]


def grade_exercise(setup: Setup, exercise: Exercise) -> ExerciseResult:
    """One exercise's suite, run within its time budget and scored."""
    if not (setup.tests_root / exercise.test_file).is_file():
        return missing_suite(exercise)
    run = run_suite(exercise.test_file, setup.target, setup.tests_root, setup.root,
                    float(exercise.timeout))
    return score_exercise(exercise, run)


def tampered_files(root: Path) -> list[str] | None:
    """Protected files changed since release (grader.grading.release_manifest), None without a manifest."""
    try:
        from grader.grading.release_manifest import changed_files
    except ImportError:
        return None
    return changed_files(root)


def grade(setup: Setup, exercises: Sequence[Exercise], progress: Progress | None = None,
          enforce_integrity: bool = False, require_manifest: bool = False) -> GradeReport:
    """Grade the exercises one after the other (the suites time concurrency: no parallel runs).

    With `enforce_integrity` (the grader runs in a workflow), an exercise whose protected files
    differ from the release's manifest is not run and scores 0 (grader.grading.tampered_exercises). With
    `require_manifest` too (a release's own grading step), a missing manifest costs every
    exercise, since deleting it must not turn the check off.
    """
    started = time.monotonic()
    tampered = tampered_files(setup.root)
    if enforce_integrity and require_manifest and tampered is None:
        from grader.grading.release_manifest import MANIFEST_NAME

        tampered = [f"{MANIFEST_NAME} (missing)"]
    every = load_exercises(setup.metadata_file) if enforce_integrity and tampered else []
    results = []
    for index, exercise in enumerate(exercises, start=1):
        if progress is not None:
            progress.start(index, len(exercises), exercise)
        touching = (files_touching(exercise, tampered, every)
                    if enforce_integrity and tampered else [])
        result = tampered_result(exercise, touching) if touching else grade_exercise(setup, exercise)
        if progress is not None:
            progress.done(result)
        results.append(result)
    return GradeReport(
        target=setup.target_label,
        exercises=results,
        duration=time.monotonic() - started,
        tampered=tampered,
    )

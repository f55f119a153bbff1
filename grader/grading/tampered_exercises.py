"""What tampering costs: in a workflow, an exercise whose protected files changed scores 0.

grader.grading.release_manifest finds the files that differ from the release's manifest; this module decides
which exercises they touch and what the student is told. An exercise's own suite
(`tests/test_<module>.py`) touches only that exercise; every other protected file (the grader,
the configuration, info.toml, the workflows, a forbidden pytest.ini, an unreadable manifest)
touches them all. Run locally the grader only warns; on GitHub Actions the touched exercises
are not graded at all, so a rewritten test never runs and never earns.

The limits: the student owns the repository, workflow and grader included, so this raises the
cost of tampering rather than preventing it. The authoritative grade is the instructor's
`python -m grader batch --tests-from PRISTINE`, which uses the instructor's own tests.
"""

from __future__ import annotations

from collections.abc import Sequence

from grader.grading.results import ERROR, ExerciseResult, TestResult
from grader.inert import inert_text
from grader.metadata import Exercise


def files_touching(exercise: Exercise, changed: Sequence[str],
                   exercises: Sequence[Exercise]) -> list[str]:
    """The changed files that decide `exercise`'s grade."""
    suites = {e.test_file for e in exercises}
    return [name for name in changed if name == exercise.test_file or name not in suites]


def restore_advice(files: Sequence[str]) -> str:
    """How a student puts released files back, in git commands they can paste."""
    quoted = " ".join(dict.fromkeys(name.split(" (", 1)[0] for name in files))
    return (f"Restore them as released and push again: `git checkout $(git rev-list "
            f"--max-parents=0 HEAD) -- {quoted}` puts back what your first commit (the "
            "template) had; delete the files you added yourself (`git rm FILE`).")


WORKFLOW = "On GitHub Actions this costs the exercise its points."
INSTRUCTOR = "In your instructor's grading this costs the exercise its points."


def tampered_result(exercise: Exercise, files: Sequence[str],
                    cost: str = WORKFLOW) -> ExerciseResult:
    """The exercise, not graded: 0 points and a message naming the files."""
    names = inert_text(", ".join(files))  # file names are the submission's: shown, never obeyed
    message = (f"Not graded: files that decide this exercise's grade differ from the release: "
               f"{names}. {cost} " + inert_text(restore_advice(files)))
    test = TestResult(name="integrity", status=ERROR, score=0.0,
                      max_score=float(exercise.points), message=message, concept="tampering")
    return ExerciseResult(name=exercise.name, title=exercise.title, status=ERROR, score=0.0,
                          max_score=float(exercise.points), tests=[test], message=message,
                          hint=None)

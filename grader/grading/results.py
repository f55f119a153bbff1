"""The grade as data: what every output format (table, JSON, Gradescope, GitHub) is built from.

Keeping the model apart from how it is computed (`scoring`) and how it is shown (`formats`) lets
each output be tested against the same objects and lets new formats be added without touching
the grading itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Status of one test.
PASSED = "passed"
FAILED = "failed"
ERROR = "error"  # the test could not run properly (collection error, crash, missing suite)
TIMEOUT = "timeout"  # stopped: pytest-timeout or the exercise's time budget
SKIPPED = "skipped"  # counts for nothing either way
NOT_RUN = "not_run"  # never started: the budget was used up or the run stopped before it

# Status of one exercise (PASSED, FAILED, ERROR and TIMEOUT are shared with tests).
PARTIAL = "partial"

TEST_STATUSES = (PASSED, FAILED, ERROR, TIMEOUT, SKIPPED, NOT_RUN)
EXERCISE_STATUSES = (PASSED, PARTIAL, FAILED, TIMEOUT, ERROR)


def round_points(value: float) -> float:
    """Points as shown and stored: two decimals, so 10/3 reads 3.33 and sums stay readable."""
    return round(value + 0.0, 2)


def format_points(value: float) -> str:
    """7.0 -> "7", 3.3333 -> "3.33": whole points without a trailing ".0"."""
    rounded = round_points(value)
    return str(int(rounded)) if rounded == int(rounded) else f"{rounded:g}"


@dataclass
class TestResult:
    """One test (one concept, or one parametrisation of it) and what it earned."""

    __test__ = False  # not a pytest test class, despite the name

    name: str
    status: str
    score: float
    max_score: float
    message: str = ""
    file: str | None = None
    line: int | None = None
    concept: str | None = None
    duration: float = 0.0
    witness: dict[str, Any] | None = None  # how a concurrency failure happened (harness/witness.py)

    @property
    def counts(self) -> bool:
        """Skipped tests carry no points, so they neither help nor hurt."""
        return self.status != SKIPPED

    @property
    def location(self) -> str:
        """`file:line` of the student's code this result is about, or "" when unknown."""
        if not self.file:
            return ""
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass
class ExerciseResult:
    """One exercise: its tests and, for the tables, the first thing to fix."""

    name: str
    title: str
    status: str
    score: float
    max_score: float
    tests: list[TestResult] = field(default_factory=list)
    message: str = ""
    file: str | None = None
    line: int | None = None
    hint: str | None = None
    duration: float = 0.0

    @property
    def full_marks(self) -> bool:
        return self.status == PASSED

    @property
    def location(self) -> str:
        if not self.file:
            return ""
        return f"{self.file}:{self.line}" if self.line else self.file

    @property
    def first_line(self) -> str:
        """The first line of the feedback: what a table has room for."""
        return self.message.strip().splitlines()[0] if self.message.strip() else ""

    def failing_tests(self) -> list[TestResult]:
        """Tests that lost points, in the suite's order (the order the concepts build up)."""
        return [t for t in self.tests if t.counts and t.status != PASSED]


@dataclass
class GradeReport:
    """A whole grading run: the exercises in info.toml order plus facts about the run."""

    target: str
    exercises: list[ExerciseResult]
    duration: float = 0.0
    tampered: list[str] | None = None

    @property
    def score(self) -> float:
        return round_points(sum(e.score for e in self.exercises))

    @property
    def max_score(self) -> float:
        return round_points(sum(e.max_score for e in self.exercises))

    @property
    def full_marks(self) -> bool:
        """True only when every exercise graded earned all its points (exit code 0)."""
        return all(e.full_marks for e in self.exercises)

    @property
    def next_exercise(self) -> ExerciseResult | None:
        """The first exercise, in the order students do them, that still loses points."""
        return next((e for e in self.exercises if not e.full_marks), None)

"""The exercise set as described by info.toml, the single source of truth."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from grader.paths import REPO_ROOT

METADATA_FILE = REPO_ROOT / "info.toml"


@dataclass(frozen=True)
class Exercise:
    """One exercise: its stub, solution, suite and instructions share `module`."""

    name: str
    module: str
    title: str
    points: int
    timeout: int
    hints: tuple[str, ...] = ()
    weights: dict[str, float] = field(default_factory=dict)
    guards: tuple[str, ...] = ()
    answer_key: str | None = None  # a file of answers the suite judges against (tests/...)
    answer_key_private: bool = False  # kept out of the student template by `grader release`

    @property
    def test_file(self) -> str:
        return f"tests/test_{self.module}.py"

    @property
    def stub_file(self) -> str:
        return f"exercises/{self.module}.py"

    @property
    def instructions_file(self) -> str:
        return f"exercises/{self.module}.md"

    def is_guard(self, test_name: str) -> bool:
        """A guard checks what the stub already gets right: it earns nothing, but failing it costs."""
        return test_name.split("[", 1)[0] in self.guards

    def weight(self, test_name: str) -> float:
        """Weight of one test (its function name, without parameters); default 1."""
        return float(self.weights.get(test_name.split("[", 1)[0], 1.0))


def load_exercises(path: Path = METADATA_FILE) -> list[Exercise]:
    """Read the exercises, in the order students should do them."""
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    return [
        Exercise(
            name=item["name"],
            module=item["module"],
            title=item["title"],
            points=int(item["points"]),
            timeout=int(item["timeout"]),
            hints=tuple(item.get("hints", ())),
            weights=dict(item.get("weights", {})),
            guards=tuple(item.get("guards", ())),
            answer_key=item.get("answer_key"),
            answer_key_private=bool(item.get("answer_key_private", False)),
        )
        for item in data["exercises"]
    ]


def exercise_by_name(name: str, path: Path = METADATA_FILE) -> Exercise:
    """Find one exercise by name (or module); KeyError names the known ones."""
    exercises = load_exercises(path)
    for exercise in exercises:
        if name in (exercise.name, exercise.module):
            return exercise
    known = ", ".join(e.name for e in exercises)
    raise KeyError(f"no exercise called {name!r}; the exercises are: {known}")

"""The failure the suites raise: a message for students plus where to look.

The grader reads `file`, `line` and `concept` from it to build tables, JSON and
GitHub annotations, so suites raise `StudentFailure` rather than a bare assert.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Site:
    """A place in the student's code: a path relative to the repository, a line, a function."""

    file: str
    line: int
    function: str = ""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


class StudentFailure(AssertionError):
    """A failed check, explained in plain words for the student.

    `message` is the whole explanation; `site` the student's line it is about, when known;
    `concept` a short name of the idea to revisit (for example "lost update"); `witness` the
    events of the run that show how a concurrency failure happened (plain JSON-able data, see
    `grader.harness.witness`). It carries what it is given and nothing else: a failure of a
    concurrency concept raised without a witness (a suite that found the bug in its results) is
    given one by the judge where the report is made (`grader.judge.run_witnesses`).
    """

    def __init__(self, message: str, site: Site | None = None, concept: str | None = None,
                 witness: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.witness = witness
        self.message = message
        self.site = site
        self.concept = concept

    def add_witness(self, witness: dict[str, Any], text: str) -> None:
        """Attach how it happened, and say it after the message (the report's judge does)."""
        self.witness = witness
        self.message = f"{self.message}\n{text}"
        self.args = (self.message,)

    @property
    def file(self) -> str | None:
        return self.site.file if self.site else None

    @property
    def line(self) -> int | None:
        return self.site.line if self.site else None

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
    `grader.harness.witness`). A failure of a concurrency concept raised without one (a suite
    that found the bug in its results) takes the witness its test's latest run showed, or says
    that the journal cannot show one.
    """

    def __init__(self, message: str, site: Site | None = None, concept: str | None = None,
                 witness: dict[str, Any] | None | object = ...) -> None:
        if witness is ...:
            from grader.harness.witness import witness_for_failure

            found = witness_for_failure(concept)
            witness = None if found is None else found.to_dict()
            if found is not None:
                message = f"{message}\n{found.text()}"
        super().__init__(message)
        self.witness: dict[str, Any] | None = witness  # type: ignore[assignment]
        self.message = message
        self.site = site
        self.concept = concept

    @property
    def file(self) -> str | None:
        return self.site.file if self.site else None

    @property
    def line(self) -> int | None:
        return self.site.line if self.site else None

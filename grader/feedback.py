"""The failure the suites raise: a message for students plus where to look.

The grader reads `file`, `line` and `concept` from it to build tables, JSON and
GitHub annotations, so suites raise `StudentFailure` rather than a bare assert.
"""

from __future__ import annotations

from dataclasses import dataclass


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
    `concept` a short name of the idea to revisit (for example "lost update").
    """

    def __init__(self, message: str, site: Site | None = None, concept: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.site = site
        self.concept = concept

    @property
    def file(self) -> str | None:
        return self.site.file if self.site else None

    @property
    def line(self) -> int | None:
        return self.site.line if self.site else None

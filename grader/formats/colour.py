"""Whether and how to colour terminal output: ANSI on a terminal, plain when piped or NO_COLOR.

Follows https://no-color.org (a non-empty NO_COLOR turns colour off) and the common FORCE_COLOR
convention, so CI logs that render ANSI can still opt in.
"""

from __future__ import annotations

import os
from typing import TextIO

from grader.grading.results import ERROR, FAILED, NOT_RUN, PARTIAL, PASSED, SKIPPED, TIMEOUT

_CODES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}
STATUS_STYLE = {
    PASSED: "green",
    PARTIAL: "yellow",
    FAILED: "red",
    TIMEOUT: "red",
    ERROR: "red",
    NOT_RUN: "dim",
    SKIPPED: "dim",
}


def use_colour(choice: str, stream: TextIO) -> bool:
    """`choice` is auto, always or never; auto means a terminal without NO_COLOR."""
    if choice == "always":
        return True
    if choice == "never":
        return False
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    if os.environ.get("TERM") == "dumb":
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


class Painter:
    """Wraps text in ANSI codes when enabled; a no-op otherwise, so callers never branch."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, *styles: str) -> str:
        if not self.enabled or not styles or not text:
            return text
        codes = ";".join(_CODES[s] for s in styles)
        return f"\033[{codes}m{text}\033[0m"

    def status(self, status: str, text: str | None = None) -> str:
        return self(text if text is not None else status, STATUS_STYLE.get(status, "bold"))

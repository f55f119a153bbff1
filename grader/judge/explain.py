"""Turn whatever a test raised into what a student should read: the concept, the line, the
example; never a traceback through the judge, an exception group or a library's internals.

A property test that meets a concurrency bug may fail on one example and pass on Hypothesis's
replay of it; Hypothesis then raises `FlakyFailure`, an exception group. A flaky concurrency
failure is the bug showing itself once, so the failure inside the group is reported as is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from grader.feedback import Site, StudentFailure
from grader.judge.student_objects import StudentError

# Hypothesis names the example so (an `@example` given in the suite: "Failing explicit
# example:"); older versions said "Falsifying example:" and "Falsifying explicit example:".
_EXAMPLE_PREFIXES = ("Failing test case:", "Failing explicit example:", "Falsifying example:",
                     "Falsifying explicit example:")


@dataclass(frozen=True)
class Explanation:
    """What the report shows for a failed test."""

    message: str
    site: Site | None
    concept: str | None
    witness: dict[str, Any] | None = None  # how a concurrency failure happened (plain data)


def leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in leaves(inner)]
    return [error]


_FIXTURE_ARGUMENT = re.compile(r"\b(?:make_harness|mod|student_module|student_host)=(?:<[^>]*>|[\w.]+),?\s*")


def _example(errors: list[BaseException]) -> str | None:
    """Hypothesis's note naming the example that failed, as `n=1, times=0, start=0`."""
    for error in errors:
        for note in getattr(error, "__notes__", ()) or ():
            text = " ".join(str(note).split())
            if not text.startswith(_EXAMPLE_PREFIXES):
                continue
            call = _FIXTURE_ARGUMENT.sub("", text.split(":", 1)[1].strip())
            inside = call[call.find("(") + 1:call.rfind(")")] if "(" in call else call
            inside = inside.strip().rstrip(",").strip()
            return inside if len(inside) <= 300 else inside[:297] + "..."
    return None


def explain(error: BaseException, *, fallback: bool = True) -> Explanation | None:
    """The student's explanation of `error`. Any other exception is told as `Type: message`
    (no traceback) when `fallback`, else None (for callers that find the line themselves)."""
    found = leaves(error)
    example = _example([error, *found])
    suffix = f"\nFound with the example {example}." if example else ""
    if isinstance(error, BaseExceptionGroup):
        suffix += (" When the same example was run again it passed: a concurrency bug does not show "
                   "on every run, but it is there.")
    failure = next((e for e in found if isinstance(e, StudentFailure)), None)
    if failure is not None:
        return Explanation(failure.message + suffix, failure.site, failure.concept,
                           getattr(failure, "witness", None))
    raised = next((e for e in found if isinstance(e, StudentError)), None)
    if raised is not None:
        where = f" at {raised.site}" if raised.site else ""
        return Explanation(
            f"Your code raised {raised.type_name}{where}: {raised}. An exception the exercise does "
            f"not ask for means the function did not finish its work.{suffix}",
            raised.site,
            None,
        )
    if fallback and isinstance(error, Exception):
        # Anything else went wrong in the test with what the student's code returned (None
        # where a list was due, say). Say what, without the judge's traceback.
        return Explanation(f"{type(error).__name__}: {error}{suffix}", None, None)
    return None

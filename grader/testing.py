"""The suites' API: all that a test in tests/ uses of the grader, in one import.

    from grader.testing import Checks, require, site_of

The suites are published to students, so a suite reads as the exercise's checks and shows
nothing of the judge's plumbing. The fixtures need no import: `student_module(name)` (the
student's module, a proxy into the student host), `make_harness(checks=..., ...)` (a checked
run, `grader.judge.remote_harness.RemoteHarness`) and `target_dir` come from the judge plugin, which
also quotes the rules a failed test enforces (`@pytest.mark.rule(...)`). This module is the only
grader import in tests/*.py (`selfcheck/test_suite_api.py` holds the suites, and the suite
`grader new` writes, to that), and it holds what they use and nothing else:

    failing        require, require_value_error, require_accepted, require_lock_balance,
                   StudentFailure, Site; site_of(mod.f) (the student's `def` line), site_at(path, line)
    check modes    Checks.ALL / DEADLOCKS / NONE for make_harness(checks=...) and harness.check(...),
                   and the concept names a check can ask for (MISSING_JOIN, LOCK_ORDER, ...)
    repeated runs  repeat_counting, start_method_plan, COUNTING_TIMEOUT; SLOW_CHILD and Pauses (run settings)
    properties     property_settings(max_examples): the Hypothesis settings every property test uses
    inputs         AMOUNT, TRANSFER, VALUES: the domains the instructions' refusing rules state
    process targets  record_return(s) and their RETURNED_* codes: what each call of a function returned
    a run's journal  RunJournal.of(harness): locks taken and released, reads and writes, by the names given
    written answers  read_source, written_answers, WrittenAnswer; exercise_by_name (info.toml)

A shared value's contents are read with `harness.final(value)` (the referee's copy, the only one).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.feedback import Site, StudentFailure
from grader.harness.findings import (
    ATOMICITY,
    LOCK_ORDER,
    MISSING_JOIN,
    START_JOIN_ORDER,
)
from grader.harness.journal_words import lock_names
from grader.harness.runtime import Pauses, display_path, site_from_json
from grader.judge.checks import (
    COUNTING_TIMEOUT,
    SLOW_CHILD,
    Checks,
    property_settings,
    repeat_counting,
    require,
    require_accepted,
    require_lock_balance,
    require_value_error,
    site_of,
    start_method_plan,
)
from grader.judge.domains import AMOUNT, TRANSFER, VALUES
from grader.judge.written_answers import WrittenAnswer, read_source, written_answers
from grader.metadata import exercise_by_name
from grader.sandbox.workers import (
    RETURNED_FALSE,
    RETURNED_OTHER,
    RETURNED_TRUE,
    record_return,
    record_returns,
)

__all__ = [
    "AMOUNT",
    "ATOMICITY",
    "COUNTING_TIMEOUT",
    "LOCK_ORDER",
    "MISSING_JOIN",
    "RETURNED_FALSE",
    "RETURNED_OTHER",
    "RETURNED_TRUE",
    "SLOW_CHILD",
    "START_JOIN_ORDER",
    "TRANSFER",
    "VALUES",
    "Checks",
    "Pauses",
    "RunJournal",
    "Site",
    "StudentFailure",
    "WrittenAnswer",
    "exercise_by_name",
    "property_settings",
    "read_source",
    "record_return",
    "record_returns",
    "repeat_counting",
    "require",
    "require_accepted",
    "require_lock_balance",
    "require_value_error",
    "site_at",
    "site_of",
    "start_method_plan",
    "written_answers",
]


def site_at(path: Path, line: int) -> Site:
    """A line of the student's file `path`, as messages name it (`exercises/<module>.py:<line>`)."""
    return Site(display_path(str(path), (str(path.parent),)), line)


@dataclass(frozen=True)
class LockStep:
    """A lock taken (`acquired`) or given back by process `pid`, at the student's `site`."""

    pid: int
    lock: str  # the name the suite gave it: harness.Lock("locks[0]") is `locks[0]`
    acquired: bool
    site: Site | None


@dataclass(frozen=True)
class SharedAccess:
    """A read or write of shared data in a child process, with the names of the locks it held."""

    pid: int
    location: str  # `balances[1]`, `counter`
    written: bool
    held: tuple[str, ...]
    site: Site | None


class RunJournal:
    """What a run's referee recorded, in the terms a suite checks: read it inside the run
    (`RunJournal.of(harness)` before the `with make_harness()` block ends)."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self._events = list(events)

    @classmethod
    def of(cls, harness: Any) -> RunJournal:
        return cls(harness.events())

    def _lock_names(self) -> dict[str, str]:
        """Lock uid -> the name messages give it (journal_words.lock_names), without backquotes:
        `locks[0]` is locks[0]."""
        return {uid: name.replace("`", "") for uid, name in lock_names(self._events).items()}

    def lock_steps(self) -> list[LockStep]:
        """Every acquire and release of a lock, in order."""
        names = self._lock_names()
        return [LockStep(event["pid"], names.get(str(event["lock"]), ""), event["k"] == "acquire",
                         site_from_json(event.get("site")))
                for event in self._events if event["k"] in ("acquire", "release")]

    def accesses(self) -> list[SharedAccess]:
        """Every read and write of shared data by a child process, in order."""
        names = self._lock_names()
        return [SharedAccess(event["pid"], str(event.get("loc", "")), event.get("op") == "write",
                             tuple(names.get(str(uid), str(uid)) for uid in event.get("held") or ()),
                             site_from_json(event.get("site")))
                for event in self._events if event["k"] == "access"]

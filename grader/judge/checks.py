"""Checks the suites share, each turning a wrong result into a `StudentFailure` that teaches.

The suites stay short and readable: they say *what* to check; these helpers say *how* to
run it many times, under which start methods, and how to explain what went wrong.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings

from grader.feedback import Site, StudentFailure
from grader.harness.findings import (
    CHILD_CRASH,
    DEADLOCK,
    FOREIGN_RELEASE,
    LOST_UPDATE,
    MISSING_JOIN,
    SELF_DEADLOCK,
    TOO_SLOW,
    UNRELEASED_LOCK,
    VALIDATION,
    WRONG_RESULT,
)
from grader.harness.lock_balance import check_source
from grader.harness.runtime import display_path

# Each counting scenario runs this often under the platform's default start method... The
# referee's schedule control makes the race happen rather than hoping for it: a read that could
# be part of a lost update is answered only once another process has touched the same data, so
# every lost-update and check-then-act variant of the corpus fails its first run under every
# start method (selfcheck/test_first_run.py proves it). One run is then enough.
DEFAULT_RUNS = 1
# ...and this often under each other start method the platform has.
OTHER_METHOD_RUNS = 1
# Seconds a child is held back before its work and after it, in the one test per `run` that
# proves it waits: longer than any timeout or sleep a program could rely on instead of join().
SLOW_CHILD = (1.0, 1.0)
# pytest-timeout limit for a counting or property test: many runs, each of which may take
# seconds under spawn on a busy machine. Only a backstop: every run has the harness's own,
# much shorter deadline (stretched on a busy machine, see grader.machine_load).
COUNTING_TIMEOUT = 600


def start_method_plan(default_runs: int = DEFAULT_RUNS, other_runs: int = OTHER_METHOD_RUNS) -> list[tuple[str, int]]:
    """(start method, runs) pairs: many runs under the default, a few under every other one."""
    default = multiprocessing.get_start_method(allow_none=True) or multiprocessing.get_context().get_start_method()
    plan = [(default, default_runs)]
    plan += [(method, other_runs) for method in multiprocessing.get_all_start_methods() if method != default]
    return plan


def site_of(func: Any) -> Site | None:
    """Where a student's function is defined, as `exercises/<module>.py:<line>` (read from the
    file's text: the judge never imports student code)."""
    site = getattr(func, "site", None)
    return site() if callable(site) else None


def require(condition: object, message: str, *, site: Site | None = None, concept: str = WRONG_RESULT) -> None:
    """Fail with `message` unless `condition` holds."""
    if not condition:
        raise StudentFailure(message, site=site, concept=concept)


def require_lock_balance(func: Any) -> None:
    """The static check: no path through `func` leaves an acquire() without its release()."""
    origin = getattr(func, "_origin", None)
    if origin is None:
        raise StudentFailure("This is not a function defined in your module.", concept=WRONG_RESULT)
    path, name = origin
    source = Path(path).read_text(encoding="utf-8", errors="replace")
    try:
        issues = check_source(source, name, filename=display_path(str(path), (str(Path(path).parent),)))
    except (ValueError, SyntaxError):
        raise StudentFailure(f"{name} must be a function defined with `def` in your module.",
                             concept=WRONG_RESULT) from None
    if issues:
        issue = issues[0]
        raise StudentFailure(
            issue.message,
            site=Site(issue.file, issue.acquire_line, name),
            concept=SELF_DEADLOCK if issue.kind == "reacquire" else UNRELEASED_LOCK,
        )


def require_value_error(call: Callable[[], object], description: str, *, site: Site | None = None) -> None:
    """`call()` must raise ValueError: bad input is refused, not silently used."""
    try:
        call()
    except ValueError:
        return
    except Exception as error:  # noqa: BLE001 - any other outcome is the student's to see
        raise StudentFailure(
            f"{description} should raise ValueError, but it raised {type(error).__name__}: {error}",
            site=site,
            concept=VALIDATION,
        ) from None
    raise StudentFailure(
        f"{description} should raise ValueError, but it returned normally. Check the input "
        "first and refuse what makes no sense.",
        site=site,
        concept=VALIDATION,
    )


def require_accepted(call: Callable[[], object], description: str, *, site: Site | None = None) -> object:
    """`call()` must not raise ValueError: input inside the rule's domain is accepted."""
    try:
        return call()
    except ValueError as error:
        raise StudentFailure(
            f"{description} raised ValueError ({error}), but it is allowed: the rule refuses only what "
            "it names. Check the boundaries of your test of the input.",
            site=site,
            concept=VALIDATION,
        ) from None


def summarize_counts(expected: int, finals: list[int], unit: str = "updates", noun: str = "counts") -> str | None:
    """'lost up to 13 of 100 updates in 7 of 10 runs (...; final counts 87, 92, ...)', 'lost 13 of 100
    updates (...; final counts 87)' for one run, or None if all exact."""
    wrong = [final for final in finals if final != expected]
    if not wrong:
        return None
    shown = ", ".join(str(final) for final in wrong[:8]) + (", ..." if len(wrong) > 8 else "")
    lost = [expected - final for final in wrong if final < expected]
    runs = "" if len(finals) == 1 else f" in {len(wrong)} of {len(finals)} runs"
    if len(lost) == len(wrong):
        worst = max(lost)
        return f"lost {'up to ' if len(lost) > 1 else ''}{worst} of {expected} {unit}{runs} (expected {expected}; final {noun} {shown})"
    ended = "the run ended wrong" if len(finals) == 1 else f"{len(wrong)} of {len(finals)} runs ended wrong"
    return f"{ended} (expected {expected}; final {noun} {shown})"


def repeat_counting(
    make_harness: Callable[..., Any],
    module: Any,
    call: Callable[[Any], int],
    expected: int,
    what: str,
    *,
    start_method: str,
    runs: int,
    processes: int,
    unit: str = "updates",
    noun: str = "counts",
    site: Site | None = None,
    run_site: Site | None = None,
) -> None:
    """Run `call(module)` `runs` times with instruments substituted in; all must be exact, and
    each must be done by `processes` child processes running at the same time (`run_site`, the
    called function's definition, is named when the journal shows no line of its own).

    The referee's schedule control makes an unprotected update lose counts in the first run; a
    deadlock or crash is raised by the harness as it happens, with its own diagnosis, and a wrong
    total read before the processes ended is diagnosed as the missing wait it is.
    """
    finals = []
    for _ in range(runs):
        with make_harness(start_method=start_method) as harness:
            harness.substitute(module)
            final = call(module)
            harness.require_processes(processes, what, site=run_site)
            if final != expected:
                # A total read while processes were still running is a missing wait, not a lost update.
                harness.check(MISSING_JOIN)
            finals.append(final)
    summary = summarize_counts(expected, finals, unit, noun)
    if summary is not None:
        raise StudentFailure(
            f"{what} under the {start_method!r} start method: {summary}. Updates are lost when two "
            "processes read the same value and both write back their own result: the "
            "read-change-write must happen while holding the shared lock.",
            site=site,
            concept=LOST_UPDATE,
        )

# Findings that stop a run outright; every test reports them, whatever its own concern.
DEADLOCKS = (SELF_DEADLOCK, UNRELEASED_LOCK, DEADLOCK, FOREIGN_RELEASE, CHILD_CRASH, TOO_SLOW)


class Checks(Enum):
    """Which of a run's findings a test judges, by name (it replaces a `check_locks` boolean that
    meant "check nothing" in one suite and "deadlocks only" in two others).

    `make_harness(checks=...)` sets a run's own: what its `check()` raises, and whether the
    referee applies the lockset rule (only under ALL: a run of one process, or of last write
    wins, has no lock to hold). `check(Checks.DEADLOCKS, MISSING_JOIN)` asks for a mode's
    findings and named concepts in that one call.
    """

    ALL = "every finding"
    DEADLOCKS = "deadlocks and what else stops a run (a lock kept, a crash, a run too slow)"
    NONE = "no finding: the test judges the results alone"

    @property
    def concepts(self) -> frozenset[str] | None:
        """The concepts this mode raises; None for all of them."""
        if self is Checks.ALL:
            return None
        return frozenset(DEADLOCKS) if self is Checks.DEADLOCKS else frozenset()

    @property
    def lockset(self) -> bool:
        """Whether the referee checks every read and write of shared data against the locks held."""
        return self is Checks.ALL


def concepts_of(wanted: Iterable[Checks | str]) -> frozenset[str] | None:
    """The concepts a `check(...)` call asks for: its modes' and the named ones; None for all."""
    concepts: set[str] = set()
    for item in wanted:
        if isinstance(item, Checks):
            if item.concepts is None:
                return None
            concepts |= item.concepts
        elif isinstance(item, str):
            concepts.add(item)
        else:
            raise TypeError(f"check() takes Checks modes and concept names, not {item!r}")
    return frozenset(concepts)


# Hypothesis's explain phase adds "# or any other generated value" comments to the example a
# student reads: leave it out.
QUIET_PHASES = [phase for phase in Phase if phase is not Phase.explain]


def property_settings(max_examples: int) -> Callable[[Callable[..., Any]], Any]:
    """Hypothesis settings for the suites (a decorator): bounded, reproducible, one clear failure.

    derandomize and no example database make every run (and CI) try the same examples;
    report_multiple_bugs=False gives the student one explained failure, not a group, and
    QUIET_PHASES leaves out the explain phase's comments. A property test runs a program for
    every example, so its pytest-timeout backstop is a counting test's.
    """
    chosen = settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        phases=QUIET_PHASES,
    )

    def decorate(test: Callable[..., Any]) -> Any:
        return pytest.mark.timeout(COUNTING_TIMEOUT)(chosen(test))

    return decorate

"""How the self-check spreads over pytest-xdist's workers (README's Quick start: `-n 4`).

Four workers on two cores: judging waits (deadlines, delayed children, held-back answers, a
grading that hangs on purpose) more than it computes, so two workers left a core idle about a
third of the time. Measured on 85 corpus tests: 164 s with `-n 2`, 125 s with `-n 4`, the same
CPU time (docs/benchmarks.md).

Tests go to whichever worker is free, except where they share an expensive set-up: a file under
selfcheck/release/ and the cheat corpus build releases, virtual environments and gradings in
module- and session-scoped fixtures, so each such file runs on one worker and builds them once;
and a variant's tests (its corpus test and its run under another start method in
test_suites_judge.py, its first-run tests in test_first_run.py) share its run under the default
start method (the `default_run` fixture below), so they go to one worker too.

The grouping is a scheduler of our own (xdist's `pytest_xdist_make_scheduler` hook), computed
from test ids alone: xdist's `--dist loadgroup` marks a group by rewriting `item._nodeid`, which
pytest 9.2 no longer reads, so its groups are silently ignored there.
"""

from __future__ import annotations

import compileall
import re
import sys
from collections.abc import Callable
from typing import Any

import pytest

from grader.paths import REPO_ROOT
from selfcheck.suite_runs import SuiteRun, Variant, run_variant

# The repository's own Python code, which every suite run, judge and spawned child imports.
COMPILED = ("grader", "tests", "solutions", "selfcheck")

# Files whose tests share module- or session-scoped set-up: one worker each.
SHARED_SET_UP = ("selfcheck/release/", "selfcheck/test_cheats.py")
# Files whose parametrized tests judge one variant (or the solutions) each.
JUDGING = ("selfcheck/test_suites_judge.py::", "selfcheck/test_first_run.py::")
START_METHOD = re.compile(r"(?:^|-)(?:fork|spawn|forkserver)(?=-|$)")


def work_unit(nodeid: str) -> str:
    """The tests that must share a worker have the same unit; every other test is its own."""
    path = nodeid.split("::", 1)[0]
    if path.startswith(SHARED_SET_UP):
        return path
    if nodeid.startswith(JUDGING) and nodeid.endswith("]"):  # one variant, or the solutions
        judged = START_METHOD.sub("", nodeid[nodeid.index("[") + 1:-1]).strip("-")
        return f"judged:{judged or 'solutions'}"
    return nodeid


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    from xdist.scheduler import LoadScopeScheduling

    class SharedSetUpScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    return SharedSetUpScheduling(config, log)


@pytest.fixture(scope="session")
def default_run() -> Callable[[Variant], SuiteRun]:
    """default_run(variant): the variant's whole suite judged under the default start method,
    made once per session (worker) and shared by every test that reads it (work_unit puts
    them on one worker): the run proves each of them, so it is made once."""
    runs: dict[str, SuiteRun] = {}

    def run(variant: Variant) -> SuiteRun:
        if variant.id not in runs:
            runs[variant.id] = run_variant(variant)
        return runs[variant.id]

    return run


def pytest_configure(config: pytest.Config) -> None:
    """Compile the repository's code to bytecode once, before any worker starts. Where
    PYTHONDONTWRITEBYTECODE is set (as on CI's machines) nothing else ever writes it, and every
    one of the self-check's thousands of interpreters (a suite run, a judge, a spawned child)
    would compile the grader from source again: 80 ms of each spawned child's start."""
    if hasattr(config, "workerinput") or not sys.dont_write_bytecode:
        return  # a worker (the controller compiled), or Python writes bytecode as it goes
    for folder in COMPILED:
        compileall.compile_dir(REPO_ROOT / folder, quiet=2)

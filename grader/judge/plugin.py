"""The pytest plugin behind the suites: what they judge (--target) and how processes start.

The grader names it on the judge's command line (`-p grader.judge.plugin`, with `--noconftest`);
the repository's root conftest.py loads it for `python -m pytest tests/...` run by hand. It
registers the suites' rule quoting (grader.judge.rules) and, under the grader, checks the judge's
make-up (grader.judge.makeup) before every test and after it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from grader.feedback import StudentFailure
from grader.harness.findings import INTERFERENCE
from grader.judge.explain import explain, leaves
from grader.judge.host_process import hide_from_same_user
from grader.judge.host_session import HostSession
from grader.judge.makeup import MAKEUP_KEY, MakeUp, interference_message, trusted_roots
from grader.judge.remote_harness import RemoteHarness
from grader.judge.run_witnesses import ClosedRuns, attach_witnesses
from grader.judge.student_objects import StudentModule
from grader.paths import REPO_ROOT, TARGET_NAMES
from grader.process_tree import become_subreaper

pytest_plugins = ["grader.judge.rules"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("grader", "multiprocessing exercises")
    group.addoption(
        "--target",
        default="exercises",
        help="what the suites judge: 'exercises' (default), 'solutions', or a directory "
        "holding the exercise modules",
    )
    group.addoption(
        "--start-method",
        default=None,
        choices=("fork", "spawn", "forkserver"),
        dest="start_method",
        help="start method for the checked runs (default: the platform's default)",
    )


def resolve_target(value: str, root: Path = REPO_ROOT) -> Path:
    """Turn --target into a directory: a known name under the repository, or a path."""
    path = root / value if value in TARGET_NAMES else Path(value)
    path = path.resolve()
    if not path.is_dir():
        raise pytest.UsageError(f"--target {value!r}: no such directory ({path})")
    return path


def pytest_configure(config: pytest.Config) -> None:
    config.stash[TARGET_KEY] = resolve_target(config.getoption("--target"))
    # This process judges: it never imports the student's code (each test's student host
    # does), keeps orphaned student processes for itself to kill, and hides its descriptors.
    become_subreaper()
    hide_from_same_user()


TARGET_KEY = pytest.StashKey[Path]()


def pytest_sessionstart(session: pytest.Session) -> None:
    """Under the grader (no conftest.py is collected), start checking what the judge loads."""
    config = session.config
    if config.getoption("noconftest"):
        config.stash[MAKEUP_KEY] = MakeUp(trusted_roots(config.rootpath / "tests"))


def _require_trusted_makeup(config: pytest.Config) -> None:
    makeup = config.stash.get(MAKEUP_KEY, None)
    if makeup is None:
        return
    foreign = makeup.foreign_files(config.pluginmanager.get_plugins())
    if foreign:
        root = config.getoption("--grader-root", None)
        raise StudentFailure(interference_message(foreign, Path(root) if root else None),
                             concept=INTERFERENCE)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """No test runs in a judge that has loaded anything from outside its trusted places."""
    _require_trusted_makeup(item.config)


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    _require_trusted_makeup(item.config)


@pytest.fixture(scope="session")
def target_dir(pytestconfig: pytest.Config) -> Path:
    """The directory whose modules are being judged."""
    return pytestconfig.stash[TARGET_KEY]


@pytest.fixture
def student_host(target_dir: Path) -> Iterator[HostSession]:
    """This test's student host: started on first use, ended with all it started after."""
    host = HostSession(target_dir)
    yield host
    host.close()


@pytest.fixture
def student_module(student_host: HostSession) -> Iterator[Callable[[str], StudentModule]]:
    """A callable fixture: student_module("locked_increment") loads it in the student host."""
    yield student_host.module


@pytest.fixture
def make_harness(pytestconfig: pytest.Config, student_host: HostSession) -> Iterator[Callable[..., RemoteHarness]]:
    """Checked runs in the student host, all closed (children killed) after the test."""
    made: list[RemoteHarness] = []

    def make(start_method: str | None = None, **options: Any) -> RemoteHarness:
        method = start_method or pytestconfig.getoption("start_method")
        harness = RemoteHarness(student_host, method, options)
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.close()


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """A concurrency failure the test raised without a witness is given the one its runs show.

    Innermost of the wrappers around the call (trylast), so it comes before the rules'
    quoting (grader.judge.rules) and the message reads: the failure, how it happened, the rules.
    """
    try:
        return (yield)
    except BaseException as error:
        host = getattr(item, "funcargs", {}).get("student_host")
        attach_witnesses(leaves(error), host.closed_runs if isinstance(host, HostSession) else ClosedRuns())
        raise


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Show students the explanation, not a traceback through test, judge or library code."""
    report = yield
    if call.excinfo is not None and report.failed and not os.environ.get("GRADER_DEBUG"):
        explanation = explain(call.excinfo.value)
        if explanation is not None:
            where = f"\n(see {explanation.site})" if explanation.site else ""
            report.longrepr = f"{explanation.message}{where}"
    return report

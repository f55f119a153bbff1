"""The pytest plugin behind the suites: what they judge (--target) and how processes start.

Loaded by the repository's root conftest.py, so `python -m pytest tests/...` from the
repository root always has it.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from grader.feedback import StudentFailure
from grader.harness import Harness
from grader.metadata import REPO_ROOT

TARGET_NAMES = ("exercises", "solutions")


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
    target = resolve_target(config.getoption("--target"))
    config.stash[TARGET_KEY] = target
    # The student's modules import as top-level modules from the target directory;
    # children started with spawn/forkserver inherit sys.path and find them the same way.
    if str(target) not in sys.path:
        sys.path.insert(0, str(target))


TARGET_KEY = pytest.StashKey[Path]()


@pytest.fixture(scope="session")
def target_dir(pytestconfig: pytest.Config) -> Path:
    """The directory whose modules are being judged."""
    return pytestconfig.stash[TARGET_KEY]


def import_student_module(name: str, target: Path) -> ModuleType:
    """Import the student's module, turning import-time errors into a clear failure."""
    existing = sys.modules.get(name)
    if existing is not None and Path(getattr(existing, "__file__", "")).parent == target:
        return existing
    sys.modules.pop(name, None)
    try:
        return importlib.import_module(name)
    except SyntaxError as error:
        raise StudentFailure(
            f"Python cannot read {name}.py: {error.msg} (line {error.lineno}). "
            "Fix the syntax error first; no test can run until the file imports.",
            concept="syntax error",
        ) from None
    except Exception as error:  # noqa: BLE001 - any import-time error is the student's to fix
        raise StudentFailure(
            f"Importing {name}.py raised {type(error).__name__}: {error}. Code at the top level "
            "of the module runs on import (and again in every spawned process): keep work "
            "inside functions.",
            concept="import error",
        ) from None


@pytest.fixture
def student_module(target_dir: Path) -> Iterator[object]:
    """A callable fixture: student_module("locked_increment") imports it from the target."""
    yield lambda name: import_student_module(name, target_dir)


@pytest.fixture
def make_harness(pytestconfig: pytest.Config, target_dir: Path) -> Iterator[Callable[..., Harness]]:
    """Checked runs over the target's modules, all closed (children killed) after the test."""
    made: list[Harness] = []

    def make(start_method: str | None = None, **options: Any) -> Harness:
        method = start_method or pytestconfig.getoption("start_method")
        harness = Harness(method, [target_dir], **options)
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Show students the explanation, not a traceback through test and harness code."""
    report = yield
    if call.excinfo is not None and isinstance(call.excinfo.value, StudentFailure) and report.failed:
        failure = call.excinfo.value
        where = f"\n(see {failure.site})" if failure.site else ""
        report.longrepr = f"{failure.message}{where}"
    return report

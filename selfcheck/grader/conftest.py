"""Fixtures for the grader's own tests: a scratch copy of the fixture repository, and a way to
run the grader CLI in-process with a controlled environment.

The fixture repository (fixtures/repo) is a tiny exercise set of its own: info.toml, suites,
stubs, solutions and a fixed set of submissions under submissions/, each breaking one thing.
It is never graded in place: every session grades a copy, so nothing is written into the
repository (state files, caches) and tests may tamper with their copy.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader import cli

HERE = Path(__file__).resolve().parent
FIXTURE_REPO = HERE / "fixtures" / "repo"
GOLDEN_DIR = HERE / "golden"

collect_ignore = ["fixtures"]


def copy_fixture(destination: Path) -> Path:
    shutil.copytree(FIXTURE_REPO, destination,
                    ignore=shutil.ignore_patterns("__pycache__", "grading-results", ".pytest_cache"))
    return destination


@pytest.fixture(scope="session")
def fixture_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One shared copy for tests that only read it (the goldens)."""
    return copy_fixture(tmp_path_factory.mktemp("grader") / "repo")


@pytest.fixture
def own_repo(tmp_path: Path) -> Path:
    """A copy of the fixture repository this test may change."""
    return copy_fixture(tmp_path / "repo")


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


@pytest.fixture
def grade(monkeypatch: pytest.MonkeyPatch,
          capsys: pytest.CaptureFixture[str]) -> Iterator[object]:
    """grade(root, *args, env={...}) runs `python -m grader` in-process; returns a Run.

    The environment starts without GitHub's or colour variables, so a run of these tests on
    GitHub Actions behaves like one anywhere else.
    """
    for name in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)

    def run(root: Path, *args: str, env: dict[str, str] | None = None) -> Run:
        with monkeypatch.context() as patch:
            for key, value in (env or {}).items():
                patch.setenv(key, value)
            capsys.readouterr()
            code = cli.main(["--root", str(root), *args])
            out, err = capsys.readouterr()
        return Run(code, out, err)

    yield run

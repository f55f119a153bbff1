"""Fixtures for the release, workflow, integrity and batch checks.

`source_repo` is this repository once its exercise set is complete (every exercise has a stub, a
solution and a suite); until then it is a small stand-in repository with the same layout, made
from this repository's own grader, conftest and pyproject, and a two-exercise set whose solutions
carry a marker that must never reach a release.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from grader.metadata import REPO_ROOT, load_exercises

SECRET = "SOLUTION-ONLY-7f3a"

FIXTURE_INFO = """\
[[exercises]]
name = "adder"
module = "adder"
title = "Adding: two numbers, one answer"
points = 6
timeout = 20
hints = ["Read the + sign twice."]

[[exercises]]
name = "shared_total"
module = "shared_total"
title = "Shared total: children write, the parent reads"
points = 4
timeout = 20
hints = ["A plain int is copied into each child."]
"""

STUBS = {
    "adder": '''\
        """Add two numbers (stand-in exercise)."""


        def add(a: int, b: int) -> int:
            """Return a + b."""
            # TODO: this subtracts.
            return a - b
        ''',
    "shared_total": '''\
        """Children add to a total the parent reads (stand-in exercise)."""

        from multiprocessing import Process


        def work(total, n):
            total += n


        def run(values):
            """Return the sum of `values`, each added by its own process."""
            total = 0
            processes = [Process(target=work, args=(total, v)) for v in values]
            for p in processes:
                p.start()
            for p in processes:
                p.join()
            return total
        ''',
}

SOLUTIONS = {
    "adder": f'''\
        """Add two numbers (reference solution). {SECRET}"""


        def add(a: int, b: int) -> int:
            """Return a + b."""
            result = a + b  # {SECRET}
            return result
        ''',
    "shared_total": f'''\
        """Children add to a total the parent reads (reference solution). {SECRET}"""

        from multiprocessing import Lock, Process, RawValue


        def work(total, lock, n):
            with lock:
                total.value += n  # {SECRET}


        def run(values):
            """Return the sum of `values`, each added by its own process."""
            total = RawValue("q", 0)
            lock = Lock()
            processes = [Process(target=work, args=(total, lock, v)) for v in values]
            for p in processes:
                p.start()
            for p in processes:
                p.join()
            return total.value
        ''',
}

SUITES = {
    "adder": """\
        from grader.feedback import Site, StudentFailure


        def test_adds(student_module):
            adder = student_module("adder")
            got = adder.add(2, 3)
            if got != 5:
                raise StudentFailure(
                    f"add(2, 3) returned {got}, not 5: look at the operator.",
                    site=Site("exercises/adder.py", 7),
                    concept="arithmetic",
                )
        """,
    "shared_total": """\
        from grader.feedback import Site, StudentFailure


        def test_children_share_the_total(student_module):
            shared_total = student_module("shared_total")
            got = shared_total.run([1, 2, 3])
            if got != 6:
                raise StudentFailure(
                    f"run([1, 2, 3]) returned {got}, not 6: each child changed its own copy.",
                    site=Site("exercises/shared_total.py", 7),
                    concept="shared memory",
                )
        """,
}


# One correct variant per stand-in exercise, in the corpus's format: an edit of the solution.
VARIANT = f"""\
[[variant]]
name = "correct"
summary = "the solution under another docstring ({SECRET})"
expect = "pass"

[[variant.edit]]
old = "(reference solution)"
new = "(a correct variant)"
"""


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8", newline="\n")


def make_fixture_repo(root: Path) -> Path:
    """A complete stand-in repository at `root`: this grader, a two-exercise set, and extras."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO_ROOT / "grader", root / "grader", ignore=ignore)
    for name in ("pyproject.toml", "conftest.py", "LICENSE", ".gitignore"):
        shutil.copy2(REPO_ROOT / name, root / name)
    _write(root / "info.toml", FIXTURE_INFO)
    _write(root / "README.md", "# Instructor README: see solutions/ for the answers\n")
    for module in STUBS:
        _write(root / "exercises" / f"{module}.py", STUBS[module])
        _write(root / "exercises" / f"{module}.md", f"# {module}\n\nMake the tests pass.\n")
        _write(root / "solutions" / f"{module}.py", SOLUTIONS[module])
        _write(root / "tests" / f"test_{module}.py", SUITES[module])
        _write(root / "selfcheck" / "variants" / f"{module}.toml", VARIANT)
    _write(root / "benchmarks" / "bench_adder.py", f"# {SECRET}\nprint('timing')\n")
    _write(root / ".ci" / "run", "python -m pytest selfcheck\n")
    _write(root / ".github" / "workflows" / "ci.yml", "name: CI\n")
    return root


def real_repo_complete(root: Path = REPO_ROOT) -> bool:
    """True once every exercise in info.toml has its stub, solution and suite."""
    try:
        exercises = load_exercises(root / "info.toml")
    except (OSError, KeyError, ValueError):
        return False
    return bool(exercises) and all(
        (root / e.stub_file).is_file()
        and (root / "solutions" / f"{e.module}.py").is_file()
        and (root / e.test_file).is_file()
        for e in exercises
    )


@pytest.fixture(scope="session")
def fixture_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The stand-in repository (always; for checks that need its known secrets)."""
    return make_fixture_repo(tmp_path_factory.mktemp("fixture-repo"))


@pytest.fixture(scope="session")
def source_repo(fixture_repo: Path) -> Path:
    """This repository when its exercise set is complete, otherwise the stand-in."""
    return REPO_ROOT if real_repo_complete() else fixture_repo


def run_python(
    args: list[str], cwd: Path, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run this interpreter in `cwd`, as a student would run `python -m ...` there (outside
    GitHub Actions unless `env` says otherwise)."""
    environment = dict(os.environ)
    for name in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "PYTEST_ADDOPTS", "PYTHONPATH"):
        environment.pop(name, None)
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


GRADER_FIXTURE = REPO_ROOT / "selfcheck" / "grader" / "fixtures" / "repo"


def make_graded_source(root: Path) -> Path:
    """An instructor repository around the grader's fixture exercise set (selfcheck/grader):
    three exercises with several tests each, so partial credit shows, graded in about a second.
    Its submissions stay out (tests copy them in as a student's commits)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "submissions", "grading-results")
    shutil.copytree(GRADER_FIXTURE, root, ignore=ignore)
    shutil.copytree(REPO_ROOT / "grader", root / "grader",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "LICENSE", ".gitignore"):
        shutil.copy2(REPO_ROOT / name, root / name)
    return root


def submission(name: str) -> Path:
    """One of the grader fixture's submissions (partial, syntax_error, ...)."""
    return GRADER_FIXTURE / "submissions" / name


@pytest.fixture(scope="session")
def graded_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_graded_source(tmp_path_factory.mktemp("graded-source") / "repo")


def real_partial(destination: Path) -> Path:
    """A partially correct submission of the real set: the first two exercises solved, the
    third with a lock but an unguarded withdrawal (partial credit within it), the rest stubs."""
    exercises = load_exercises(REPO_ROOT / "info.toml")
    destination.mkdir()
    for exercise in exercises[:2]:
        shutil.copy2(REPO_ROOT / "solutions" / f"{exercise.module}.py", destination)
    corpus = tomllib.loads((REPO_ROOT / "selfcheck/variants/bank_account.toml").read_text())
    (variant,) = [v for v in corpus["variant"] if v["name"] == "withdraw_check_outside_lock"]
    code = (REPO_ROOT / "solutions/bank_account.py").read_text(encoding="utf-8")
    for edit in variant["edit"]:
        assert code.count(edit["old"]) == 1, edit["old"]
        code = code.replace(edit["old"], edit["new"])
    (destination / "bank_account.py").write_text(code, encoding="utf-8")
    return destination

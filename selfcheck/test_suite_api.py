"""The suites use the grader only through its testing API, `grader.testing` (issue 19).

tests/*.py are published to students: they read as the exercise's checks, with the judge's
plumbing behind one import. Read with `ast`: a suite imports no grader module but
grader.testing, only names the API holds, and reads no private attribute (`counter._raw`); the
suite `grader new` writes keeps to the same; and the API holds nothing no suite uses. The reader
is proven on a suite that breaks each of those and on one that keeps to them.
"""

from __future__ import annotations

import ast

import pytest

import grader.testing
from grader.instructor.new.scaffold import suite_text
from grader.paths import REPO_ROOT

API = "grader.testing"
SUITES = sorted((REPO_ROOT / "tests").glob("test_*.py"))


def _is_grader(module: str) -> bool:
    return module == "grader" or module.startswith("grader.")


def plumbing(source: str) -> list[str]:
    """What a suite's source uses of the grader beyond its API, as 'line N: what'."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [f"line {node.lineno}: import {alias.name}" for alias in node.names if _is_grader(alias.name)]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                found.append(f"line {node.lineno}: relative import from {'.' * node.level}{module}")
            elif module == API:
                found += [f"line {node.lineno}: {alias.name} is not in {API}" for alias in node.names
                          if alias.name not in grader.testing.__all__]
            elif _is_grader(module):
                found.append(f"line {node.lineno}: from {module} import ...")
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            found.append(f"line {node.lineno}: private attribute .{node.attr}")
        elif isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute)):
            name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
            if name in ("__import__", "import_module"):
                found.append(f"line {node.lineno}: {name}(...)")
    return sorted(found, key=lambda text: int(text.split(":")[0].split()[1]))


def api_names_used(source: str) -> set[str]:
    return {alias.name for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.ImportFrom) and node.module == API for alias in node.names}


@pytest.mark.parametrize("suite", SUITES, ids=lambda path: path.name)
def test_a_suite_imports_the_grader_only_through_its_testing_api(suite) -> None:
    source = suite.read_text(encoding="utf-8")
    assert plumbing(source) == [], f"{suite.name} reaches past {API}"
    assert api_names_used(source), f"{suite.name} does not use {API}"


def test_the_suite_grader_new_writes_uses_only_the_api() -> None:
    source = suite_text("semaphore_pool", "A pool of slots", "S")
    assert plumbing(source) == []
    assert api_names_used(source) >= {"require", "site_of"}


def test_the_api_holds_what_the_suites_use_and_nothing_else() -> None:
    used = set().union(*(api_names_used(path.read_text(encoding="utf-8")) for path in SUITES))
    used |= api_names_used(suite_text("semaphore_pool", "A pool of slots", "S"))
    assert set(grader.testing.__all__) == used
    assert all(hasattr(grader.testing, name) for name in grader.testing.__all__)


def test_the_rule_quoting_lives_with_the_judge_not_beside_the_suites() -> None:
    assert not (REPO_ROOT / "tests" / "conftest.py").exists()


def test_the_reader_names_every_way_past_the_api_and_accepts_a_suite_that_keeps_to_it() -> None:
    reaching = """
import grader.feedback
from grader.judge.checks import DEADLOCKS, require
from grader.testing import QUIET_PHASES, require
from grader import testing
from .helpers import thing
import importlib

def test_x(make_harness):
    harness = make_harness(check_locks=False)
    counter = harness.RawValue("i", 0)
    total = counter._raw.value
    checks = importlib.import_module("grader.judge.checks")
"""
    assert plumbing(reaching) == [
        "line 2: import grader.feedback",
        "line 3: from grader.judge.checks import ...",
        "line 4: QUIET_PHASES is not in grader.testing",
        "line 5: from grader import ...",
        "line 6: relative import from .helpers",
        "line 12: private attribute ._raw",
        "line 13: import_module(...)",
    ]
    keeping = """
import pytest
from grader.testing import Checks, require, site_of

@pytest.mark.rule("L1")
def test_x(make_harness, mod):
    harness = make_harness(checks=Checks.DEADLOCKS)
    counter = harness.RawValue("i", 0, name="counter")
    harness.check()
    require(harness.final(counter) == 0, "...", site=site_of(mod.run))
    assert type(counter).__name__
"""
    assert plumbing(keeping) == []


def test_a_runs_journal_reads_as_lock_steps_and_accesses_by_the_names_the_suite_gave() -> None:
    site = ["exercises/deadlock_fix.py", 30, "transfer"]
    journal = grader.testing.RunJournal([
        {"k": "lock", "pid": 1, "t": 1, "lock": "u0", "name": "`locks[0]`"},
        {"k": "lock", "pid": 1, "t": 2, "lock": "u1", "name": "`locks[1]`"},
        {"k": "acquire", "pid": 7, "t": 3, "lock": "u1", "name": "`locks[1]`", "site": site},
        {"k": "access", "pid": 7, "t": 4, "op": "read", "loc": "balances[0]", "held": ["u1"], "site": site},
        {"k": "access", "pid": 7, "t": 5, "op": "write", "loc": "balances[1]", "held": ["u1", "u9"]},
        {"k": "release", "pid": 7, "t": 6, "lock": "u1", "name": "`locks[1]`", "site": None},
        {"k": "parent_access", "pid": 1, "t": 7, "op": "read", "loc": "balances[0]"},
    ])
    where = grader.testing.Site("exercises/deadlock_fix.py", 30, "transfer")
    assert [(s.pid, s.lock, s.acquired, s.site) for s in journal.lock_steps()] == [
        (7, "locks[1]", True, where), (7, "locks[1]", False, None)]
    assert [(a.pid, a.location, a.written, a.held, a.site) for a in journal.accesses()] == [
        (7, "balances[0]", False, ("locks[1]",), where), (7, "balances[1]", True, ("locks[1]", "u9"), None)]

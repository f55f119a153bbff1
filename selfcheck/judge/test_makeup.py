"""The judge's make-up (grader.judge.makeup) and the command line that keeps it clean
(grader.grading.runner): only the grader, the tests, the standard library and the installed packages
run in the judge; a module from anywhere else fails every test of the session as interference.

The suites are graded for real (a pytest subprocess started as the grader starts it), on a
one-exercise repository whose tests either stay clean or load a module from outside.
"""

from __future__ import annotations

import importlib.util
import py_compile
import shutil
import sys
import textwrap
import types
from pathlib import Path

import pytest

from grader.grading.runner import pytest_command, run_suite
from grader.grading.scoring import score_exercise
from grader.judge.makeup import GRADER_PACKAGE, MakeUp, trusted_roots
from grader.judge.results_channel import ResultsPipe
from grader.metadata import REPO_ROOT, load_exercises

INFO = """\
[[exercises]]
name = "probe"
module = "probe"
title = "Probe"
points = 2
timeout = 60
"""

SUITE = """\
import importlib.util
import sys

OUTSIDER = {outsider!r}


def load_the_outsider():
    spec = importlib.util.spec_from_file_location("outsider", OUTSIDER)
    module = importlib.util.module_from_spec(spec)
    sys.modules["outsider"] = module
    spec.loader.exec_module(module)


def test_answer(student_module):
    assert student_module("probe").answer() == 42


def test_later():
    if {late!r}:
        load_the_outsider()
"""


def make_repo(root: Path, late: bool, outsider: Path) -> Path:
    (root / "tests").mkdir(parents=True)
    (root / "exercises").mkdir()
    shutil.copy2(REPO_ROOT / "pyproject.toml", root / "pyproject.toml")
    (root / "info.toml").write_text(INFO, encoding="utf-8")
    (root / "exercises" / "probe.py").write_text("def answer():\n    return 42\n", encoding="utf-8")
    suite = SUITE.format(outsider=str(outsider), late=late)
    (root / "tests" / "test_probe.py").write_text(textwrap.dedent(suite), encoding="utf-8")
    return root


def grade_probe(root: Path):
    (exercise,) = load_exercises(root / "info.toml")
    run = run_suite(exercise.test_file, root / "exercises", root, root, 60.0)
    return score_exercise(exercise, run)


@pytest.fixture
def outsider(tmp_path: Path) -> Path:
    path = tmp_path / "elsewhere" / "outsider.py"
    path.parent.mkdir()
    path.write_text("LOADED = True\n", encoding="utf-8")
    return path


def test_a_clean_judge_grades_as_usual(tmp_path: Path, outsider: Path) -> None:
    result = grade_probe(make_repo(tmp_path / "repo", late=False, outsider=outsider))
    assert (result.score, [t.status for t in result.tests]) == (2.0, ["passed", "passed"]), result


def test_a_module_from_outside_voids_every_test_of_the_session(tmp_path: Path,
                                                               outsider: Path) -> None:
    # test_answer passes before test_later loads the module: the session's end still sees it.
    result = grade_probe(make_repo(tmp_path / "repo", late=True, outsider=outsider))
    assert result.score == 0.0, result
    assert [t.concept for t in result.tests] == ["interference"]
    assert "interfered with the judge" in result.message
    assert str(outsider) in result.message


def test_bytecode_that_asks_not_to_be_checked_is_checked_in_the_judge(tmp_path: Path, outsider: Path) -> None:
    # The suite takes its expectation from a module beside it; the checkout ships that module's
    # cache as hash-based bytecode marked "do not check", compiled from other text.
    root = make_repo(tmp_path / "repo", late=False, outsider=outsider)
    expected = root / "tests" / "expected.py"
    expected.write_text("ANSWER = 42\n", encoding="utf-8")
    (root / "tests" / "test_probe.py").write_text(
        "from expected import ANSWER\n\n\ndef test_answer(student_module):\n"
        "    assert student_module('probe').answer() == ANSWER\n", encoding="utf-8")
    forged = tmp_path / "forged.py"
    forged.write_text("ANSWER = 41\n", encoding="utf-8")
    py_compile.compile(str(forged), cfile=importlib.util.cache_from_source(str(expected)), dfile=str(expected),
                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH, doraise=True)
    result = grade_probe(root)
    assert (result.score, [t.status for t in result.tests]) == (2.0, ["passed"]), result


def test_trusted_places_are_the_stdlib_the_packages_the_grader_and_the_tests(
        tmp_path: Path) -> None:
    tests = tmp_path / "tests"
    tests.mkdir()
    makeup = MakeUp(trusted_roots(tests))
    assert makeup.trusted(shutil.__file__)  # the standard library
    assert makeup.trusted(pytest.__file__)  # an installed package
    assert makeup.trusted(str(GRADER_PACKAGE / "runner.py"))
    assert makeup.trusted(str(tests / "test_x.py"))
    assert not makeup.trusted(str(tmp_path / "conftest.py"))
    assert not makeup.trusted(str(tmp_path / "exercises" / "probe.py"))
    # A link inside a trusted place to a file outside it is judged by where it leads.
    (tests / "link.py").symlink_to(tmp_path / "conftest.py")
    assert not makeup.trusted(str(tests / "link.py"))
    # ...but a link the system put in its own places is the system's (Debian's Python 3.14 has
    # /usr/lib/python3.14/sitecustomize.py -> /etc/python3.14/sitecustomize.py).
    system = tmp_path / "stdlib"
    system.mkdir()
    (system / "sitecustomize.py").symlink_to(tmp_path / "etc-sitecustomize.py")
    with_system = MakeUp(trusted_roots(tests), system=[system])
    assert with_system.trusted(str(system / "sitecustomize.py"))
    assert not with_system.trusted(str(tests / "link.py"))
    assert not makeup.trusted(str(system / "sitecustomize.py"))
    stranger = types.ModuleType("stranger")
    stranger.__file__ = str(tmp_path / "stranger.py")
    foreign = makeup.foreign_files([stranger])
    assert str(tmp_path / "stranger.py") in foreign
    assert __file__ in foreign  # this test module: the self-check is no place the judge trusts


def test_the_judges_command_line_takes_nothing_from_the_graded_tree(tmp_path: Path) -> None:
    results = ResultsPipe()
    try:
        command = pytest_command("tests/test_probe.py", tmp_path / "exercises", results, tmp_path,
                                 tmp_path / "stack", tmp_path, tmp_path / "path")
    finally:
        results.close_unused()
        results.events()
    assert command[:3] == [sys.executable, "-I", "-c"]  # no cwd, PYTHONPATH or user site
    assert command[4:6] == [str(tmp_path / "path"), str(tmp_path / "tests")]  # all it adds
    assert "--noconftest" in command
    assert command[command.index("-p") + 1] == "grader.judge.plugin"
    assert f"--rootdir={tmp_path}" in command
    assert f"--config-file={tmp_path / 'pyproject.toml'}" in command
    assert f"--target={tmp_path / 'exercises'}" in command
    # Every path is glued to its option: none stands alone, where pytest could take it for a
    # test path and collect conftest.py files from it.
    alone = [arg for arg in command[6:] if str(tmp_path) in arg and not arg.startswith("--")]
    assert alone == [], alone

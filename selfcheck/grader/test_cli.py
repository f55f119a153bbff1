"""The CLI's contract: exit codes, --exercise and --list, colour, subcommand dispatch,
--tests-from with tamper evidence, and the robustness promises (no process left running, no
traceback of the grader's own, a crashing submission costs only its exercise)."""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import re
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest

from grader import cli
from grader.grading import grade as grading

REPO = Path(__file__).resolve().parents[2]


# -- exit codes ---------------------------------------------------------------------------------

@pytest.mark.parametrize("args, fragment", [
    (["--no-such-option"], "unrecognized arguments"),
    (["--exercise", "nope"], "no exercise called 'nope'; the exercises are: counter, greeting"),
    (["--target", "does/not/exist"], "no such directory"),
    (["--color", "sometimes"], "invalid choice"),
])
def test_usage_errors_exit_2(args: list[str], fragment: str, fixture_repo: Path, grade) -> None:
    run = grade(fixture_repo, *args)
    assert run.code == 2
    assert fragment in run.stderr and "Traceback" not in run.stderr


def test_a_root_that_is_not_an_exercise_repository_is_a_usage_error(tmp_path: Path, grade) -> None:
    run = grade(tmp_path)
    assert run.code == 2 and "not an exercise repository" in run.stderr


def test_an_internal_error_exits_3_without_a_traceback(fixture_repo: Path, grade,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the runner broke")

    monkeypatch.setattr(grading, "run_suite", broken)
    run = grade(fixture_repo, "--exercise", "counter", "-q")
    assert run.code == 3
    assert run.stderr.strip() == (
        "internal error in the grader (not your code): RuntimeError: the runner broke")


def test_python_dash_m_grader_full_marks_exit_0_and_points_lost_exit_1(fixture_repo: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "NO_COLOR")}
    base = [sys.executable, "-m", "grader", "--root", str(fixture_repo), "--exercise", "counter"]
    passed = subprocess.run([*base, "--target", "solutions"], capture_output=True, text=True,
                            cwd=REPO, env=env, timeout=60)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "Total: 10/10 points" in passed.stdout and "\033[" not in passed.stdout
    assert "[1/1] grading counter" in passed.stderr  # progress, plain when not a terminal
    stubs = subprocess.run(base, capture_output=True, text=True, cwd=REPO, env=env, timeout=60)
    assert stubs.returncode == 1
    assert "Total: 0/10 points" in stubs.stdout


def test_files_of_the_working_directory_never_replace_what_the_grader_imports(
        own_repo: Path) -> None:
    # `python -m grader` in a checkout puts it first on the path: a json.py there (the grader
    # imports json after starting) and a sitecustomize.py must not run in the grader or judge.
    for name in ("json.py", "sitecustomize.py", "pytest_timeout.py"):
        (own_repo / name).write_text("raise SystemExit('the checkout ran its code: " + name + "')\n")
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "PYTHONPATH")}
    done = subprocess.run([sys.executable, "-m", "grader", f"--root={own_repo}", "--exercise", "counter", "--target",
                           "solutions", "-q", "--no-report"], capture_output=True, text=True,
                          cwd=own_repo, env=env, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "the checkout ran its code" not in done.stdout + done.stderr


# -- selection, listing, colour -----------------------------------------------------------------

def test_exercise_grades_one_and_list_shows_the_last_status(own_repo: Path, grade) -> None:
    before = grade(own_repo, "--list", "--target", "submissions/partial")
    assert before.code == 0
    assert re.search(r"1  counter +10  not graded yet", before.stdout)

    run = grade(own_repo, "--target", "submissions/partial", "--exercise", "greeting", "-q")
    assert run.code == 1
    assert "greeting" in run.stdout and "counter" not in run.stdout.split("Total")[0]

    after = grade(own_repo, "--list", "--target", "submissions/partial")
    assert re.search(r"greeting +5  partial 2.5/5 ", after.stdout)
    assert re.search(r"counter +10  not graded yet", after.stdout)

    (own_repo / "submissions" / "partial" / "greeting.py").write_text(
        'def greet(name):\n    return f"Hello, {name}!"\n', encoding="utf-8")
    changed = grade(own_repo, "--list", "--target", "submissions/partial")
    assert "partial 2.5/5 (changed since graded)" in changed.stdout


def test_colour_always_and_no_color(fixture_repo: Path, grade) -> None:
    coloured = grade(fixture_repo, "--exercise", "counter", "--target", "solutions", "-q",
                     "--color", "always")
    assert "\033[32m" in coloured.stdout
    plain = grade(fixture_repo, "--exercise", "counter", "--target", "solutions", "-q",
                  env={"NO_COLOR": "1", "FORCE_COLOR": "1"})
    assert "\033[" not in plain.stdout


# -- subcommands --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(cli.COMMANDS))
def test_subcommands_are_dispatched_with_their_arguments(name: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[dict[str, str]] = []
    module = cli.COMMANDS[name].module
    fake = types.ModuleType(module)
    parser = argparse.ArgumentParser(argument_default=argparse.SUPPRESS)
    parser.add_argument("--check")
    fake.parser = lambda: parser  # type: ignore[attr-defined]
    fake.main = lambda **given: seen.append(given) or 7  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module, fake)
    assert cli.main([name, "--check", "x"]) == 7
    assert seen == [{"check": "x"}]


@pytest.mark.parametrize("name", list(cli.COMMANDS))
def test_every_command_has_a_parser_and_a_keyword_only_main_that_takes_its_options(name: str) -> None:
    module = importlib.import_module(cli.COMMANDS[name].module)
    parameters = inspect.signature(module.main).parameters.values()
    assert parameters and all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters)
    options = {action.dest for action in module.parser()._actions if action.dest != "help"}
    assert options == {p.name for p in parameters}, "every option is a keyword of main(), and back"
    assert module.main.__doc__, f"{module.__name__}.main() says what it does with its arguments"


def test_help_lists_every_command_of_the_table() -> None:
    assert cli.build_parser().epilog == (
        "Other commands: python -m grader watch | check | new | workflow | release | batch "
        "| gradescope (each with --help). Exit codes: 0 full marks, 1 points lost, 2 usage error, 3 grader error.")


def test_check_passes_when_solutions_pass_and_stubs_fail(fixture_repo: Path, capsys) -> None:
    code = cli.main(["check", "--root", str(fixture_repo), "-q", "--color", "never"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert re.search(r"counter +10/10 +0/10  ok", out)
    assert "check passed" in out


def test_check_fails_when_a_stub_passes(own_repo: Path, capsys) -> None:
    stub = own_repo / "exercises" / "counter.py"
    stub.write_text((own_repo / "solutions" / "counter.py").read_text())
    code = cli.main(["check", "--root", str(own_repo), "-q", "--exercise", "counter"])
    out = capsys.readouterr().out
    assert code == 1
    assert "stub passes" in out and "check failed" in out


# -- tests from a pristine checkout, tamper evidence ------------------------------------------

def test_tests_from_a_pristine_checkout_and_tampered_files(own_repo: Path, fixture_repo: Path,
                                                           grade, tmp_path: Path) -> None:
    manifest = pytest.importorskip("grader.grading.release_manifest")
    manifest.write_manifest(own_repo, own_repo / manifest.MANIFEST_NAME)
    # The student "fixes" the test instead of their code.
    (own_repo / "tests" / "test_counter.py").write_text(
        "def test_add():\n    pass\n", encoding="utf-8")

    cheated = grade(own_repo, "--exercise", "counter", "-q", "--json", str(tmp_path / "a.json"))
    assert cheated.code == 0  # their own tests pass...
    data = json.loads((tmp_path / "a.json").read_text())
    assert data["tampered"] == ["tests/test_counter.py"]  # ...but the evidence shows
    assert "differ from the release: tests/test_counter.py" in cheated.stdout

    pristine = grade(own_repo, "--exercise", "counter", "-q", "--tests-from", str(fixture_repo),
                     "--json", str(tmp_path / "b.json"))
    assert pristine.code == 1
    assert json.loads((tmp_path / "b.json").read_text())["exercises"][0]["score"] == 0


# -- robustness ---------------------------------------------------------------------------------

def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie waits for init to reap it: it runs nothing)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_nothing_the_student_started_is_left_running(fixture_repo: Path, grade,
                                                      tmp_path: Path) -> None:
    pid_file = tmp_path / "pids"
    run = grade(fixture_repo, "--target", "submissions/leftover", "--exercise", "counter", "-q",
                env={"FIXTURE_PID_FILE": str(pid_file)})
    assert run.code == 0
    pids = [int(p) for p in pid_file.read_text().split()]
    assert len(pids) == 2  # a subprocess, and a fork that moved to a process group of its own
    deadline = time.monotonic() + 5
    while any(_running(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_running(p) for p in pids)


@pytest.mark.skipif(sys.platform == "win32", reason="the stuck line needs SIGUSR1")
def test_an_overrun_is_stopped_at_the_budget(fixture_repo: Path, grade) -> None:
    started = time.monotonic()
    run = grade(fixture_repo, "--target", "submissions/import_loop", "--exercise", "sleeper", "-q")
    elapsed = time.monotonic() - started
    assert run.code == 1 and "timeout" in run.stdout
    assert ("still running at submissions/import_loop/sleeper.py:2, at import time"
            in " ".join(run.stdout.split()))
    # The submission loops at import and never ends by itself, so the grading's return is the
    # stop; the whole 5 s budget was given first. (No upper bound on the wall time: that would
    # judge the machine's load, not the grader.)
    assert elapsed >= 5, elapsed


def test_a_process_that_exits_mid_test_costs_only_its_exercise(own_repo: Path, grade,
                                                               tmp_path: Path) -> None:
    target = own_repo / "submissions" / "exits"
    target.mkdir()
    for name in ("greeting", "sleeper"):
        (target / f"{name}.py").write_text((own_repo / "solutions" / f"{name}.py").read_text())
    (target / "counter.py").write_text("import os\n\n\ndef add(a, b):\n    os._exit(4)\n")
    run = grade(own_repo, "--target", str(target), "-q", "--json", str(tmp_path / "r.json"))
    data = json.loads((tmp_path / "r.json").read_text())
    assert run.code == 1
    assert [e["score"] for e in data["exercises"]] == [0, 5, 6]
    counter = data["exercises"][0]
    assert counter["tests"][0]["status"] == "error"
    assert "ended unexpectedly (exit code 4)" in counter["message"]
    assert "Traceback" not in run.stderr


def test_a_missing_suite_is_reported_not_crashed_on(own_repo: Path, grade) -> None:
    (own_repo / "tests" / "test_greeting.py").unlink()
    run = grade(own_repo, "--target", "solutions", "-q", "--exercise", "greeting")
    assert run.code == 1
    assert "No tests found for this exercise (tests/test_greeting.py)" in run.stdout

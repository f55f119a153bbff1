"""Run one exercise's suite in a pytest subprocess that cannot hang, flood or outlive the grader.

Each suite gets its own process in a new session (so its process group holds every process the
student's code starts), a time budget after which the whole group is killed, and an output pipe
of which only a bounded head and tail are kept. Whatever the student's code does at import time
or in its processes, the grader gets back a `SuiteRun` and carries on with the next exercise.

The judge's configuration comes only from the grader: an isolated interpreter (`python -I`: no
working directory, PYTHONPATH or user site on its path) to which only the grader package and the
tests' folder are added; the judge plugin named explicitly and no conftest.py collected
(`--noconftest`); rootdir and configuration file pinned to the tests' checkout; every option
with a path as one argument (`--opt=value`), so no path is ever taken for a test path.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.judge.results_channel import ResultsPipe
from grader.paths import REPO_ROOT
from grader.process_tree import kill_session

KEEP_OUTPUT = 16_384  # bytes of the suite's output kept at the start and at the end
STACK_WAIT = 1.0  # seconds to wait for the stack dump of an overrunning suite
_FRAME_RE = re.compile(r'^\s*File "(?P<file>.+)", line (?P<line>\d+) in (?P<func>.+)$')
JUDGE_PLUGIN = "grader.judge.plugin"
# Started as `python -I -c BOOTSTRAP GRADER_PATH TESTS_DIR pytest-arguments...`: the two folders
# go first on the path, and pytest runs with the rest of the arguments.
# First of all, bytecode that asks not to be checked against its source is checked anyway
# (what `--check-hash-based-pycs always` does): a checkout may ship such a file in a
# __pycache__ folder, and it would run instead of the source the manifest vouches for.
BOOTSTRAP = ("import _imp; _imp.check_hash_based_pycs = 'always'; "
             "import sys; sys.path[:0] = sys.argv[1:3]; del sys.argv[1:3]; "
             "import pytest; sys.exit(pytest.console_main())")


@dataclass(frozen=True)
class StuckAt:
    """Where the student's code was running when the budget ran out."""

    file: str
    line: int
    function: str


@dataclass
class SuiteRun:
    """The raw outcome of one suite's pytest process, before any scoring."""

    events: list[dict[str, Any]] = field(default_factory=list)
    returncode: int | None = None
    timed_out: bool = False
    stuck_at: StuckAt | None = None
    output: str = ""
    duration: float = 0.0


class _BoundedReader(threading.Thread):
    """Drains a pipe, keeping its first and last KEEP_OUTPUT bytes: huge output costs no memory."""

    def __init__(self, stream: Any) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def run(self) -> None:
        try:
            while chunk := self.stream.read1(65536):
                self.total += len(chunk)
                room = KEEP_OUTPUT - len(self.head)
                if room > 0:
                    self.head += chunk[:room]
                    chunk = chunk[room:]
                if chunk:
                    self.tail = (self.tail + chunk)[-KEEP_OUTPUT:]
        except (OSError, ValueError):
            pass

    def text(self) -> str:
        head = self.head.decode("utf-8", "replace")
        if not self.tail:
            return head
        cut = self.total - len(self.head) - len(self.tail)
        marker = f"\n… ({cut} bytes of output cut) …\n" if cut > 0 else ""
        return head + marker + self.tail.decode("utf-8", "replace")


def judge_plugin(tests_root: Path) -> str:
    """The plugin that provides the suites' options and fixtures: grader.judge.plugin, unless the
    tests' own info.toml names a module of their tests/ folder (`judge_plugin = "..."`)."""
    try:
        with (tests_root / "info.toml").open("rb") as handle:
            name = tomllib.load(handle).get("judge_plugin", JUDGE_PLUGIN)
    except (OSError, tomllib.TOMLDecodeError):
        return JUDGE_PLUGIN
    return name if isinstance(name, str) and name.replace(".", "").replace("_", "").isalnum() \
        else JUDGE_PLUGIN


def pytest_command(test_file: str, target: Path, results: ResultsPipe, root: Path,
                   stack_file: Path, tests_root: Path, grader_path: Path) -> list[str]:
    """The command line for one suite; `-s` lets output stream to our bounded pipe."""
    return [
        sys.executable, "-I", "-c", BOOTSTRAP, str(grader_path), str(tests_root / "tests"),
        test_file,
        f"--rootdir={tests_root}",
        f"--config-file={tests_root / 'pyproject.toml'}",
        "--noconftest",
        "-p", judge_plugin(tests_root),
        f"--target={target}",
        "-p", "grader.judge.results_plugin",
        *results.arguments(),
        f"--grader-stack-file={stack_file}",
        f"--grader-root={root}",
        "-p", "no:cacheprovider",
        "-q", "-s", "--tb=short", "--no-header",
    ]


def grader_only_path(scratch: Path) -> Path:
    """A folder holding nothing but the grader package (a link to it), for the judge's path:
    the folder that holds grader/ may be a student's checkout, whose other files must not be
    importable there. Readable by all, so a host that dropped to `nobody` can import from it."""
    folder = scratch / "path"
    folder.mkdir()
    try:
        (folder / "grader").symlink_to(REPO_ROOT / "grader", target_is_directory=True)
    except OSError:  # no symbolic links (Windows without the privilege): the grader's own home
        folder.rmdir()
        return REPO_ROOT
    for path in (scratch, folder):
        path.chmod(0o755)
    return folder


def suite_environment(tests_root: Path) -> dict[str, str]:
    """The grader's environment minus what would configure pytest from outside the grader
    (PYTHONPATH is ignored by the isolated judge; its children then ignore it too)."""
    env = dict(os.environ)
    for name in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTHONPATH", "PYTHONSTARTUP"):
        env.pop(name, None)
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def run_suite(test_file: str, target: Path, tests_root: Path, root: Path, budget: float) -> SuiteRun:
    """Run `tests_root/test_file` against `target` within `budget` seconds; never raises on
    anything the student's code does, and leaves no process of the run behind."""
    with tempfile.TemporaryDirectory(prefix="grader-") as scratch:
        results = ResultsPipe()
        stack_file = Path(scratch) / "pytest.stack"
        started = time.monotonic()
        try:
            process = subprocess.Popen(
                pytest_command(test_file, target, results, root, stack_file, tests_root,
                               grader_only_path(Path(scratch))),
                cwd=tests_root,
                env=suite_environment(tests_root),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=os.name != "nt",
                creationflags=getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0),
                **results.popen_options(),
            )
        except BaseException:
            results.close_unused()
            raise
        results.started()
        reader = _BoundedReader(process.stdout)
        reader.start()
        run = SuiteRun()
        try:
            if not _wait_unreaped(process, budget):
                run.timed_out = True
                run.stuck_at = _dump_stack(process, stack_file, target, root)
        finally:
            kill_session(process)  # before reaping pytest, so its id (the session's) stays ours
            process.wait()
            reader.join(timeout=2.0)
            # A process that escaped the group may still hold the pipe: then leave the reader
            # (a daemon thread) to it rather than block on closing the stream under it.
            if process.stdout is not None and not reader.is_alive():
                process.stdout.close()
        run.duration = time.monotonic() - started
        run.returncode = None if run.timed_out else process.returncode
        run.output = reader.text()
        run.events = results.events()
    return run


def _wait_unreaped(process: subprocess.Popen[bytes], timeout: float) -> bool:
    """Wait for the process to end without reaping it (where the platform allows), so that its
    id, which is also its session's and group's, cannot be reused before we kill the rest."""
    if not hasattr(os, "waitid"):
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    def wait() -> None:
        try:
            os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)
        except ChildProcessError:
            pass

    waiter = threading.Thread(target=wait, daemon=True)
    waiter.start()
    waiter.join(timeout)
    return not waiter.is_alive()


def _dump_stack(process: subprocess.Popen[bytes], stack_file: Path, target: Path,
                root: Path) -> StuckAt | None:
    """Ask the overrunning pytest for its stacks (SIGUSR1, see results_plugin) and find the
    innermost frame in the student's files."""
    if not hasattr(signal, "SIGUSR1") or not stack_file.exists():
        return None
    try:
        os.kill(process.pid, signal.SIGUSR1)
    except ProcessLookupError:
        return None
    # faulthandler writes the dump from its signal handler; wait until the file stops growing.
    deadline = time.monotonic() + STACK_WAIT
    text, previous = "", None
    while time.monotonic() < deadline:
        time.sleep(0.05)
        text = stack_file.read_text(encoding="utf-8", errors="replace")
        if text and text == previous:
            break
        previous = text
    return stuck_location(text, target, root)


def stuck_location(dump: str, target: Path, root: Path) -> StuckAt | None:
    """The most recent frame in a target file, preferring the thread that runs the tests."""
    blocks: list[list[StuckAt]] = []
    pytest_blocks: list[bool] = []
    for raw in dump.splitlines():
        if raw.startswith(("Thread ", "Current thread ")):
            blocks.append([])
            pytest_blocks.append(False)
            continue
        match = _FRAME_RE.match(raw)
        if not match:
            continue
        if not blocks:  # a dump format without thread headers
            blocks.append([])
            pytest_blocks.append(False)
        filename = match.group("file")
        if "_pytest" in filename or "pluggy" in filename:
            pytest_blocks[-1] = True
        path = Path(filename)
        try:
            relative = path.resolve().relative_to(target)
        except (ValueError, OSError):
            continue
        try:
            shown = path.resolve().relative_to(root).as_posix()
        except ValueError:
            shown = (target / relative).as_posix()
        blocks[-1].append(StuckAt(shown, int(match.group("line")), match.group("func").strip()))
    ordered = [b for b, main in zip(blocks, pytest_blocks, strict=True) if main]
    ordered += [b for b, main in zip(blocks, pytest_blocks, strict=True) if not main]
    for frames in ordered:
        if frames:
            return frames[0]
    return None

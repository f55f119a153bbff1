"""What every process of a checked run knows: the run's settings and where its referee is.

The settings travel to child processes inside the pickled lock, value and process objects, so
spawn and forkserver children know them as fork children do. Which locks a process holds, and
what the shared data holds, only the referee knows (`grader/referee/`). The per-process state
(objects kept alive, the harness's fingerprint) is rebuilt whenever the process id changes.
"""

from __future__ import annotations

import functools
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from grader.feedback import Site
from grader.paths import REPO_ROOT
from grader.referee.client import ask

HARNESS_DIR = str(Path(__file__).resolve().parent)


@dataclass(frozen=True)
class Pauses:
    """Schedule control, applied by the referee (`grader/referee/server.py`): how long it may hold
    back an answer so that the processes interleave where a race would hurt.

    An unprotected read-modify-write then loses an update in the first run, while code that holds
    the right lock still gives exact results (no other process can touch its data in between).
    """

    # A child's read made while it holds no lock: answered once another process touches the location.
    after_unlocked_read: float = 0.05
    # A release after reading data under that lock without writing it: answered once another
    # process touches that data (a check-then-act split over two holds).
    after_locked_read: float = 0.02
    # Every other release by a child that leaves it holding nothing.
    after_release: float = 0.0

    @classmethod
    def none(cls) -> Pauses:
        return cls(0.0, 0.0, 0.0)


@dataclass(frozen=True)
class RunConfig:
    """Settings shared by every process of one checked run (picklable)."""

    run_id: str
    journal_dir: str  # the children's stack dumps (the journal itself is the referee's)
    referee: str  # the referee's address: every operation and record goes there
    parent_pid: int
    start_method: str
    student_dirs: tuple[str, ...]
    use_gate: bool = True
    gate_timeout: float = 2.0
    hard_deadline: float = 0.0  # time.time() after which a child ends itself, whatever it does
    substitute_modules: tuple[str, ...] = ()
    private_fds: tuple[int, ...] = ()  # the host's channel to the judge: closed in every child
    # Seconds each child waits before its work and after it, before it ends: longer than any
    # timeout a program could rely on, so that only a real wait (join) sees the work done.
    child_delays: tuple[float, float] = (0.0, 0.0)
    # The grader's modules a child may run besides the instruments (the suites' process targets):
    # a spawned child loads them before it takes its fingerprint, so that they are watched too.
    child_modules: tuple[str, ...] = ()


@dataclass
class ProcessState:
    pid: int
    keep: list[object] = field(default_factory=list)  # objects that must outlive this call
    fingerprint: object = None  # the harness as this process started (grader.harness.instrument_fingerprint)


_STATE: ProcessState | None = None


def process_state() -> ProcessState:
    """This process's state; a fresh one in a newly forked child."""
    global _STATE
    if _STATE is None:
        _STATE = ProcessState(pid=os.getpid())
    return _STATE


def _forget_parent_state() -> None:
    global _STATE
    _STATE = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_parent_state)


def emit(config: RunConfig, kind: str, **fields: object) -> None:
    """Add a record of this process's to the run's journal, through the referee (which takes
    only the kinds and fields a process may report, under its verified process id)."""
    ask(config.referee, "note", kind=kind, fields=fields)


@functools.lru_cache(maxsize=256)
def display_path(filename: str, student_dirs: tuple[str, ...]) -> str:
    """How a student file is named in messages: `exercises/deadlock_fix.py` (cached: it is on
    the path of every journaled event, and resolving a path costs system calls)."""
    path = Path(filename).resolve()
    try:
        return path.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        pass
    for directory in student_dirs:
        base = Path(directory)
        try:
            return (Path(base.name) / path.relative_to(base)).as_posix()
        except ValueError:
            continue
    return path.name


def is_student_file(filename: str, student_dirs: tuple[str, ...]) -> bool:
    return any(filename.startswith(directory + os.sep) for directory in student_dirs)


def _is_machinery(filename: str) -> bool:
    return filename.startswith(HARNESS_DIR) or "multiprocessing" in filename or "threading" in filename


def site_of_frame(frame: FrameType | None, student_dirs: tuple[str, ...]) -> Site | None:
    """The innermost frame of student code at or above `frame`.

    Falls back to the innermost frame outside the harness and the standard library's
    process machinery, so that checks driven by test code still point somewhere useful.
    """
    fallback: Site | None = None
    while frame is not None:
        filename = frame.f_code.co_filename
        if is_student_file(filename, student_dirs):
            return Site(display_path(filename, student_dirs), frame.f_lineno, frame.f_code.co_name)
        if fallback is None and not _is_machinery(filename):
            fallback = Site(display_path(filename, student_dirs), frame.f_lineno, frame.f_code.co_name)
        frame = frame.f_back
    return fallback


def caller_site(config: RunConfig, depth: int = 2) -> Site | None:
    """The student's line that called into the harness."""
    return site_of_frame(sys._getframe(depth), config.student_dirs)


def site_to_json(site: Site | None) -> list[object] | None:
    return None if site is None else [site.file, site.line, site.function]


def site_from_json(data: list[object] | None) -> Site | None:
    if not data:
        return None
    try:
        file, line, function = data
        return Site(str(file), int(line), str(function))  # type: ignore[arg-type]
    except (TypeError, ValueError):  # a journal line that is not ours
        return None


def in_child(config: RunConfig) -> bool:
    return process_state().pid != config.parent_pid


# The Harness objects alive in this (parent) process, by run id: guarded values and
# supervised processes report parent-side events to them.
PARENT_HARNESSES: dict[str, object] = {}


def parent_harness(config: RunConfig) -> object | None:
    if in_child(config):
        return None
    return PARENT_HARNESSES.get(config.run_id)

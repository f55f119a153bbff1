"""A student host as the judge sees the process: start it cleanly, talk to it, and end it with
its tree. What a test asks of it, and the verdicts when it cannot answer, are
`grader.judge.host_session.HostSession`'s; the host's own side is `grader.sandbox.host.RequestServer`.

A host is started fresh for each test: forked from the judge before any student code exists
on Linux (cheap, and every start method then behaves as it did in the pytest process), spawned
elsewhere. Every request waits in short slices with a deadline of the judge's own, so a host
that hangs or dies is noticed whatever the student's code did to the harness inside it.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import pickle
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import grader.harness.session  # noqa: F401 - what a host runs: loaded once here, inherited by every forked host
import grader.sandbox.workers  # noqa: F401
from grader.judge.student_objects import RemoteObject
from grader.machine_load import stretched
from grader.paths import REPO_ROOT
from grader.process_tree import Proc, host_tree, is_multiprocessing_helper, kill_host_tree
from grader.sandbox.confinement import SandboxSettings
from grader.sandbox.host import HOST_STACK_FILE, serve
from grader.sandbox.wire import MAX_REPLY, ProtocolError, frame, parse_reply, unframe

try:  # loaded once here rather than in every forked host (whose confinement resets them)
    import multiprocessing.forkserver  # noqa: F401
    import multiprocessing.resource_tracker  # noqa: F401
except ImportError:  # Windows has no fork server
    pass

POLL_SECONDS = 0.05
START_TIMEOUT = 30.0  # seconds for a host to start and confine itself (spawn on a slow machine)
_LIVE_HOSTS: set[int] = set()  # host pids of this judge: never taken for orphans


class HostDied(Exception):
    """The host ended before it answered (the student's code exited or crashed it)."""

    def __init__(self, exitcode: int | None) -> None:
        super().__init__(f"the host ended with exit code {exitcode}")
        self.exitcode = exitcode


class HostTimeout(Exception):
    """The host did not answer within the judge's deadline (`seconds`, stretched on a busy
    machine); it has been stopped."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"no answer within {seconds:g} s")
        self.seconds = seconds


def hide_from_same_user() -> None:
    """Linux: make this process non-dumpable, so /proc/<judge>/fd and ptrace are closed to
    other processes of the same user (belt and braces beside Landlock)."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0


class _RequestPickler(pickle.Pickler):
    def persistent_id(self, obj: Any) -> Any:
        number = getattr(obj, "_host_ref", None)
        if isinstance(number, int) and isinstance(obj, RemoteObject):  # a StudentModule is one too
            return ("ref", number)
        return None


class HostProcess:
    """One student host's process: requests with deadlines, and a teardown that leaves nothing
    running."""

    def __init__(self, target_dir: Path, *, call_timeout: float = 25.0) -> None:
        self.target_dir = target_dir
        self.call_timeout = call_timeout
        self.sandbox_dir = tempfile.mkdtemp(prefix="mp-sandbox-")
        # The referees of this host's runs live here: the host can read it and reach their
        # sockets, but not write to it (it is the judge's, and only readable by others).
        self.referee_base = tempfile.mkdtemp(prefix="mp-referees-")
        os.chmod(self.referee_base, 0o755)
        self.process: Any = None
        self.connection: Any = None
        self.confinement: dict[str, Any] = {}
        self._journals = 0
        self._requests = 0  # the number of the latest request; its reply carries it back

    # -- life ------------------------------------------------------------------------------
    @property
    def started(self) -> bool:
        return self.process is not None

    def start(self) -> None:
        if self.process is not None:
            return
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            import pwd

            try:
                entry = pwd.getpwnam("nobody")
                os.chown(self.sandbox_dir, entry.pw_uid, entry.pw_gid)
            except (KeyError, OSError):
                pass
        method = "fork" if sys.platform.startswith("linux") else "spawn"
        ctx = multiprocessing.get_context(method)
        ours, theirs = ctx.Pipe()
        settings = SandboxSettings(
            sandbox_dir=self.sandbox_dir,
            target_dir=str(self.target_dir),
            readable=(str(self.target_dir), str(REPO_ROOT), os.path.dirname(os.__file__), self.referee_base),
        )
        self.process = ctx.Process(target=serve, args=(theirs, settings), name="student-host")
        self.process.start()
        _LIVE_HOSTS.add(self.process.pid)
        theirs.close()
        self.connection = ours
        self.confinement = self._receive(START_TIMEOUT, 0).get("ok") or {}

    def journal_dir(self) -> str:
        """A fresh directory inside this host's sandbox for a run's stack dumps (the host creates it;
        the run's journal is its referee's)."""
        self._journals += 1
        return os.path.join(self.sandbox_dir, f"journal-{self._journals}")

    def close(self) -> None:
        """End the host and every process it started; remove the sandbox."""
        if self.process is not None:
            try:
                self.connection.send_bytes(b"bye")
            except (OSError, ValueError):
                pass
            self.process.join(2.0)
            self.kill_tree()
            self.connection.close()
            _LIVE_HOSTS.discard(self.process.pid)
            self.process = None
        shutil.rmtree(self.sandbox_dir, ignore_errors=True)
        shutil.rmtree(self.referee_base, ignore_errors=True)

    # -- requests --------------------------------------------------------------------------
    def request(self, *message: Any, timeout: float | None = None) -> dict[str, Any]:
        self.start()
        buffer = io.BytesIO()
        _RequestPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(message)
        self._requests += 1
        try:
            self.connection.send_bytes(frame(self._requests, buffer.getvalue()))
        except (OSError, ValueError):
            raise HostDied(self._exitcode()) from None
        return self._receive(timeout if timeout is not None else self.call_timeout, self._requests)

    def _receive(self, timeout: float, number: int) -> dict[str, Any]:
        """The reply to request `number`. Replies to earlier requests are dropped: their waits
        were cut short (pytest-timeout's stop raises wherever the judge is), and taking one as
        this request's answer would shift every answer after it by one."""
        started = time.monotonic()
        while True:
            while not self.connection.poll(POLL_SECONDS):
                if self.process.exitcode is not None and not self.connection.poll(0):
                    raise HostDied(self.process.exitcode)
                allowed = stretched(timeout)
                if time.monotonic() - started > allowed:
                    self.dump_stacks()
                    self.kill_tree()
                    raise HostTimeout(round(allowed, 1))
            try:
                raw = self.connection.recv_bytes(MAX_REPLY)
            except EOFError:
                self.process.join(1.0)
                raise HostDied(self._exitcode()) from None
            except OSError as error:  # longer than MAX_REPLY: the protocol was broken
                self.kill_tree()
                raise ProtocolError("the host's reply is too long") from error
            answered, body = unframe(raw)
            if answered == number:
                return parse_reply(body)
            if answered > number:
                self.kill_tree()
                raise ProtocolError("the host answered a request it was never sent")

    def _exitcode(self) -> int | None:
        if self.process is None:
            return None
        self.process.join(1.0)
        return self.process.exitcode

    # -- stopping ----------------------------------------------------------------------------
    def descendants(self, table: list[Proc] | None = None) -> list[int]:
        """Every live process below the host (and, on Linux, orphans adopted by this judge),
        from `table` (live processes) if given, else from a fresh reading."""
        if self.process is None or self.process.pid is None:
            return []
        return host_tree(self.process.pid, table, spare=_LIVE_HOSTS)

    def dump_stacks(self) -> None:
        """Ask the host and its children where they are (faulthandler on SIGUSR1)."""
        if not hasattr(signal, "SIGUSR1") or self.process is None:
            return
        for pid in [self.process.pid, *self.descendants()]:
            if is_multiprocessing_helper(pid):  # SIGUSR1 would end it, not dump its stack
                continue
            try:
                os.kill(pid, signal.SIGUSR1)
            except OSError:
                pass
        time.sleep(0.3)

    def host_stack_file(self) -> str:
        return os.path.join(self.sandbox_dir, HOST_STACK_FILE)

    def kill_tree(self) -> None:
        """Kill the host, every process below it and the orphans this judge adopted."""
        if self.process is not None:
            kill_host_tree(self.process, spare=_LIVE_HOSTS)

"""What a student host does to itself before it loads any student code.

Layers, each useful on its own:
* descriptors: everything inherited from the judge is closed except stdout, stderr and the
  host's own request pipe, so no student process holds the judge's results channel;
* private /dev/shm and /tmp (Linux, as root): a mount namespace of the host's own with a fresh
  tmpfs on each, so no other grading's semaphores or files are visible and none of the host's
  outlive it (`private_tmp`);
* an unprivileged user: a host started by a root grader becomes `nobody` (when that user can
  read the code it must run), so it cannot touch root's files or signal root's processes;
* Landlock (Linux): writes only beneath the test's sandbox directory and /dev/shm, no TCP, no
  signals or ptrace beyond the sandbox, whatever the user;
* limits: files written are capped in size, so output cannot fill the disk.
"""

from __future__ import annotations

import os
import signal
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path

from grader.sandbox import landlock, private_tmp

FILE_SIZE_LIMIT = 64 * 1024 * 1024  # bytes per file a student process may write
SANDBOX_USER = "nobody"
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class SandboxSettings:
    """Where the host may write, what it loads, and whom it becomes (picklable)."""

    sandbox_dir: str
    target_dir: str
    readable: tuple[str, ...] = ()  # code the host needs to read after dropping privileges
    user: str | None = SANDBOX_USER
    file_size_limit: int = FILE_SIZE_LIMIT


@dataclass
class Confinement:
    """What was applied, for the threat model's "what holds here" and for tests."""

    closed_descriptors: int = 0
    user: str | None = None
    landlock_abi: int = 0
    private_dirs: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def close_inherited_descriptors(keep: set[int]) -> int:
    """Close every descriptor but `keep`: none of the judge's may reach student code."""
    closed = 0
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd" if os.path.isdir("/proc/self/fd") else "/dev/fd")]
    except OSError:
        fds = list(range(3, 256))
    for fd in fds:
        if fd in keep:
            continue
        try:
            os.close(fd)
            closed += 1
        except OSError:
            pass
    return closed


def readable_by_others(path: str) -> bool:
    """Whether a user with no special rights can reach and read `path` (mode bits only)."""
    current = Path(path).resolve()
    try:
        mode = current.stat().st_mode
    except OSError:
        return False
    if not mode & stat.S_IROTH or (stat.S_ISDIR(mode) and not mode & stat.S_IXOTH):
        return False
    for parent in current.parents:
        try:
            if not parent.stat().st_mode & stat.S_IXOTH:
                return False
        except OSError:
            return False
    return True


def _drop_privileges(settings: SandboxSettings, report: Confinement) -> None:
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or not settings.user:
        return
    unreadable = [p for p in settings.readable if not readable_by_others(p)]
    if unreadable:
        report.notes.append(f"stayed root: {SANDBOX_USER} cannot read {unreadable[0]}")
        return
    import pwd  # POSIX only, like running as root

    try:
        entry = pwd.getpwnam(settings.user)
    except KeyError:
        report.notes.append(f"stayed root: there is no user {settings.user}")
        return
    os.setgroups([])
    os.setgid(entry.pw_gid)
    os.setuid(entry.pw_uid)
    os.environ["HOME"] = settings.sandbox_dir
    report.user = settings.user


def _make_temporary_dirs_private(settings: SandboxSettings, report: Confinement) -> None:
    """Before dropping privileges (mounting needs them) and before Landlock (which forbids it)."""
    if not sys.platform.startswith("linux"):
        return
    if os.geteuid() != 0:
        report.notes.append("shared /dev/shm and /tmp: a private mount needs a root grader")
        return
    keep = [settings.sandbox_dir, settings.target_dir, *settings.readable, *sys.path,
            sys.prefix, sys.base_prefix, sys.exec_prefix]
    try:
        keep.append(os.getcwd())
        report.private_dirs = private_tmp.isolate(keep)
    except OSError as error:
        report.notes.append(f"shared /dev/shm and /tmp: {error}")


def _reset_inherited_multiprocessing_state() -> None:
    """A forked host must not talk to helper processes of the judge's (their pipes are closed)."""
    try:
        from multiprocessing import forkserver, resource_tracker
    except ImportError:
        return
    tracker = getattr(resource_tracker, "_resource_tracker", None)
    for name in ("_fd", "_pid"):
        if tracker is not None and hasattr(tracker, name):
            setattr(tracker, name, None)
    server = getattr(forkserver, "_forkserver", None)
    for name in ("_forkserver_address", "_forkserver_alive_fd", "_forkserver_pid"):
        if server is not None and hasattr(server, name):
            setattr(server, name, None)
    # The judge's own multiprocessing temporary directory (where a fork server's socket goes) is
    # not the host's: under a private /tmp it does not even exist there.
    from multiprocessing import process

    process.current_process()._config.pop("tempdir", None)


def confine_host(settings: SandboxSettings, keep_fds: set[int]) -> Confinement:
    """Apply every layer this platform has, in an order where each step still can."""
    report = Confinement()
    if os.name == "posix":
        report.closed_descriptors = close_inherited_descriptors(keep_fds | {0, 1, 2})
        # The judge's sys.stdout/sys.stderr may be objects over descriptors just closed (pytest's
        # capture): print through the real 1 and 2, which the host shares with the judge.
        sys.stdout = open(1, "w", encoding="utf-8", errors="replace", buffering=1, closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", encoding="utf-8", errors="replace", buffering=1, closefd=False)  # noqa: SIM115
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        _reset_inherited_multiprocessing_state()
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (settings.file_size_limit, settings.file_size_limit))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails, not kills
    _make_temporary_dirs_private(settings, report)
    _drop_privileges(settings, report)
    scratch = os.path.join(settings.sandbox_dir, "tmp")  # made by whoever the host now is
    os.makedirs(scratch, exist_ok=True)
    os.environ["TMPDIR"] = scratch
    import tempfile

    tempfile.tempdir = None
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # die with the judge
        try:
            report.landlock_abi = landlock.confine([settings.sandbox_dir, "/dev/shm", os.devnull])
        except OSError as error:
            report.notes.append(f"no Landlock: {error}")
    sys.dont_write_bytecode = True
    return report

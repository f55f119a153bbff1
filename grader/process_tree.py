"""The lifecycle of a process tree: read it, adopt its orphans, kill it, reap what ended.

One place for what the runner (one suite's session), the batch (one student's whole run), the
judge (one student host per test) and the harness (one checked run's children) each need to
leave nothing behind. POSIX-only calls are guarded: on Windows a tree is killed with taskkill,
and there is no process table, subreaper or zombie.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_PR_SET_CHILD_SUBREAPER = 36

_ENDED = ("Z", "X")  # /proc states of a process that ended (zombie, dead)


@dataclass(frozen=True)
class Proc:
    """One live process: its id, parent, process group and session (None where unknown)."""

    pid: int
    ppid: int
    pgid: int
    sid: int | None
    zombie: bool = False


# -- reading the process table ----------------------------------------------------------------


def process_table(include_zombies: bool = False) -> list[Proc] | None:
    """Live processes (and zombies if asked): /proc on Linux, `ps` elsewhere on POSIX; None on
    Windows."""
    proc = Path("/proc")
    if (proc / "self" / "stat").exists():
        table = []
        for entry in proc.iterdir():
            if not entry.name.isdigit():
                continue
            fields = _stat_fields(entry / "stat")  # state ppid pgrp session ...
            if fields is None:
                continue
            zombie = fields[0] in _ENDED if fields else False
            if len(fields) > 3 and (include_zombies or not zombie):
                table.append(Proc(int(entry.name), int(fields[1]), int(fields[2]), int(fields[3]), zombie))
        return table
    if os.name != "posix":
        return None
    try:
        listing = subprocess.run(
            ["ps", "-A", "-o", "pid=,ppid=,pgid=,stat="],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    table = []
    for line in listing.splitlines():
        parts = line.split()
        zombie = len(parts) >= 4 and parts[3].startswith("Z")
        if len(parts) >= 4 and parts[0].isdigit() and (include_zombies or not zombie):
            table.append(Proc(int(parts[0]), int(parts[1]), int(parts[2]), None, zombie))
    return table


def _stat_fields(path: Path) -> list[str] | None:
    """The fields of a /proc/<pid>/stat after the command name (state first), or None if the
    process is gone."""
    try:
        stat = path.read_text()
    except OSError:
        return None
    return stat[stat.rfind(")") + 2 :].split()


def is_running(pid: int) -> bool:
    """Whether a process runs (a zombie, ended but not yet reaped, does not)."""
    if Path("/proc/self/stat").exists():
        fields = _stat_fields(Path(f"/proc/{pid}/stat"))
        return bool(fields) and fields[0] not in _ENDED
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _command_line(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read()
    except OSError:
        return b""


def is_resource_tracker(pid: int) -> bool:
    """Whether `pid` is a multiprocessing resource tracker (it unlinks a run's semaphores)."""
    return b"multiprocessing.resource_tracker" in _command_line(pid)


def is_multiprocessing_helper(pid: int) -> bool:
    """multiprocessing's resource tracker or fork server: no faulthandler there."""
    line = _command_line(pid)
    return b"multiprocessing.resource_tracker" in line or b"multiprocessing.forkserver" in line


def descendants(table: list[Proc], roots: Iterable[int]) -> list[int]:
    """Every process below `roots` in `table`, the roots themselves left out."""
    children: dict[int, list[int]] = {}
    for proc in table:
        children.setdefault(proc.ppid, []).append(proc.pid)
    found: list[int] = []
    queue = list(roots)
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def adopted_orphans(table: list[Proc], spare: Iterable[int] = ()) -> list[int]:
    """The children of this process in `table`, but those in `spare` (on Linux, a subreaper's
    children include every orphan of its descendants)."""
    me, spared = os.getpid(), set(spare)
    return [p.pid for p in table if p.ppid == me and p.pid not in spared]


def session_members(sid: int) -> list[int] | None:
    """Live processes (not zombies) in session `sid`: from /proc on Linux, else from
    `pgrep -s` (macOS, BSD); None when neither can tell."""
    if not Path("/proc/self/stat").exists():
        return _pgrep_session(sid)
    return [p.pid for p in process_table() or [] if p.sid == sid]


def _pgrep_session(sid: int) -> list[int] | None:
    try:
        found = subprocess.run(["pgrep", "-s", str(sid)], capture_output=True, text=True,
                               timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if found.returncode not in (0, 1):  # 1: none matched
        return None
    return [int(pid) for pid in found.stdout.split() if pid.isdigit()]


def _family(table: list[Proc], leader: int, ids: set[int]) -> list[Proc]:
    """The leader, its descendants, and everyone whose session or process group is in `ids`."""
    by_pid = {p.pid: p for p in table}
    found = {p.pid: p for p in table if p.pid == leader or p.sid in ids or p.pgid in ids}
    if not found:
        return [p for pid in descendants(table, [leader]) for p in [by_pid[pid]]]
    for pid in descendants(table, list(found)):
        found.setdefault(pid, by_pid[pid])
    return list(found.values())


# -- adopting orphans -------------------------------------------------------------------------


def become_subreaper() -> bool:
    """On Linux, adopt the orphans of our descendants (even ones that left their session or
    detached with a double fork), so that a final sweep can find and kill them; elsewhere a
    no-op. True when it worked."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


# -- killing ----------------------------------------------------------------------------------


def sigkill(pid: int) -> None:
    """SIGKILL one process; one that is gone or not ours is left alone."""
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def sigkill_group(pgid: int) -> None:
    """SIGKILL a process group; one that is gone or not ours is left alone."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def kill_own_group(process: Any) -> None:
    """SIGKILL a child that leads its own process group, with the group; the child alone where
    there are no groups or it does not lead one yet (a multiprocessing Process)."""
    try:
        if hasattr(os, "killpg"):
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
    except OSError:
        process.kill()


def taskkill_tree(pid: int) -> None:
    """Windows: end a process and every process it started."""
    try:
        subprocess.run(["taskkill", "/F", "/T", "/PID", str(pid)], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        pass


def kill_session(process: subprocess.Popen[Any]) -> None:
    """Kill every process of the session that `process` leads (start_new_session=True).

    The session, not just the process group: the harness moves its children into groups of
    their own, but no process can leave its session without calling setsid() itself. Windows
    has neither: there the process tree is killed.
    """
    if os.name == "nt":
        taskkill_tree(process.pid)
        process.kill()
        return
    for _ in range(10):  # again, in case a process forked while we were killing
        members = session_members(process.pid)
        if members is None:  # neither /proc nor pgrep: the process group is the best we can do
            sigkill_group(process.pid)
            return
        if not members:
            return
        for pid in members:
            sigkill(pid)
        time.sleep(0.01)


class ProcessTree:
    """Everything one run started, remembered while it runs so it can all be killed.

    The grader puts each suite in a session of its own, and a dead parent's children are handed
    to another parent, so the family is learned as it grows: every session and process group
    seen under the leader is remembered, and killing sweeps all of them.
    """

    def __init__(self, leader: int) -> None:
        self.leader = leader
        self.groups: set[int] = {leader}
        self._protected = {os.getpid(), os.getppid()}

    def observe(self) -> list[Proc] | None:
        """The family now; remembers its sessions and groups for the next look."""
        table = process_table()
        if table is None:
            return None
        # An id no live process uses any more may be handed to a stranger: forget it. An id in
        # use cannot be reused, and a session's or group's members all descend from ours.
        in_use = {p.pgid for p in table} | {p.sid for p in table if p.sid is not None}
        self.groups = {i for i in self.groups if i in in_use or i == self.leader}
        family = [
            p for p in _family(table, self.leader, self.groups) if p.pid not in self._protected
        ]
        for p in family:
            self.groups.add(p.pgid)
            if p.sid is not None:
                self.groups.add(p.sid)
        self.groups -= {os.getpgrp(), *((os.getsid(0),) if hasattr(os, "getsid") else ())}
        return family

    def kill(self) -> None:
        """SIGKILL the whole family until none is left (new forks included)."""
        if os.name == "nt":
            taskkill_tree(self.leader)
            return
        for _ in range(50):
            family = self.observe()
            if family is None:  # no process table: the groups are the best we can do
                for group in self.groups:
                    sigkill_group(group)
                return
            if not family:
                return
            for p in family:
                sigkill(p.pid)
            time.sleep(0.02)


def kill_host_tree(host: Any, spare: Iterable[int] = ()) -> None:
    """Kill a multiprocessing Process `host`, everything below it and, on Linux, the orphans
    this (subreaper) process adopted, but those in `spare`; reap the orphans that ended.

    multiprocessing's resource trackers are spared until last: once every other process that
    holds their pipe is gone they unlink the run's named semaphores and end.
    """
    if os.name == "nt":
        taskkill_tree(host.pid)
        host.kill()
        host.join(5.0)
        return
    spared = set(spare)
    trackers_until = None
    killed = False
    for _ in range(60):
        table = process_table(include_zombies=True)
        reap_zombies(table, spared)
        victims = host_tree(host.pid, [p for p in table if not p.zombie] if table is not None else None,
                            spared)
        if host.exitcode is None:
            victims.append(host.pid)
        if not victims:
            break
        others = [pid for pid in victims if not is_resource_tracker(pid)]
        if not others:
            trackers_until = trackers_until or time.monotonic() + 1.0
            if time.monotonic() < trackers_until:
                time.sleep(0.05)
                continue
            others = victims
        for pid in others:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        killed = True
        host.join(0.05)
    host.join(5.0)
    if killed:
        reap_zombies(spare=spared)


def host_tree(host: int, table: list[Proc] | None = None, spare: Iterable[int] = ()) -> list[int]:
    """Every live process below `host` and, on Linux, the orphans this (subreaper) process
    adopted but those in `spare`, with theirs; from `table` (live processes) if given, else
    from a fresh reading."""
    table = process_table() if table is None else table
    if table is None:
        return []
    orphans = adopted_orphans(table, spare)
    return orphans + descendants(table, [host, *orphans])


# -- reaping ----------------------------------------------------------------------------------


def reap_zombies(table: list[Proc] | None = None, spare: Iterable[int] = ()) -> None:
    """Reap the ended children of this process (orphans it adopted), but those in `spare`
    (whose reaping is someone else's), from `table` (with zombies) if given, else from a fresh
    reading."""
    if not hasattr(os, "waitpid") or os.name == "nt":
        return
    spared = set(spare)
    table = (process_table(include_zombies=True) if table is None else table) or []
    for proc in table:
        if proc.ppid == os.getpid() and proc.zombie and proc.pid not in spared:
            try:
                os.waitpid(proc.pid, os.WNOHANG)
            except ChildProcessError:
                pass


def reap_adopted(running: set[int]) -> None:
    """Kill and reap every child of this process that is not a run still going."""
    if process_table() is None:
        return
    for _ in range(50):
        orphans = adopted_orphans(process_table() or [], running)
        if not orphans:
            break
        for pid in orphans:
            ProcessTree(pid).kill()
        time.sleep(0.02)
    reap_zombies(spare=running)  # collect the zombies of what was killed

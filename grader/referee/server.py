"""The referee: holds a run's shared values and locks, and journals every operation on them.

Each student process sends an operation (read, write, acquire, release) and waits for the
answer. The referee applies it to the only copy of the data, with the lock ownership it keeps
itself, and journals it under the sender's process id as the kernel gives it
(`grader/referee/wire.py`). The judge analyses this journal; no student process can write it.

What the referee also does because it sees every operation:

* **Lock semantics**: a blocking acquire waits here; a second acquire by the holder of a `Lock`
  and a release by a process that does not hold it are refused at once (the process is stopped
  with the student's line); a lock whose holder has ended stays held, as a real one does.
* **Schedule control** instead of sleeps: a child's read made while it holds no lock is
  answered only once another process has touched the same location (or a short cap has
  passed), so an unprotected read-modify-write loses an update in the first run, not by luck;
  a read under a lock waits the same way until the lock shows it protects the data; a release
  is answered the same way when the process read data under that lock and did not write it, so
  a check-then-act split over two holds is interleaved in the first run too. The caps are drawn
  from a budget per run, so correct code is slowed by a bounded amount.
* **Invariant observers**: at every moment at which none of a set of locks is held, a total
  that a correct program keeps is checked against the values held here. A process that lets
  go of those locks after changing the data, while another still holds one, is answered only
  once the total has been checked: an update split into two holds is seen half done in the
  first run, whatever the schedule.

It never runs student code: messages are JSON, values are numbers, text and bytes, each
coerced through the declared C type as `RawValue` would store it.
"""

from __future__ import annotations

import ctypes
import heapq
import itertools
import os
import queue
import re
import secrets
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from grader.harness.findings import foreign_release_finding, self_deadlock_finding
from grader.harness.runtime import Pauses, site_from_json
from grader.referee.wire import (
    C_TYPES,
    TYPECODES,
    VERIFIED,
    Listener,
    WireError,
    decode,
    encode,
    value_from_wire,
    value_to_wire,
)

JOURNAL_FILE = "journal.jsonl"
AWAIT_CHECK_CAP = 1.0  # seconds a finished update may wait for the observers' look (run budget too)
MAX_ARRAY = 1_000_000  # elements: a shared array larger than this is refused
MAX_TEXT = 2000  # characters kept of any text a student process sends (names, messages)
_UID = re.compile(r"^[0-9a-f]{8,32}$")

# Records a process may add besides its operations: who may send them, and their fields. The
# evidence (locks, values, accesses) is never among them: only the referee writes it.
ROOT_NOTES = {"start": ("child", "n", "site"), "join": ("child", "site"),
              "join_gave_up": ("child", "site", "timeout"), "abort": ("concept", "message", "site", "details"),
              "reaped": ("child", "code"), "made": ("what", "name")}
CHILD_NOTES = {"arrive": (), "run": ("name",), "exit": ("code", "tampered"),
               "crash": ("error", "message", "site", "traceback")}


@dataclass(frozen=True)
class RefereeSettings:
    """What the judge (never the student's host) decides about a run's referee."""

    root_pid: int  # the run's parent: the student host, or the test process for the harness's own tests
    journal_dir: str
    start_method: str
    check_locks: bool = True
    pauses: Pauses = field(default_factory=Pauses)
    hold_budget: float = 1.0  # seconds of answers held back per run, in all, for schedule control


class Refused(Exception):
    """An operation the referee does not carry out; journaled, and an interference finding."""


@dataclass
class _Lock:
    uid: str
    name: str
    reentrant: bool
    holder: int | None = None
    count: int = 0
    site: Any = None  # where the holder acquired it (as journaled)
    waiters: deque[_Waiter] = field(default_factory=deque)


@dataclass
class _Waiter:
    end: Any
    pid: int
    site: Any
    done: bool = False


@dataclass
class _Shared:
    uid: str
    name: str
    ctype: Any
    array: bool
    values: list[Any]
    book: bool  # the suites' own bookkeeping: stored and answered, never journaled

    def location(self, index: int) -> str:
        return f"{self.name}[{index}]" if self.array else self.name


@dataclass
class _Process:
    pid: int
    held: list[str] = field(default_factory=list)
    holds_started: int = 0
    # What it read and wrote while holding each lock it holds (lock id -> locations).
    reads_under: dict[str, set[str]] = field(default_factory=dict)
    writes_under: dict[str, set[str]] = field(default_factory=dict)
    # It changed observed data while holding an observer's locks, and has not let go of them all.
    wrote_observed: bool = False


@dataclass
class _Deferred:
    """An answer held back until another process touches one of `locations`, or `until`."""

    end: Any
    data: bytes
    pid: int
    locations: tuple[str, ...]
    since: float
    held: tuple[str, ...] = ()  # the locks the reader held: if nobody came, they protect the data
    done: bool = False


@dataclass
class _Observer:
    shared: _Shared
    locks: list[_Lock]
    expected: Any
    what: str
    done: bool = False


class Referee:
    """The state and the rules; `handle` takes one message and answers it now, later, or never."""

    def __init__(self, settings: RefereeSettings) -> None:
        self.settings = settings
        self.root = settings.root_pid
        self.pauses = settings.pauses
        self.budget = settings.hold_budget
        path = os.path.join(settings.journal_dir, JOURNAL_FILE)
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_BINARY", 0), 0o644)
        self.locks: dict[str, _Lock] = {}
        self.shared: dict[str, _Shared] = {}
        self.processes: dict[int, _Process] = {}
        self.pending: dict[str, list[_Deferred]] = {}
        self.protected: set[tuple[str, str]] = set()  # (location, lock): a held-back read there waited in vain
        self.deferreds: list[_Deferred] = []  # answers held back, oldest first
        self.awaiting_check: list[_Deferred] = []  # releases answered once the observers have looked
        self.asking: set[Any] = set()  # connections whose last request is not answered yet
        self.live: set[Any] = set()  # the children's open connections that have spoken
        self.observers: list[_Observer] = []
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._kin: dict[int, bool] = {self.root: True}
        self.started: set[int] = set()
        self.emit("harness", self.root, method=settings.start_method)

    # -- the journal --------------------------------------------------------------------------
    def emit(self, kind: str, pid: int, **fields: Any) -> int:
        t = time.monotonic_ns()
        os.write(self._fd, encode({"k": kind, "pid": pid, "t": t, **fields}) + b"\n")
        return t

    # -- one message ---------------------------------------------------------------------------
    def handle(self, end: Any, pid: int, data: bytes) -> None:
        if pid <= 0 or not self._is_kin(pid):
            end.close()  # another grading's process, or none: nothing of it reaches this run's record
            return
        self.asking.add(end)
        if pid != self.root:
            self.live.add(end)
        try:
            message = decode(data)
            op = message.get("op")
            handler = _OPS.get(op) if isinstance(op, str) else None
            if handler is None:
                raise Refused(f"an operation the referee does not know ({str(op)[:40]!r})")
            reply = handler(self, end, pid, message)
        except (Refused, WireError) as error:
            self.emit("refused", pid, why=_text(str(error)))
            reply = {"error": "refused"}
        if reply is not None:
            self._send(end, encode(reply))
        self.nudge()

    def _send(self, end: Any, data: bytes) -> None:
        self.asking.discard(end)
        end.send(data)

    def gone(self, end: Any) -> None:
        """A connection closed (its process or thread ended): its waits end with it. Locks it
        holds stay held, as a real lock whose holder has died does."""
        for lock in self.locks.values():
            for waiter in lock.waiters:
                if waiter.end is end:
                    waiter.done = True
        for deferred in self.deferreds:
            if deferred.end is end:
                deferred.done = True
        self.asking.discard(end)
        self.live.discard(end)
        self.nudge()

    def nudge(self) -> None:
        """When every child that has spoken is waiting for an answer, none of them can touch the
        data a held-back read waits on: the oldest such read is answered now (its locks, if it
        held any, protect that data), rather than at its cap."""
        self.deferreds = [d for d in self.deferreds if not d.done]
        if self.deferreds and self.live <= self.asking:
            self._answer(self.deferreds[0], timed_out=False, learn=True)

    # -- who is asking -------------------------------------------------------------------------
    def _is_kin(self, pid: int) -> bool:
        """The run's parent or one of its descendants (by the kernel's process table)."""
        known = self._kin.get(pid)
        if known is None:
            known = self._kin[pid] = _descends(pid, self.root) if VERIFIED else True
        return known

    def _process(self, pid: int) -> _Process:
        process = self.processes.get(pid)
        if process is None:
            process = self.processes[pid] = _Process(pid)
        return process

    # -- locks ----------------------------------------------------------------------------------
    def op_lock(self, end: Any, pid: int, message: dict[str, Any]) -> dict[str, Any]:
        uid = self._new_uid(message.get("uid"), pid)
        lock = self.locks[uid] = _Lock(uid, _text(message.get("name")) or "a lock", bool(message.get("reentrant")))
        self.emit("lock", pid, lock=uid, name=lock.name)
        return {"uid": uid}

    def op_acquire(self, end: Any, pid: int, message: dict[str, Any]) -> dict[str, Any] | None:
        lock, site = self._lock(message), _site(message.get("site"))
        block, timeout = bool(message.get("block", True)), _timeout(message.get("timeout"))
        if lock.holder == pid and lock.reentrant:
            lock.count += 1
            return {"ok": True}
        if lock.holder == pid and block and timeout is None:
            finding = self_deadlock_finding(lock.name, site_from_json(lock.site), site_from_json(site))
            self.emit("self_deadlock", pid, lock=lock.uid, name=lock.name, message=finding.message, site=site)
            return {"stop": "self_deadlock", "message": finding.message, "site": site}
        process = self._process(pid)
        self.emit("wait", pid, lock=lock.uid, name=lock.name, site=site,
                  held=[[uid, self.locks[uid].name, self.locks[uid].site] for uid in process.held])
        if lock.holder is None and not any(not w.done for w in lock.waiters):
            self._grant(lock, pid, site)
            return {"ok": True}
        if not block or timeout == 0:
            self.emit("gave_up", pid, lock=lock.uid)
            return {"ok": False}
        waiter = _Waiter(end, pid, site)
        lock.waiters.append(waiter)
        if timeout is not None:
            self._after(timeout, lambda: self._give_up(lock, waiter))
        return None

    def _grant(self, lock: _Lock, pid: int, site: Any) -> None:
        process = self._process(pid)
        lock.holder, lock.count, lock.site = pid, 1, site
        if not process.held:
            process.holds_started += 1
        process.held.append(lock.uid)
        process.reads_under[lock.uid], process.writes_under[lock.uid] = set(), set()
        self.emit("acquire", pid, lock=lock.uid, name=lock.name, site=site)

    def _give_up(self, lock: _Lock, waiter: _Waiter) -> None:
        if waiter.done:
            return
        waiter.done = True
        self.emit("gave_up", waiter.pid, lock=lock.uid)
        self._send(waiter.end, encode({"ok": False}))

    def op_release(self, end: Any, pid: int, message: dict[str, Any]) -> dict[str, Any] | None:
        lock, site = self._lock(message), _site(message.get("site"))
        if lock.holder != pid:
            finding = foreign_release_finding(lock.name, site_from_json(site))
            self.emit("foreign_release", pid, lock=lock.uid, name=lock.name, message=finding.message, site=site)
            return {"stop": "foreign_release", "message": finding.message, "site": site}
        if lock.reentrant and lock.count > 1:
            lock.count -= 1
            return {"ok": True}
        process = self._process(pid)
        self.emit("release", pid, lock=lock.uid, name=lock.name, site=site)
        lock.holder, lock.count, lock.site = None, 0, None
        process.held.remove(lock.uid)
        # What it read under this lock and did not write is open to the others now: a check
        # whose act comes in another hold (of this lock or of none) is interleaved at once.
        checked = tuple(process.reads_under.pop(lock.uid, set()) - process.writes_under.pop(lock.uid, set()))
        # The observers look before a waiter takes the lock: the state this release leaves.
        blocked = self._check_observers()
        finished_update = process.wrote_observed and not self._holds_observed(process)
        if finished_update:
            process.wrote_observed = False
        self._hand_on(lock)
        reply = encode({"ok": True})
        if pid != self.root:
            if checked and self.pauses.after_locked_read > 0:
                return self._defer(end, reply, pid, checked, self.pauses.after_locked_read)
            if finished_update and blocked:
                return self._await_check(end, reply, pid)
            if not process.held and self.pauses.after_release > 0:
                return self._defer(end, reply, pid, (), self.pauses.after_release)
        self._send(end, reply)
        return None

    def _hand_on(self, lock: _Lock) -> None:
        while lock.waiters:
            waiter = lock.waiters.popleft()
            if waiter.done:
                continue
            waiter.done = True
            self._grant(lock, waiter.pid, waiter.site)
            self._send(waiter.end, encode({"ok": True}))
            return

    def _lock(self, message: dict[str, Any]) -> _Lock:
        lock = self.locks.get(message.get("uid"))  # type: ignore[arg-type]
        if lock is None:
            raise Refused("a lock the referee never made")
        return lock

    # -- shared values --------------------------------------------------------------------------
    def op_shared(self, end: Any, pid: int, message: dict[str, Any]) -> dict[str, Any]:
        ctype = _ctype(message.get("code"))
        array = bool(message.get("array"))
        raw = message.get("vals")
        size = message.get("size")
        if array and type(size) is int and raw is None:
            if not 0 <= size <= MAX_ARRAY:
                raise Refused("a shared array of a size the referee does not hold")
            values = [ctype().value] * size
        elif isinstance(raw, list) and (array or len(raw) == 1) and len(raw) <= MAX_ARRAY:
            values = [_coerce(ctype, value) for value in raw]
        else:
            raise Refused("a shared value with no initial value")
        uid = self._new_uid(message.get("uid"), pid)
        book = bool(message.get("book")) and pid == self.root
        shared = self.shared[uid] = _Shared(uid, _text(message.get("name")) or "shared data", ctype, array,
                                            values, book)
        if not book:
            self.emit("shared", pid, obj=uid, name=shared.name, array=array, vals=[_plain(v) for v in values])
        return {"uid": uid}

    def op_read(self, end: Any, pid: int, message: dict[str, Any]) -> dict[str, Any] | None:
        shared, indices = self._target(message)
        site = _site(message.get("site"))
        values = [shared.values[i] for i in indices]
        locations = tuple(shared.location(i) for i in indices)
        for index, value in zip(indices, values, strict=True):
            self._access(pid, "read", shared, shared.location(index), value, site)
        self._touched(pid, locations)
        reply = encode({"vals": [value_to_wire(v) for v in values]})
        process = self._process(pid)
        if pid != self.root and not shared.book:
            for uid in process.held:
                process.reads_under[uid].update(locations)
            if self._worth_holding(process, locations):
                return self._defer(end, reply, pid, locations, self.pauses.after_unlocked_read,
                                   tuple(process.held))
        self._send(end, reply)
        return None

    def _worth_holding(self, process: _Process, locations: tuple[str, ...]) -> bool:
        """Whether holding this read back could let another process touch the same data first.
        Not if another process already waits for a lock the reader holds (it cannot get in), nor
        where an earlier read under one of these locks waited in vain (the lock protects it). A
        lock that protects nothing (one per process, say) is held back once, and loses an update."""
        if self.pauses.after_unlocked_read <= 0 or self.budget <= 0:
            return False
        if not process.held:
            return True
        if any(any(not w.done for w in self.locks[uid].waiters) for uid in process.held):
            return False
        return not all(any((location, uid) in self.protected for uid in process.held) for location in locations)

    def op_write(self, end: Any, pid: int, message: dict[str, Any]) -> dict[str, Any]:
        shared, indices = self._target(message)
        raw = message.get("vals")
        if not isinstance(raw, list) or len(raw) != len(indices):
            raise Refused("a write whose values do not match its locations")
        values = [_coerce(shared.ctype, value) for value in raw]
        site = _site(message.get("site"))
        process = self._process(pid)
        if any(o.shared.uid == shared.uid for o in self.observers) and self._holds_observed(process):
            process.wrote_observed = True
        for index, value in zip(indices, values, strict=True):
            shared.values[index] = value
            self._access(pid, "write", shared, shared.location(index), value, site)
            for uid in process.held:
                process.writes_under[uid].add(shared.location(index))
        self._touched(pid, tuple(shared.location(i) for i in indices))
        self._check_observers()
        return {"ok": True}

    def values(self, uid: str) -> list[Any] | None:
        """What a shared object holds now (the judge's question, through the control pipe)."""
        shared = self.shared.get(uid)
        return None if shared is None else list(shared.values)

    def _target(self, message: dict[str, Any]) -> tuple[_Shared, list[int]]:
        shared = self.shared.get(message.get("uid"))  # type: ignore[arg-type]
        if shared is None:
            raise Refused("shared data the referee never made")
        index = message.get("index")
        if not shared.array:
            return shared, [0]
        if not isinstance(index, list) or not all(type(i) is int and 0 <= i < len(shared.values) for i in index):
            raise Refused("an index outside the shared array")
        return shared, index

    def _access(self, pid: int, op: str, shared: _Shared, location: str, value: Any, site: Any) -> None:
        if shared.book:
            return
        if pid == self.root:
            t = time.monotonic_ns()
            self.emit("parent_access", pid, op=op, loc=location, site=site, obj=shared.uid, val=_plain(value), t0=t)
            return
        process = self._process(pid)
        extra = {} if self.settings.check_locks else {"lockset": False}
        t = time.monotonic_ns()
        self.emit("access", pid, op=op, loc=location, held=list(process.held),
                  hold=process.holds_started if process.held else 0, site=site, val=_plain(value),
                  obj=shared.uid, t0=t, **extra)

    # -- schedule control -----------------------------------------------------------------------
    def _defer(self, end: Any, reply: bytes, pid: int, locations: tuple[str, ...], cap: float,
               held: tuple[str, ...] = ()) -> None:
        """Hold `reply` until another process touches one of `locations`, at most `cap` seconds
        (and only while the run's budget lasts)."""
        if self.budget <= 0:
            self._send(end, reply)
            return None
        deferred = _Deferred(end, reply, pid, locations, time.monotonic(), held)
        self.deferreds.append(deferred)
        for location in locations:
            self.pending.setdefault(location, []).append(deferred)
        self._after(cap, lambda: self._answer(deferred, timed_out=True))
        return None

    def _touched(self, pid: int, locations: tuple[str, ...]) -> None:
        for location in locations:
            for deferred in self.pending.pop(location, []):
                if deferred.pid == pid:
                    self.pending.setdefault(location, []).append(deferred)
                else:
                    self._answer(deferred, timed_out=False)

    def _answer(self, deferred: _Deferred, *, timed_out: bool, learn: bool = False) -> None:
        if deferred.done:
            return
        deferred.done = True
        if timed_out:
            self.budget -= time.monotonic() - deferred.since
        if timed_out or learn:  # nobody came: the locks it held kept them out
            self.protected.update((location, uid) for location in deferred.locations for uid in deferred.held)
        for location in deferred.locations:
            waiting = self.pending.get(location)
            if waiting and deferred in waiting:
                waiting.remove(deferred)
        self._send(deferred.end, deferred.data)

    # -- observers ------------------------------------------------------------------------------
    def op_observe(self, end: Any, pid: int, message: dict[str, Any]) -> dict[str, Any]:
        if pid != self.root:
            raise Refused("an observer asked for by a child process")
        shared, _ = self._target({"uid": message.get("uid"), "index": []})
        locks = [self._lock({"uid": uid}) for uid in message.get("locks") or []]
        self.observers.append(_Observer(shared, locks, sum(shared.values), _text(message.get("what"))))
        return {"ok": True}

    def _holds_observed(self, process: _Process) -> bool:
        return any(lock.uid in process.held for observer in self.observers for lock in observer.locks)

    def _check_observers(self) -> bool:
        """Check each observer's total if none of its locks is held; whether one could not be.
        Once all could, the processes that finished an update meanwhile go on (_await_check)."""
        blocked = False
        for observer in self.observers:
            if observer.done:
                continue
            if any(lock.holder is not None for lock in observer.locks):
                blocked = True
                continue
            seen = list(observer.shared.values)
            if sum(seen) != observer.expected:
                observer.done = True
                self.emit("invariant", os.getpid(), what=observer.what, seen=[_plain(v) for v in seen],
                          expected=_plain(observer.expected),
                          locations=[observer.shared.location(i) for i in range(len(seen))])
        if not blocked and self.awaiting_check:
            waiting, self.awaiting_check = self.awaiting_check, []
            for deferred in waiting:
                self._answer(deferred, timed_out=False)
        return blocked

    def _await_check(self, end: Any, reply: bytes, pid: int) -> None:
        """A process let go of an observer's locks after changing the observed data, while
        another held one of them, so the total could not be checked: it goes on only once it
        has been. An update split into two holds is then seen half done before its second
        hold, whatever the schedule; a correct one waits while others finish theirs."""
        if self.budget <= 0:
            self._send(end, reply)
            return None
        deferred = _Deferred(end, reply, pid, (), time.monotonic(), ())
        self.deferreds.append(deferred)
        self.awaiting_check.append(deferred)
        self._after(AWAIT_CHECK_CAP, lambda: self._answer(deferred, timed_out=True))
        return None

    # -- records the processes add --------------------------------------------------------------
    def op_note(self, end: Any, pid: int, message: dict[str, Any]) -> dict[str, Any]:
        kind, given = message.get("kind"), message.get("fields")
        allowed = ROOT_NOTES.get(kind) if pid == self.root else CHILD_NOTES.get(kind)  # type: ignore[arg-type]
        if allowed is None or not isinstance(given, dict):
            raise Refused(f"a record of kind {str(kind)[:40]!r} from process {pid}")
        fields = {name: _clean(given[name]) for name in allowed if name in given}
        if kind == "start":
            child = fields.get("child")
            # A child that has already ended (and was reaped by a fork server) is taken at its word,
            # but marked unverified: unless it spoke to the referee, the judge does not count it.
            if type(child) is not int or child == self.root or (_exists(child) and not self._is_kin(child)):
                raise Refused(f"a start record for a process that is not this run's ({str(child)[:20]})")
            fields["verified"] = bool(self._kin.get(child))
            self.started.add(child)
        elif kind in ("join", "join_gave_up", "reaped") and fields.get("child") not in self.started:
            raise Refused(f"a {kind} record for a process this run did not start")
        if kind == "exit":
            fields["held"] = [[uid, self.locks[uid].name, self.locks[uid].site]
                              for uid in self._process(pid).held]
        self.emit(str(kind), pid, **fields)
        return {"ok": True}

    # -- helpers --------------------------------------------------------------------------------
    def _new_uid(self, proposed: Any, pid: int) -> str:
        """The judge names the objects it makes (through the run's parent) so it can ask for them."""
        if pid == self.root and isinstance(proposed, str) and _UID.match(proposed):
            if proposed in self.locks or proposed in self.shared:
                raise Refused("an object name already taken")
            return proposed
        return secrets.token_hex(6)

    def _after(self, seconds: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._timers, (time.monotonic() + seconds, next(self._order), action))

    def run_timers(self) -> float | None:
        """Run the timers that are due; the seconds until the next one (None: none left)."""
        while self._timers and self._timers[0][0] <= time.monotonic():
            heapq.heappop(self._timers)[2]()
        return None if not self._timers else max(0.0, self._timers[0][0] - time.monotonic())


_OPS: dict[str, Callable[..., dict[str, Any] | None]] = {
    "lock": Referee.op_lock, "acquire": Referee.op_acquire, "release": Referee.op_release,
    "shared": Referee.op_shared, "read": Referee.op_read, "write": Referee.op_write,
    "observe": Referee.op_observe, "note": Referee.op_note,
}


def _descends(pid: int, root: int) -> bool:
    """Whether `pid` is `root`'s descendant, by the parents the kernel records (Linux /proc)."""
    for _ in range(64):
        if pid == root:
            return True
        if pid <= 1:
            return False
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                stat = handle.read()
            pid = int(stat[stat.rindex(b")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            return False
    return False


def _exists(pid: int) -> bool:
    return not VERIFIED or os.path.exists(f"/proc/{pid}")


def _ctype(code: Any) -> Any:
    name = TYPECODES.get(code, code) if isinstance(code, str) else None
    if name not in C_TYPES or not hasattr(ctypes, name):
        raise Refused(f"a C type the referee does not hold ({str(code)[:20]!r})")
    return getattr(ctypes, name)


def _coerce(ctype: Any, value: Any) -> Any:
    """A value as the memory of `ctype` would hold it (a C int wraps around)."""
    value = value_from_wire(value)
    if type(value) not in (int, float, bool, str, bytes):
        raise Refused("a value that is not a number, text or bytes")
    try:
        return ctype(value).value
    except (TypeError, ValueError, OverflowError) as error:
        raise Refused(f"a value its C type refuses ({error})") from None


def _plain(value: Any) -> Any:
    """A value as the journal shows it (the witness prints it)."""
    return value if value is None or isinstance(value, (int, float, str)) else repr(value)


def _text(value: Any) -> str:
    return value[:MAX_TEXT] if isinstance(value, str) else ""


def _site(value: Any) -> Any:
    """A code location as a stand-in reports it: used for messages only, so kept only if well-formed."""
    if (isinstance(value, list) and len(value) == 3 and isinstance(value[0], str)
            and type(value[1]) is int and isinstance(value[2], str)):
        return [value[0][:MAX_TEXT], value[1], value[2][:200]]
    return None


def _timeout(value: Any) -> float | None:
    if value is None:
        return None
    if type(value) in (int, float) and value == value:
        return max(0.0, min(float(value), 3600.0))
    raise Refused("a timeout that is not a number")


def _clean(value: Any, depth: int = 0) -> Any:
    """A note's field as plain JSON of bounded size."""
    if value is None or type(value) in (bool, int, float):
        return value
    if isinstance(value, str):
        return value[:4 * MAX_TEXT]
    if isinstance(value, list) and depth < 3:
        return [_clean(item, depth + 1) for item in value[:64]]
    return None


# -- the process ------------------------------------------------------------------------------
def serve(settings: RefereeSettings, listener: Listener, control: Any) -> None:
    """The referee's whole life: one thread per connection reads, this thread decides. Ends when
    the control pipe closes (the harness that started it is done, or gone)."""
    referee = Referee(settings)
    inbox: queue.Queue[tuple[str, Any, Any]] = queue.Queue()

    def read(end: Any) -> None:
        while True:
            try:
                received = end.receive()
            except OSError:
                received = None
            if received is None:
                inbox.put(("gone", end, None))
                return
            inbox.put(("message", end, received))

    def accept() -> None:
        while True:
            try:
                end = listener.accept()
            except OSError:
                return
            threading.Thread(target=read, args=(end,), daemon=True).start()

    def listen_to_control() -> None:
        while True:
            try:
                request = control.recv()
            except (EOFError, OSError):
                inbox.put(("stop", None, None))
                return
            inbox.put(("control", None, request))

    def watch_parent(parent: int) -> None:  # the launcher died without closing the pipe
        while os.getppid() == parent:
            time.sleep(0.5)
        inbox.put(("stop", None, None))

    threading.Thread(target=accept, daemon=True).start()
    threading.Thread(target=listen_to_control, daemon=True).start()
    threading.Thread(target=watch_parent, args=(os.getppid(),), daemon=True).start()
    while True:
        wait = referee.run_timers()
        referee.nudge()
        try:
            kind, end, payload = inbox.get(timeout=wait)
        except queue.Empty:
            continue
        if kind == "message":
            referee.handle(end, *payload)
        elif kind == "gone":
            referee.gone(end)
            end.close()
        elif kind == "control":
            control.send(referee.values(payload) if isinstance(payload, str) else None)
        else:
            break
    listener.close()


def main(settings: RefereeSettings, listener: Listener, control: Any) -> None:
    """Entry point of the referee's process (`grader/referee/launch.py`)."""
    try:
        serve(settings, listener, control)
    finally:
        sys.stdout.flush()
        os._exit(0)

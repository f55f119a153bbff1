"""A `Harness` is one checked run of student code.

It hands out tracked locks, guarded shared values and supervised processes (directly, or
by substitution into the student's module), watches the journal while the parent waits in
`join()`, stops everything at a deadlock or a deadline with a report of where each child
is stuck, and afterwards turns the journal into findings. Nothing it starts outlives it.
"""

from __future__ import annotations

import atexit
import functools
import gc
import multiprocessing
import os
import shutil
import signal
import tempfile
import time
import types
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from grader.feedback import Site
from grader.harness.finding_rules import run_findings, stop_finding
from grader.harness.findings import (
    TOO_SLOW,
    ConcurrencyFailure,
    Finding,
    most_telling,
)
from grader.harness.guarded import GuardedArray, GuardedValue
from grader.harness.lock_table import LockTable
from grader.harness.run_records import JournalReader, stack_site
from grader.harness.runtime import (
    PARENT_HARNESSES,
    Pauses,
    RunConfig,
    emit,
    site_to_json,
)
from grader.harness.substitution import Factories, substitute
from grader.harness.supervisor import CAN_DUMP_STACKS, process_class
from grader.harness.tracked_lock import TrackedLock
from grader.machine_load import MAX_STRETCH, stretched
from grader.process_tree import kill_own_group
from grader.referee.client import RefereeGone, ask, forget
from grader.referee.launch import RefereeAddress, RefereeProcess
from grader.referee.server import RefereeSettings

POLL_SECONDS = 0.05


@atexit.register
def _close_every_harness() -> None:
    """At interpreter exit, stop the children of harnesses nobody closed (a test stopped by
    pytest-timeout, say) before multiprocessing's own exit handler would wait for them."""
    for harness in list(PARENT_HARNESSES.values()):
        harness.close()  # type: ignore[attr-defined]


@dataclass
class _Child:
    """What the parent knows of one supervised process."""

    process: Any
    number: int
    started_at: Site | None
    started_t: float
    joined_at: Site | None = None
    joined_t: float | None = None
    reaped: bool = False


class Harness:
    """One checked run. Use as a context manager; call `check()` to raise the first finding."""

    def __init__(
        self,
        start_method: str | None = None,
        student_dirs: Iterable[str | os.PathLike[str]] = (),
        *,
        deadline: float = 10.0,
        check_locks: bool = True,
        pauses: Pauses | None = None,
        use_gate: bool = True,
        require_concurrency: bool = True,
        require_join: bool = True,
        child_delays: tuple[float, float] = (0.0, 0.0),
        child_modules: tuple[str, ...] = (),
        journal_dir: str | None = None,
        private_fds: tuple[int, ...] = (),
        referee: RefereeAddress | None = None,
    ) -> None:
        self.ctx = multiprocessing.get_context(start_method)
        self.start_method = self.ctx.get_start_method()
        # A directory given by the judge (for the children's stack dumps) is the judge's to remove.
        self._own_journal = journal_dir is None
        self.journal_dir = journal_dir if journal_dir is not None else tempfile.mkdtemp(prefix="mp-harness-")
        # The judge starts the referee of a run in a student host and passes its address; the
        # harness's own tests run it here, and start it themselves.
        self._referee: RefereeProcess | None = None
        if referee is None:
            settings = functools.partial(_settings, os.getpid(), self.start_method, check_locks,
                                         pauses if pauses is not None else Pauses())
            self._referee = RefereeProcess(settings)
            referee = self._referee.where
        self.referee = referee
        self.deadline = deadline
        self.require_concurrency = require_concurrency
        self.require_join = require_join
        self.config = RunConfig(
            run_id=uuid.uuid4().hex,
            journal_dir=self.journal_dir,
            referee=referee.address,
            parent_pid=os.getpid(),
            start_method=self.start_method,
            student_dirs=tuple(str(Path(d).resolve()) for d in student_dirs),
            use_gate=use_gate,
            hard_deadline=time.time() + deadline * MAX_STRETCH + 30,
            private_fds=tuple(private_fds),
            child_delays=(float(child_delays[0]), float(child_delays[1])),
            child_modules=tuple(child_modules),
        )
        self._gate = self.ctx.Event() if use_gate else None
        self._arrivals = self.ctx.Semaphore(0) if use_gate else None
        # When a process of the run was last started or arrived at the gate (time.monotonic()).
        self._latest = self.ctx.RawValue("d", 0.0) if use_gate else None
        self._arrived = 0
        self._children: list[_Child] = []
        self._reader = JournalReader(referee.journal_dir)
        self._table = LockTable()
        self._suspect_cycle: list[int] | None = None
        self._abort: Finding | None = None
        self._restorers: list[Callable[[], None]] = []
        self._keep: list[object] = []
        self._substituted: list[str] = []
        self._first_start: float | None = None
        self._closed = False
        self.factories = Factories(self.config, self.Process)
        PARENT_HARNESSES[self.config.run_id] = self

    # -- instruments for tests ---------------------------------------------------------
    # `uid`: the judge names what it makes, so it can ask the referee about it later.
    def Lock(self, name: str = "lock", uid: str | None = None) -> TrackedLock:  # noqa: N802 - mirrors multiprocessing
        return TrackedLock(self.config, f"`{name}`", uid)

    def RawValue(self, typecode: Any, value: Any = 0, name: str = "counter",  # noqa: N802
                 uid: str | None = None) -> GuardedValue:
        return GuardedValue(self.config, name, typecode, value, uid=uid)

    def RawArray(self, typecode: Any, size_or_initializer: Any, name: str = "counts",  # noqa: N802
                 uid: str | None = None) -> GuardedArray:
        return GuardedArray(self.config, name, typecode, size_or_initializer, uid=uid)

    def ResultArray(self, size: int, uid: str | None = None) -> GuardedArray:  # noqa: N802
        """An int array, -1 everywhere, for the suites' own bookkeeping (what each call returned):
        held by the referee, but no evidence of the student's work (never journaled)."""
        return GuardedArray(self.config, "results", "i", [-1] * size, uid=uid, book=True)

    def final(self, shared: GuardedValue | GuardedArray) -> Any:
        """What a shared value (its number) or array (a list) holds now, by the referee."""
        if self._referee is None:
            raise RuntimeError("the referee of this run is the judge's: ask it there")
        values = self._referee.values(shared.uid)
        if values is None:
            raise RuntimeError(f"the referee holds no {shared.name}")
        return values if isinstance(shared, GuardedArray) else values[0]

    def Process(self, group: None = None, target: Callable[..., Any] | None = None, name: str | None = None,  # noqa: N802
                args: Iterable[Any] = (), kwargs: dict[str, Any] | None = None, *, daemon: bool | None = None) -> Any:
        args, kwargs = tuple(args), dict(kwargs or {})
        # multiprocessing drops a process's args once it has started; a lock made inline in
        # the args would then be unlinked before a spawned child could open it. Keep them.
        self._keep.append((args, kwargs))
        process = process_class(self.ctx)(group, target, name, args, kwargs, daemon=daemon)
        process._supervise(self.config, self._gate, self._arrivals, self._latest)
        return process

    def observe_total(self, values: GuardedArray, locks: list[TrackedLock], what: str) -> None:
        """Have the referee check, at every moment none of `locks` is held, that the sum of
        `values` is what it is now: a correct program never shows a total half-way changed."""
        ask(self.config.referee, "observe", uid=values.uid, locks=[lock.uid for lock in locks], what=what)

    def substitute(self, module: types.ModuleType) -> types.ModuleType:
        """Make the module's own Lock/RawValue/RawArray/Process calls create instruments."""
        self._restorers.append(substitute(module, self.factories))
        self._substituted.append(module.__name__)
        self.config = replace(self.config, substitute_modules=tuple(self._substituted))
        self.factories.config = self.config
        return module

    # -- events from the instruments (parent side) ----------------------------------
    def _on_start(self, process: Any, site: Site | None) -> None:
        now = time.monotonic()
        if self._first_start is None:
            self._first_start = now
        if self._latest is not None:
            self._latest.value = max(self._latest.value, now)
        self._children.append(_Child(process, len(self._children) + 1, site, now))
        emit(self.config, "start", child=process.pid, n=len(self._children), site=site_to_json(site))

    def _on_join(self, process: Any, timeout: float | None, site: Site | None) -> None:
        child = self._child(process)
        if child is not None and child.joined_t is None:
            child.joined_at, child.joined_t = site, time.monotonic()
            emit(self.config, "join", child=process.pid, site=site_to_json(site))
        self._wait_for(process, timeout)
        if child is not None and process.exitcode is None:
            # join(timeout) returned with the child still running: it was not waited for.
            child.joined_at = child.joined_t = None
            emit(self.config, "join_gave_up", child=process.pid, site=site_to_json(site), timeout=timeout)

    def _on_end_seen(self, process: Any, site: Site | None) -> None:
        """The student's code saw a child's end (is_alive() false, its exit code): it waited."""
        child = self._child(process)
        if child is not None and child.joined_t is None and process._popen is not None:
            child.joined_at, child.joined_t = site, time.monotonic()
            emit(self.config, "join", child=process.pid, site=site_to_json(site))

    def _on_parent_access(self) -> None:
        """The parent touched a shared value (the referee journals it): children still waiting at
        the start gate are let go, since the parent is not waiting for them."""
        if any(c.joined_t is None and c.process.exitcode is None for c in self._children):
            self._open_gate()

    def _child(self, process: Any) -> _Child | None:
        return next((c for c in self._children if c.process is process), None)

    # -- waiting and watching ---------------------------------------------------------
    def _open_gate(self) -> None:
        """Let the children run, once all that were started have reached the gate."""
        if self._gate is None or self._gate.is_set():
            return
        until = time.monotonic() + 10.0
        while self._arrived < len(self._children) and time.monotonic() < until:
            if self._arrivals.acquire(timeout=POLL_SECONDS):
                self._arrived += 1
            elif all(c.process.exitcode is not None for c in self._children[self._arrived :]):
                break
        self._gate.set()

    def _wait_for(self, process: Any, timeout: float | None) -> None:
        self._open_gate()
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            process._plain_join(POLL_SECONDS)
            if process.exitcode is not None:
                return
            self._watch()
            if end is not None and time.monotonic() >= end:
                return

    def _watch(self) -> None:
        """One watchdog step: stop the run at a certain deadlock, a stranded lock or the deadline."""
        # Who is alive is read *before* the journal: a process already dead by then has
        # written all its events, so "held by a dead process" is never a stale reading.
        alive = {c.process.pid for c in self._children if c.process.exitcode is None}
        self._table.apply(self._reader.poll())
        finding: Finding | None = None
        if self._table.stops:
            finding = stop_finding(self._table.stops[0])
        stranded = self._table.stranded(alive | {os.getpid()})
        if finding is None and stranded is not None:
            finding = stranded
        cycle = self._table.cycle()
        if cycle is not None and all(pid in alive for pid in cycle):
            if cycle == self._suspect_cycle and finding is None:
                finding = self._table.deadlock_finding(cycle, self._process_names())
            self._suspect_cycle = cycle
        else:
            self._suspect_cycle = None
        if finding is None and self._first_start is not None:
            allowed = stretched(self.deadline)
            if time.monotonic() - self._first_start > allowed:
                finding = self._too_slow(allowed)
        if finding is not None:
            self._stop_all(finding)

    def _process_names(self) -> dict[int, str]:
        return {c.process.pid: f"process {c.number}" for c in self._children}

    def _too_slow(self, allowed: float) -> Finding:
        stuck = self._where_stuck()
        return Finding(
            TOO_SLOW,
            f"The processes did not finish within {round(allowed, 1):g} s, so they were stopped. "
            "Something waits forever or loops without end.",
            next((site for _, site in stuck if site is not None), None),
            tuple(f"{name} was at {site}" for name, site in stuck),
        )

    def _where_stuck(self) -> list[tuple[str, Site | None]]:
        """Ask each live child where it is (faulthandler), else use its journaled wait."""
        alive = [c for c in self._children if c.process.exitcode is None]
        if CAN_DUMP_STACKS:
            for child in alive:
                try:
                    os.kill(child.process.pid, signal.SIGUSR1)
                except OSError:
                    pass
            time.sleep(0.3)
        result = []
        for child in alive:
            site = self._stack_site(child.process.pid)
            if site is None and child.process.pid in self._table.waiting:
                site = self._table.waiting[child.process.pid].site
            result.append((f"process {child.number}", site))
        return result

    def _stack_site(self, pid: int) -> Site | None:
        return stack_site(os.path.join(self.journal_dir, f"{pid}.stack"), self.config.student_dirs)

    def _stop_all(self, finding: Finding) -> None:
        """Kill the whole run at a certain bug and raise it into the waiting parent code."""
        self._kill_all()
        self._abort = finding
        emit(self.config, "abort", concept=finding.concept, message=finding.message,
             site=site_to_json(finding.site), details=list(finding.details))
        raise self._first_failure() or finding.failure()

    def _kill_all(self) -> None:
        for child in self._children:
            process = child.process
            if process.exitcode is None and process.pid is not None:
                kill_own_group(process)
        for child in self._children:
            child.process._plain_join(5)
            if child.process.exitcode is None:  # not in its own group yet, or ignoring us
                child.process.kill()
                child.process._plain_join(5)
            if not child.reaped and child.process.exitcode is not None:
                child.reaped = True
                try:
                    emit(self.config, "reaped", child=child.process.pid, code=child.process.exitcode)
                except RefereeGone:  # the judge ended the run (and its referee) first: no one to tell
                    pass

    # -- results ------------------------------------------------------------------------
    def settle(self) -> None:
        """Wait for leftover children (within the deadline), then stop whatever still runs."""
        if self._abort is None:
            self._open_gate()
            try:
                for child in self._children:
                    self._wait_for(child.process, None)
            except ConcurrencyFailure:
                pass
        self._kill_all()

    def finish(self) -> list[Finding]:
        """Settle the run and return every finding its journal supports."""
        self.settle()
        self._reader.poll()
        return run_findings(self._reader.events, require_concurrency=self.require_concurrency,
                            require_join=self.require_join)

    def _first_failure(self) -> ConcurrencyFailure | None:
        finding = most_telling(self.finish())
        return None if finding is None else finding.failure()

    def check(self, ignore: Iterable[str] = (), only: Iterable[str] | None = None) -> None:
        """Raise the most telling finding (a `StudentFailure`), if there is one.

        `only` limits the check to some concepts, so that a test about one idea is not
        failed by another test's concern.
        """
        ignored, wanted = set(ignore), None if only is None else set(only)
        finding = most_telling(
            [f for f in self.finish() if f.concept not in ignored and (wanted is None or f.concept in wanted)]
        )
        if finding is not None:
            raise finding.failure()

    def shared_values_made(self) -> int:
        """How many RawValue/RawArray the substituted student code made in this (parent) process."""
        return self.factories.made if self.factories else 0

    @property
    def children(self) -> list[Any]:
        return [c.process for c in self._children]

    def close(self, collect: bool = True) -> None:
        """Stop and reap every child, undo substitutions, free the journal and semaphores.

        `collect=False` frees only young objects now (a student host, which runs many checked
        runs and collects everything once, before it exits)."""
        if self._closed:
            return
        self._closed = True
        self._kill_all()
        for restore in reversed(self._restorers):
            restore()
        PARENT_HARNESSES.pop(self.config.run_id, None)
        forget(self.config.referee)
        if self._referee is not None:
            self._referee.remove()
        self._gate = self._arrivals = self._latest = None
        self._children.clear()
        self._keep.clear()
        self.factories = None  # type: ignore[assignment]
        gc.collect() if collect else gc.collect(1)  # finalizes the named semaphores of dropped locks
        if self._own_journal:
            shutil.rmtree(self.journal_dir, ignore_errors=True)

    def __enter__(self) -> Harness:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()



def _settings(root_pid: int, start_method: str, check_locks: bool, pauses: Pauses, directory: str) -> RefereeSettings:
    return RefereeSettings(root_pid, directory, start_method, check_locks, pauses)

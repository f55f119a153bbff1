"""The judge's checked run (a `grader.harness.checked_run.CheckedRun`): `RemoteHarness` makes
its instruments in the student host, through the test's `HostSession`, but its verdict
(`check`, `require_processes`, `final`) is the judge's own: it reads the run's journal, written
by a referee the judge started, and analyses it here, where no student code runs.
"""

from __future__ import annotations

import multiprocessing
import secrets
import shutil
import time
import types
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from grader.feedback import Site, StudentFailure
from grader.harness.finding_rules import run_findings, tamper_findings
from grader.harness.findings import TOO_SLOW, Finding, most_telling
from grader.harness.run_records import JournalReader, children_of, parent_pid
from grader.harness.runtime import Pauses
from grader.judge.answer_evidence import answer_findings, history
from grader.judge.checks import Checks, concepts_of
from grader.judge.proofs import atomicity_findings, concurrency_findings
from grader.machine_load import stretched
from grader.process_tree import is_running
from grader.referee.launch import RefereeProcess
from grader.referee.server import RefereeSettings

if TYPE_CHECKING:
    from grader.judge.host_session import HostSession

SETTLE_SECONDS = 15.0  # after the host says a run has settled, how long its children may take


class RemoteHarness:  # a grader.harness.checked_run.CheckedRun
    """A checked run whose instruments live in the host and whose verdict is the judge's."""

    def __init__(self, host: HostSession, start_method: str | None, options: dict[str, Any]) -> None:
        options = dict(options)
        if "check_locks" in options:
            raise TypeError("make_harness(check_locks=...) is gone: name the run's checks with "
                            "checks=Checks.ALL, Checks.DEADLOCKS or Checks.NONE")
        self.checks = options.pop("checks", Checks.ALL)
        if not isinstance(self.checks, Checks):
            raise TypeError(f"make_harness(checks=...) takes a Checks mode, not {self.checks!r}")
        self.host = host
        self.require_concurrency = bool(options.get("require_concurrency", True))
        self.require_join = bool(options.get("require_join", True))
        self.journal_dir = host.client.journal_dir()  # the children's stack dumps
        # The run's referee is the judge's child: it holds the run's data and locks and writes the
        # journal read here. The host is only told where it is.
        host.client.start()
        method = multiprocessing.get_context(start_method).get_start_method()
        settings = RefereeSettings(host.client.process.pid, "", method, self.checks.lockset,
                                   options.get("pauses") or Pauses())
        self._referee = RefereeProcess(lambda directory: replace(settings, journal_dir=directory),
                                       base_dir=host.client.referee_base)
        self._reader = JournalReader(self._referee.directory)
        try:
            self._ref = host.ask("make a harness", "harness", self.journal_dir, start_method,
                                 {**options, "referee": self._referee.where})
        except BaseException:
            self._referee.remove()
            raise
        host.harnesses.append(self)
        self._closed = False
        self.substituted = False
        self.answers: list[tuple[str, Any, int, int]] = []  # (call, returned value, start, end)
        self._made: set[str] = set()  # the objects the judge made (their referee ids)

    # The instruments and substitution are the host harness's own methods; the judge names the
    # objects it has made, so that it asks the referee, never the host, what they hold.
    def Lock(self, name: str = "lock") -> Any:  # noqa: N802 - mirrors multiprocessing
        return self._named(self._ref.Lock, False, name)

    def RawValue(self, typecode: Any, value: Any = 0, name: str = "counter") -> Any:  # noqa: N802
        return self._named(self._ref.RawValue, False, typecode, value, name)

    def RawArray(self, typecode: Any, size_or_initializer: Any, name: str = "counts") -> Any:  # noqa: N802
        return self._named(self._ref.RawArray, True, typecode, size_or_initializer, name)

    def ResultArray(self, size: int) -> Any:  # noqa: N802
        """An int array for the suites' own bookkeeping (what each call returned), -1 everywhere."""
        return self._named(self._ref.ResultArray, True, size)

    def _named(self, make: Any, array: bool, *args: Any, **kwargs: Any) -> Any:
        uid = secrets.token_hex(8)
        made = make(*args, uid=uid, **kwargs)
        made.__dict__["_judge_uid"] = (uid, array)
        self._made.add(uid)
        return made

    def Process(self, group: None = None, target: Callable[..., Any] | None = None,  # noqa: N802
                name: str | None = None, args: Iterable[Any] = (), kwargs: dict[str, Any] | None = None,
                *, daemon: bool | None = None) -> Any:
        return self._ref.Process(group, target, name, args, kwargs, daemon=daemon)

    def substitute(self, module: types.ModuleType) -> types.ModuleType:
        self._ref.substitute(module)
        self.substituted = True
        return module

    def observe_total(self, values: Any, locks: Any, what: str) -> None:
        """Have the referee check, while the run goes on, that the sum of `values` holds."""
        self._ref.observe_total(values, locks, what)

    # -- the judge's verdict ---------------------------------------------------------------
    def events(self) -> list[dict[str, object]]:
        """The run's journal so far, in time order (read incrementally: each line is parsed once)."""
        reader = self._reader
        had = len(reader.events)
        if reader.poll() and had:
            reader.events.sort(key=lambda e: e["t"])  # type: ignore[arg-type, return-value]
        return reader.events

    def findings(self, *, settle: bool = True, finished: bool = True) -> list[Finding]:
        events, late = self._settled_events() if settle else (self.events(), [])
        return (run_findings(events, require_concurrency=self.require_concurrency,
                             require_join=self.require_join and finished) + atomicity_findings(events) + late)

    def require_processes(self, expected: int, what: str, *, work: bool = True, site: Site | None = None) -> None:
        """Fail unless the journal shows `expected` child processes that ran at the same time
        and (if `work`) changed the shared data, with the parent not doing it for them; and
        unless what the student's functions returned is what the shared data holds. `site`, the
        judged function's definition, is the line named when the journal shows none."""
        events, late = self._settled_events()
        # A child that changed the harness: its record is worth nothing, whatever else it shows.
        findings = late + tamper_findings(events) + concurrency_findings(events, expected, what,
                                                                          work=work, site=site)
        if not findings:
            data = history(events)
            for call, value, started, ended in self.answers:
                findings += answer_findings(events, call, value, started, ended, data)
        finding = most_telling(findings)
        if finding is not None:
            raise finding.failure()

    def final(self, shared: Any) -> Any:
        """What a shared value (its number) or array (a list) the suite made holds once the run
        has settled, as the referee holds it: the only copy there is."""
        self._settled_events()
        uid, array = shared.__dict__.get("_judge_uid") or (None, False)
        values = self._referee.values(uid) if uid is not None else None
        if values is None:
            raise self.host.interference("a shared value the referee does not hold")
        return values if array else values[0]

    def _settled_events(self) -> tuple[list[dict[str, object]], list[Finding]]:
        """The journal once every child has ended. The host says when the run has settled, but
        the host runs student code: the judge checks for itself that no child still runs (and
        stops the run, as too slow, if one does past the deadline) before it reads a verdict."""
        if not self._closed:
            self._ref.settle()
        end = time.monotonic() + stretched(SETTLE_SECONDS)
        while True:
            events = self.events()
            running = [c for c in children_of(events) if c.ended_t is None and is_running(c.pid)]
            if not running:
                return events, []
            if time.monotonic() > end:
                self.host.client.dump_stacks()
                stuck = self.host.where_stuck()
                self.host.client.kill_tree()
                return self.events(), [Finding(
                    TOO_SLOW,
                    f"{len(running)} process(es) were still running after the run should have "
                    "ended, so they were stopped.",
                    next((site for _, site in stuck if site is not None), None),
                    tuple(f"{name} was at {site}" for name, site in stuck),
                )]
            time.sleep(0.05)

    def check(self, *wanted: Checks | str, ignore: Iterable[str] = ()) -> None:
        """Raise the most telling finding of this run's journal, if there is one, among those
        `wanted` (Checks modes and concept names; none given: the run's own mode), less `ignore`."""
        ignored, concepts = set(ignore), concepts_of(wanted or (self.checks,))
        finding = most_telling([f for f in self.findings() if f.concept not in ignored
                                and (concepts is None or f.concept in concepts)])
        if finding is not None:
            raise finding.failure()

    @property
    def children(self) -> list[Any]:
        """The processes the run's parent started, as its journal records them."""
        return children_of(self.events())

    def shared_values_made(self) -> int:
        """How many RawValue/RawArray the student's code made in the run's parent process: the
        shared objects the referee made for the parent, less those the judge asked for itself
        (the parent's own "made" records name them for messages; they prove nothing)."""
        events = self.events()
        parent = parent_pid(events)
        return sum(1 for e in events if e["k"] == "shared" and e["pid"] == parent and e.get("obj") not in self._made)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.host.client.started and self.host.client.process is not None:
            try:
                self._ref.close(False)  # the host collects everything once, before it exits
            except StudentFailure:
                pass
        self.host.closed_runs.remember(self.events())  # for a failure the test raises later
        self.forget()

    def forget(self) -> None:
        self._closed = True
        if self in self.host.harnesses:
            self.host.harnesses.remove(self)
        self._referee.remove()
        shutil.rmtree(self.journal_dir, ignore_errors=True)

    def __enter__(self) -> RemoteHarness:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

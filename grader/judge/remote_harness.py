"""Stand-ins the suites use for the student's module and the harness: every call goes to the
test's student host, and only plain data or references come back.

`mod.run(10, 10)` reads as before; the proxy sends the call to the host and returns the
value. A `RemoteHarness` makes its instruments in the host too, but its verdict (`check`) is
the judge's own: it reads the run's journal and analyses it here, where no student code runs.
"""

from __future__ import annotations

import ast
import builtins
import functools
import multiprocessing
import os
import secrets
import shutil
import time
import types
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from grader.feedback import Site, StudentFailure
from grader.harness.finding_rules import interference_finding, run_findings, tamper_findings
from grader.harness.findings import CHILD_CRASH, TOO_SLOW, Finding, most_telling
from grader.harness.run_records import JournalReader, children_of, parent_pid, stack_site
from grader.harness.runtime import Pauses, display_path, site_from_json
from grader.judge.answer_evidence import answer_findings, history
from grader.judge.checks import Checks, concepts_of
from grader.judge.host_process import HostDied, HostProcess, HostTimeout
from grader.judge.proofs import atomicity_findings, concurrency_findings
from grader.judge.run_witnesses import ClosedRuns
from grader.process_tree import is_running
from grader.referee.launch import RefereeProcess
from grader.referee.server import RefereeSettings
from grader.sandbox.wire import ProtocolError, decode_value

_EXCEPTIONS = {
    name: value for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, Exception)
}
_ERROR_CLASSES: dict[tuple[str, str], type] = {}
SETTLE_SECONDS = 15.0  # after the host says a run has settled, how long its children may take


class StudentError(Exception):
    """An exception the student's code raised in the host, as plain data.

    Its class also derives from the built-in exception the student's one derives from, so
    `except ValueError:` in a suite works as it did when the code ran in-process.
    """

    type_name = "Exception"
    frames: tuple[Site, ...] = ()

    @property
    def site(self) -> Site | None:
        return self.frames[-1] if self.frames else None


def student_error(info: dict[str, Any]) -> StudentError:
    mro = [str(name) for name in info.get("mro") or []]
    base = next((_EXCEPTIONS[name] for name in mro if name in _EXCEPTIONS), Exception)
    name = str(info.get("type") or base.__name__)
    cls = _ERROR_CLASSES.get((name, base.__name__))
    if cls is None:
        cls = _ERROR_CLASSES[(name, base.__name__)] = type(name, (StudentError, base), {"type_name": name})
    error = cls(str(info.get("message", "")))
    error.frames = tuple(site for site in map(site_from_json, info.get("frames") or []) if site)
    return error


def _refuse_interference(info: dict[str, Any]) -> None:
    """The host found the harness changed after the student's code ran: that is the verdict."""
    changes = info.get("interference")
    if changes:
        detail = ", ".join(map(str, changes))[:300] if isinstance(changes, list) else "the harness"
        raise interference_finding(f"replaced: {detail}").failure()


def _function_line(path: Path, name: str) -> int | None:
    """Where `def name` is in the student's file, read as text (never imported here)."""
    try:
        return _definitions(path.read_text(encoding="utf-8", errors="replace")).get(name)
    except OSError:
        return None


@functools.lru_cache(maxsize=16)
def _definitions(source: str) -> dict[str, int]:
    """The line of each top-level def and class of a source text (parsed once per text: every
    site a failure names asks, and a suite asks about the same file many times)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return {}
    found: dict[str, int] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.setdefault(node.name, node.lineno)
    return found


class RemoteObject:
    """An object that lives in the student host; attribute reads, calls, len and iteration go
    there. `origin` is (module file, name) for the student module's own top-level names."""

    def __init__(self, host: StudentHost, number: int, type_name: str, text: str, is_callable: bool,
                 origin: tuple[Path, str] | None = None) -> None:
        self.__dict__.update(_host=host, _host_ref=number, _type=type_name, _text=text,
                             _callable=is_callable, _origin=origin)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._host.ask(f"{self._describe()}.{name}", "getattr", self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("objects in the student host are read-only from the judge")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        text = self._call_text(args, kwargs)
        started = time.monotonic_ns()
        value = self._host.ask(text, "call", self, args, kwargs)
        if self._origin is not None:  # one of the student's functions: its answer is checked
            self._host.answered(text, value, started, time.monotonic_ns())
        return value

    def __len__(self) -> int:
        value = self._host.ask(f"len({self._describe()})", "len", self)
        if type(value) is not int:
            raise TypeError("len() of a host object gave no int")
        return value

    def __iter__(self) -> Iterator[Any]:
        value = self._host.ask(f"list({self._describe()})", "list", self)
        if not isinstance(value, list):
            raise TypeError("iterating a host object gave no list")
        return iter(value)

    def __getitem__(self, key: Any) -> Any:
        return self._host.ask(f"{self._describe()}[{key!r}]", "getitem", self, key)

    def __repr__(self) -> str:
        return f"<in the student host: {self._text}>"

    def __reduce__(self) -> Any:
        raise TypeError("a host object can only travel back to its host")

    def _describe(self) -> str:
        return self._origin[1] if self._origin else self._text

    def _call_text(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        shown = [_short(a) for a in args] + [f"{k}={_short(v)}" for k, v in kwargs.items()]
        return f"{self._describe()}({', '.join(shown)})"

    def site(self) -> Site | None:
        """The student's `def` line of this function, found in the file's text."""
        if self._origin is None:
            return None
        path, name = self._origin
        line = _function_line(path, name)
        if line is None:
            return None
        return Site(display_path(str(path), (str(path.parent),)), line, name)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class StudentModule(RemoteObject):
    """The student's module as the suites see it: names resolve in the host."""

    def __init__(self, host: StudentHost, number: int, path: Path) -> None:
        super().__init__(host, number, "module", path.stem, False)
        self.__dict__.update(__file__=str(path), _path=path)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        value = self._host.ask(f"{self._path.stem}.{name}", "getattr", self, name)
        if isinstance(value, RemoteObject):
            value.__dict__["_origin"] = (self._path, name)
        return value


class StudentHost:
    """One test's host, with what the judge knows of it: its harnesses and their journals."""

    def __init__(self, target_dir: Path, *, call_timeout: float = 25.0) -> None:
        self.target_dir = target_dir
        self.client = HostProcess(target_dir, call_timeout=call_timeout)
        self.harnesses: list[RemoteHarness] = []
        self.modules: dict[str, StudentModule] = {}
        self.closed_runs = ClosedRuns()  # this test's runs, for the witness of a failure it raises

    def module(self, name: str) -> StudentModule:
        """Import the student's module in the host; import-time errors become clear failures."""
        if name in self.modules:
            return self.modules[name]
        path = self.target_dir / f"{name}.py"
        try:
            reply = self.client.request("import", name)
        except (HostDied, HostTimeout, ProtocolError) as error:
            raise self._lost(error, f"importing {name}.py") from None
        if "error" in reply:
            info = reply["error"] if isinstance(reply["error"], dict) else {}
            _refuse_interference(info)
            if "SyntaxError" in (info.get("mro") or []):
                raise StudentFailure(
                    f"Python cannot read {name}.py: {info.get('msg', '')} (line {info.get('lineno', '?')}). "
                    "Fix the syntax error first; no test can run until the file imports.",
                    concept="syntax error",
                )
            error = student_error(info)
            raise StudentFailure(
                f"Importing {name}.py raised {error.type_name}: {error}. Code at the top level "
                "of the module runs on import (and again in every spawned process): keep work "
                "inside functions.",
                site=error.site,
                concept="import error",
            )
        value = reply.get("value")
        if not (isinstance(value, dict) and isinstance(value.get("ref"), int)):
            raise self._interference("the host answered the import with something else")
        module = self.modules[name] = StudentModule(self, value["ref"], path)
        return module

    def ask(self, what: str, *message: Any) -> Any:
        """One request; the student's exceptions come back as `StudentError`s, and a host that
        hangs, dies or breaks the protocol as the judge's own verdict."""
        try:
            reply = self.client.request(*message)
        except (HostDied, HostTimeout, ProtocolError) as error:
            raise self._lost(error, what) from None
        if "error" in reply:
            info = reply["error"] if isinstance(reply["error"], dict) else {}
            _refuse_interference(info)
            if info.get("harness") is True:
                raise self._verdict_or(StudentFailure(
                    f"The harness stopped {what}, but the run's records do not say why.",
                    concept=CHILD_CRASH)) from None
            raise student_error(info)
        try:
            return decode_value(reply.get("value"), self._reference)
        except ProtocolError as error:
            raise self._lost(error, what) from None

    def answered(self, call: str, value: Any, started: int, ended: int) -> None:
        """A student function returned `value`: every open run that instruments the student's
        module checks it against its shared data (`RemoteHarness.require_processes`)."""
        for harness in self.harnesses:
            if harness.substituted:
                harness.answers.append((call, value, started, ended))

    def _reference(self, number: int, type_name: str, text: str, is_callable: bool) -> RemoteObject:
        return RemoteObject(self, number, type_name, text, is_callable)

    # -- verdicts when the host cannot answer ----------------------------------------------
    def _lost(self, error: Exception, what: str) -> StudentFailure:
        if isinstance(error, ProtocolError):
            return self._interference(f"the process running your code broke the judge's protocol ({error})")
        if isinstance(error, HostTimeout):
            stuck = self._where_stuck()
            return self._verdict_or(Finding(
                TOO_SLOW,
                f"{what} did not finish within {self.client.call_timeout:g} s, so it was stopped. "
                "Something waits forever or loops without end.",
                next((site for _, site in stuck if site is not None), None),
                tuple(f"{name} was at {site}" for name, site in stuck),
            ).failure(), finished=False)
        code = getattr(error, "exitcode", None)
        return self._verdict_or(StudentFailure(
            f"The process running your code ended (exit code {code}) during {what}, before it "
            "could return. Do not end the program from inside your functions (no sys.exit(), "
            "os._exit() or signals): return the result instead.",
            concept=CHILD_CRASH,
        ), finished=False)

    def _interference(self, detail: str) -> StudentFailure:
        return interference_finding(detail).failure()

    def _verdict_or(self, fallback: StudentFailure, *, finished: bool = True) -> StudentFailure:
        """The most telling finding of the open runs' journals, else `fallback`. A call that did
        not return (`finished=False`) never reached its joins: they are not held against it."""
        findings = [f for harness in self.harnesses for f in harness.findings(settle=False, finished=finished)]
        finding = most_telling(findings)
        return finding.failure() if finding is not None else fallback

    def _where_stuck(self) -> list[tuple[str, Site | None]]:
        student_dirs = (str(self.target_dir.resolve()),)
        stuck = []
        host_site = stack_site(self.client.host_stack_file(), student_dirs)
        if host_site is not None:
            stuck.append(("the main process", host_site))
        for harness in self.harnesses:
            for child in children_of(harness.events()):
                site = stack_site(os.path.join(harness.journal_dir, f"{child.pid}.stack"), student_dirs)
                if site is not None:
                    stuck.append((f"process {child.number}", site))
        return stuck

    def close(self) -> None:
        for harness in list(self.harnesses):
            harness.forget()
        self.client.close()


class RemoteHarness:  # a grader.harness.checked_run.CheckedRun
    """A checked run whose instruments live in the host and whose verdict is the judge's."""

    def __init__(self, host: StudentHost, start_method: str | None, options: dict[str, Any]) -> None:
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
            raise self.host._interference("a shared value the referee does not hold")
        return values if array else values[0]

    def _settled_events(self) -> tuple[list[dict[str, object]], list[Finding]]:
        """The journal once every child has ended. The host says when the run has settled, but
        the host runs student code: the judge checks for itself that no child still runs (and
        stops the run, as too slow, if one does past the deadline) before it reads a verdict."""
        if not self._closed:
            self._ref.settle()
        end = time.monotonic() + SETTLE_SECONDS
        while True:
            events = self.events()
            running = [c for c in children_of(events) if c.ended_t is None and is_running(c.pid)]
            if not running:
                return events, []
            if time.monotonic() > end:
                self.host.client.dump_stacks()
                stuck = self.host._where_stuck()
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

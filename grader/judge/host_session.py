"""One test's dealings with its student host: `HostSession` imports the student's module
there, sends each request of the test's proxies, hands the student's answers to the open runs,
and gives the judge's verdict when the host cannot answer (it hung, died or broke the
protocol), from the runs' journals where they tell more.

Three pieces make the judge's side and the host's: `HostProcess` (grader.judge.host_process,
the process itself), `HostSession` (here, what one test does with it) and, inside the host,
`RequestServer` (grader.sandbox.host).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.feedback import Site, StudentFailure
from grader.harness.finding_rules import interference_finding
from grader.harness.findings import CHILD_CRASH, TOO_SLOW, Finding, most_telling
from grader.harness.run_records import children_of, stack_site
from grader.judge.host_process import HostDied, HostProcess, HostTimeout
from grader.judge.run_witnesses import ClosedRuns
from grader.judge.student_objects import (
    RemoteObject,
    StudentModule,
    refuse_interference,
    student_error,
)
from grader.sandbox.wire import ProtocolError, decode_value

if TYPE_CHECKING:
    from grader.judge.remote_harness import RemoteHarness


class HostSession:
    """One test's dealings with its host, with what the judge knows of it: its harnesses and
    their journals."""

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
            refuse_interference(info)
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
            raise self.interference("the host answered the import with something else")
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
            refuse_interference(info)
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
            return self.interference(f"the process running your code broke the judge's protocol ({error})")
        if isinstance(error, HostTimeout):
            stuck = self.where_stuck()
            return self._verdict_or(Finding(
                TOO_SLOW,
                f"{what} did not finish within {error.seconds:g} s, so it was stopped. "
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

    def interference(self, detail: str) -> StudentFailure:
        return interference_finding(detail).failure()

    def _verdict_or(self, fallback: StudentFailure, *, finished: bool = True) -> StudentFailure:
        """The most telling finding of the open runs' journals, else `fallback`. A call that did
        not return (`finished=False`) never reached its joins: they are not held against it."""
        findings = [f for harness in self.harnesses for f in harness.findings(settle=False, finished=finished)]
        finding = most_telling(findings)
        return finding.failure() if finding is not None else fallback

    def where_stuck(self) -> list[tuple[str, Site | None]]:
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

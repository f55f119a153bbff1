"""pytest plugin that records each test's outcome for the grader, one JSON line per event.

The grader runs every suite in its own pytest process (`-p grader.judge.results_plugin
--grader-results-fd N`) and reads these events from a pipe only this process holds (see
`grader.judge.results_channel`) instead of pytest's terminal output, which is meant for developers.
Events are written one at a time, so whatever finished before the grader had to stop an
overrunning suite is still there to be scored.

Events (one JSON object per line, key "event"):
  collected       {"tests": [names]}: every test of the suite, in order
  collect_error   {"message"}: the suite (or a module it imports) could not be loaded
  start           {"test"}: a test began (the last one without a result is the one running)
  result          {"test", "status", "message", "file", "line", "concept", "duration"}, and
                  "witness" when a concurrency failure carries one (grader/harness/witness.py)
  interference    {"message", "files"}: at the session's end, the judge had loaded files from
                  outside its trusted places (grader.judge.makeup): no test of the session counts
  finish          {"exitstatus"}

On SIGUSR1 the plugin dumps every thread's stack to the file --grader-stack-file names
(faulthandler), so the grader can say where an overrunning suite was stuck before it kills it.
"""

from __future__ import annotations

import faulthandler
import json
import os
import re
import signal
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

from grader.judge.explain import explain
from grader.judge.makeup import MAKEUP_KEY, interference_message
from grader.judge.results_channel import OPTION, open_writer

MAX_MESSAGE = 2000  # characters of a failure message kept; the rest is cut with a note
_TIMEOUT_RE = re.compile(r"Timeout \(>([0-9.]+)s\) from pytest-timeout")
# `File "x.py", line 3` (Python tracebacks) or `x.py:3: in f` (pytest's short tracebacks)
_LOCATION_RE = re.compile(
    r'File "(?P<file>[^"]+)", line (?P<line>\d+)|^(?P<file2>\S+\.py):(?P<line2>\d+)', re.M)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("grader-results", "results for the grader")
    group.addoption(OPTION, default=None, dest="grader_results_fd",
                    help="write per-test JSON lines to this inherited descriptor (the grader's pipe)")
    group.addoption("--grader-stack-file", default=None, help="where to dump stacks on SIGUSR1")
    group.addoption(
        "--grader-root",
        default=None,
        help="repository root that student file paths are made relative to",
    )


def truncate(text: str, limit: int = MAX_MESSAGE) -> str:
    """Cut a message that would flood a table, a JSON file or an annotation."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… (cut: {len(text)} characters in all)"


class _Recorder:
    """Collects the phases of each test and writes one result line when the test is over."""

    def __init__(self, fd: int, root: Path | None, target: Path | None) -> None:
        self.fd = fd
        self.root = root
        self.target = target
        self.phases: dict[str, list[dict[str, Any]]] = {}
        self._stack_file = None

    # -- output ---------------------------------------------------------------------------

    def write(self, event: str, **fields: Any) -> None:
        # One unbuffered write per event: nothing is left in a buffer if the run is killed.
        data = (json.dumps({"event": event, **fields}, ensure_ascii=False) + "\n").encode()
        while data:
            data = data[os.write(self.fd, data):]

    def enable_stack_dump(self, path: str | None) -> None:
        if not hasattr(signal, "SIGUSR1") or not path:
            return
        self._stack_file = open(path, "w", encoding="utf-8")
        faulthandler.register(signal.SIGUSR1, file=self._stack_file, all_threads=True)

    # -- hooks (this object is registered as a plugin) ---------------------------------------

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if not report.failed:
            return
        text = str(report.longrepr)
        lines = [line[1:].strip() for line in text.splitlines() if line.startswith("E ")]
        if not lines and text.strip():
            lines = [text.strip().splitlines()[-1]]
        message = "\n".join(lines) or "the tests could not be loaded"
        where = self.collect_error_site(report)
        self.write("collect_error", message=truncate(message),
                   file=where[0] if where else None, line=where[1] if where else None)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.write("collected", tests=[item.name for item in session.items])

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        self.phases[nodeid] = []
        self.write("start", test=_name(nodeid))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]):
        report = yield
        phase: dict[str, Any] = {"when": call.when, "outcome": report.outcome,
                                 "duration": float(report.duration)}
        if report.failed and call.excinfo is not None:
            phase.update(self.describe(call.excinfo.value, call.excinfo.tb))
        elif report.failed:
            text = report.longreprtext.strip()
            phase["message"] = truncate(text.splitlines()[-1] if text else "failed")
        if hasattr(report, "wasxfail"):
            phase["outcome"] = "skipped"
        elif report.skipped and isinstance(report.longrepr, tuple) and len(report.longrepr) == 3:
            phase["message"] = truncate(str(report.longrepr[2]).removeprefix("Skipped: "))
        self.phases.setdefault(item.nodeid, []).append(phase)
        return report

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        self.write("result", test=_name(nodeid), **_combine(self.phases.pop(nodeid, [])))

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        makeup = session.config.stash.get(MAKEUP_KEY, None)
        foreign = makeup.foreign_files(session.config.pluginmanager.get_plugins()) if makeup else []
        if foreign:
            self.write("interference", message=interference_message(foreign, self.root),
                       files=foreign)
        self.write("finish", exitstatus=int(exitstatus))

    # -- locating the student's code --------------------------------------------------------

    def display(self, filename: str) -> str:
        """A path relative to the repository root when it is inside it (as GitHub wants it)."""
        path = Path(filename)
        if not path.is_absolute() and self.root is not None and (self.root / path).exists():
            return path.as_posix()
        try:
            resolved = (self.root / path if self.root and not path.is_absolute() else path).resolve()
        except OSError:
            return filename
        if self.root is not None:
            try:
                return resolved.relative_to(self.root).as_posix()
            except ValueError:
                pass
        return resolved.as_posix() if path.is_absolute() else filename

    def in_target(self, filename: str) -> bool:
        if self.target is None:
            return False
        try:
            Path(filename).resolve().relative_to(self.target)
        except (ValueError, OSError):
            return False
        return True

    def student_frame(self, tb: TracebackType | None) -> tuple[str, int] | None:
        """The innermost frame of a traceback that lies in the student's target directory."""
        found = None
        while tb is not None:
            filename = tb.tb_frame.f_code.co_filename
            if self.in_target(filename):
                found = (self.display(filename), tb.tb_lineno)
            tb = tb.tb_next
        return found

    def collect_error_site(self, report: pytest.CollectReport) -> tuple[str, int] | None:
        """The last place in the student's files that a collection error's traceback names."""
        found = None
        for entry in getattr(getattr(report.longrepr, "reprtraceback", None), "reprentries", []):
            location = getattr(entry, "reprfileloc", None)
            if location is not None and self.in_target(str(location.path)):
                found = (self.display(str(location.path)), int(location.lineno))
        if found is None:
            for match in _LOCATION_RE.finditer(str(report.longrepr)):
                filename = match.group("file") or match.group("file2")
                line = match.group("line") or match.group("line2")
                if self.in_target(filename):
                    found = (self.display(filename), int(line))
        return found

    # -- explaining a failure -----------------------------------------------------------------

    def describe(self, error: BaseException, tb: TracebackType | None) -> dict[str, Any]:
        """Message, file, line and concept for a failed phase, without harness tracebacks."""
        explanation = explain(error, fallback=False)
        if explanation is not None:
            info: dict[str, Any] = {
                "message": truncate(explanation.message),
                "file": explanation.site.file if explanation.site else None,
                "line": explanation.site.line if explanation.site else None,
                "concept": explanation.concept,
            }
            if explanation.witness:
                info["witness"] = explanation.witness
            if info["file"]:
                info["file"] = self.display(str(info["file"]))
            else:
                where = self._origin(error.__context__)
                if where:
                    info["file"], info["line"] = where
            return info
        text = str(error)
        match = _TIMEOUT_RE.search(text)
        if isinstance(error, pytest.fail.Exception) and match:
            seconds = float(match.group(1))
            shown = f"{seconds:g}"
            where = self.student_frame(tb)  # the signal interrupted the student's frame
            return {"message": f"took longer than {shown} s", "timeout": True,
                    "file": where[0] if where else None, "line": where[1] if where else None,
                    "concept": None}
        name = type(error).__name__
        message = f"{name}: {text}" if text else name
        where = self.student_frame(tb) or self._origin(error.__context__)
        file, line = where if where else (None, None)
        return {"message": truncate(message), "file": file, "line": line, "concept": None}

    def _origin(self, error: BaseException | None) -> tuple[str, int] | None:
        """Where a wrapped import-time error happened (SyntaxError carries its own place)."""
        if error is None:
            return None
        if isinstance(error, SyntaxError) and error.filename and self.in_target(error.filename):
            return self.display(error.filename), int(error.lineno or 0)
        return self.student_frame(error.__traceback__)


def pytest_configure(config: pytest.Config) -> None:
    token = config.getoption("grader_results_fd")
    if not token:
        return
    root = config.getoption("--grader-root")
    try:
        target: Path | None = Path(config.getoption("--target")).resolve()
    except (ValueError, TypeError, OSError):
        target = None
    recorder = _Recorder(open_writer(token), Path(root).resolve() if root else None, target)
    recorder.enable_stack_dump(config.getoption("--grader-stack-file"))
    config.pluginmanager.register(recorder, "grader-results-recorder")


def _name(nodeid: str) -> str:
    """`tests/test_x.py::test_concept[spawn]` -> `test_concept[spawn]` (what info.toml weighs)."""
    return nodeid.rsplit("::", 1)[-1]


def _combine(phases: list[dict[str, Any]]) -> dict[str, Any]:
    """setup, call and teardown of one test -> one status: the first failure decides."""
    duration = sum(p.get("duration", 0.0) for p in phases)
    base = {"status": "passed", "message": "", "file": None, "line": None, "concept": None,
            "duration": round(duration, 6)}
    for phase in phases:
        if phase["outcome"] == "failed":
            if phase.get("timeout"):
                status = "timeout"
            elif phase["when"] == "call":
                status = "failed"
            else:
                status = "error"
            base.update(status=status, message=phase.get("message", ""), file=phase.get("file"),
                        line=phase.get("line"), concept=phase.get("concept"))
            if phase.get("witness"):
                base["witness"] = phase["witness"]
            return base
    if any(p["outcome"] == "skipped" for p in phases):
        base["status"] = "skipped"
        base["message"] = next((p["message"] for p in phases if p.get("message")), "")
    elif not phases:
        base["status"] = "error"
        base["message"] = "the test did not report a result"
    return base

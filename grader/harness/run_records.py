"""What a run left behind, read as untrusted data: its journal (written by processes that ran
student code), the processes it tells of, and a child's stack dump."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass

from grader.feedback import Site
from grader.harness.runtime import display_path, site_from_json

Event = dict[str, object]


class JournalReader:
    """Reads the run's journal files incrementally (only complete lines)."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self._offsets: dict[str, int] = {}
        self.events: list[Event] = []

    def poll(self) -> list[Event]:
        fresh: list[Event] = []
        try:
            names = sorted(n for n in os.listdir(self.directory) if n.endswith(".jsonl"))
        except FileNotFoundError:
            return fresh
        for name in names:
            path = os.path.join(self.directory, name)
            offset = self._offsets.get(name, 0)
            with open(path, "rb") as handle:
                handle.seek(offset)
                data = handle.read()
            end = data.rfind(b"\n") + 1
            if end:
                self._offsets[name] = offset + end
                fresh.extend(event for line in data[:end].splitlines() if (event := _parse(line)))
        fresh.sort(key=lambda e: e["t"])  # type: ignore[arg-type, return-value]
        self.events.extend(fresh)
        return fresh

    def everything(self) -> list[Event]:
        """Every event of the run so far, including any not read yet."""
        self.poll()
        return self.events


def _parse(line: bytes) -> Event | None:
    """One journal line, or None if it is not a well-formed event. Journals are written by
    processes that run student code, so the judge reads them as untrusted data."""
    try:
        event = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if (not isinstance(event, dict) or not isinstance(event.get("k"), str)
            or type(event.get("pid")) is not int or type(event.get("t")) is not int):
        return None
    return event

def event_site(event: Event, key: str = "site") -> Site | None:
    """The student's file and line an event names (None when it names none)."""
    return site_from_json(event.get(key))  # type: ignore[arg-type]

def parent_pid(events: list[Event]) -> int | None:
    """The process that made the run (its "harness" event), where the children were started."""
    return next((int(e["pid"]) for e in events if e["k"] == "harness"), None)  # type: ignore[call-overload]


@dataclass
class ChildRecord:
    """One child as the journal tells it: started, joined, ran, ended."""

    pid: int
    number: int
    started_t: int
    started_at: Site | None
    joined_t: int | None = None
    joined_at: Site | None = None
    arrived_t: int | None = None
    ran: bool = False
    ran_t: int | None = None
    ended_t: int | None = None
    code: int | None = None
    gave_up_at: Site | None = None  # a join(timeout) that returned before the child ended


def children_of(events: list[Event]) -> list[ChildRecord]:
    """The children the parent started, in start order, with what their events say. A start the
    referee could not verify (the process no longer existed) counts only if the process itself
    spoke to the referee: a claimed start of no process is no child."""
    children: dict[int, ChildRecord] = {}
    speakers = {event["pid"] for event in events}
    for event in events:
        kind = event["k"]
        if kind == "start":
            pid = int(event["child"])  # type: ignore[call-overload]
            if event.get("verified") is False and pid not in speakers:
                continue
            children[pid] = ChildRecord(pid, int(event["n"]), int(event["t"]), event_site(event))  # type: ignore[call-overload]
            continue
        pid = int(event.get("child", event["pid"]))  # type: ignore[call-overload]
        child = children.get(pid)
        if child is None:
            continue
        if kind == "join" and child.joined_t is None:
            child.joined_t, child.joined_at = int(event["t"]), event_site(event)  # type: ignore[call-overload]
        elif kind == "join_gave_up" and child.ended_t is None:
            child.joined_t, child.joined_at, child.gave_up_at = None, None, event_site(event)
        elif kind == "arrive" and int(event["pid"]) == pid:  # type: ignore[call-overload]
            child.arrived_t = int(event["t"])  # type: ignore[call-overload]
        elif kind == "run" and int(event["pid"]) == pid:  # type: ignore[call-overload]
            child.ran, child.ran_t = True, int(event["t"])  # type: ignore[call-overload]
        elif kind in ("exit", "reaped"):
            if child.ended_t is None:
                child.ended_t = int(event["t"])  # type: ignore[call-overload]
            if kind == "reaped":
                child.code = int(event["code"])  # type: ignore[call-overload]
    return sorted(children.values(), key=lambda c: c.number)

_STACK_LINE = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+) in (?P<func>\S+)')


def stack_site(path: str, student_dirs: tuple[str, ...]) -> Site | None:
    """The innermost student frame of a faulthandler dump (most recent call first)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read(256 * 1024)
    except OSError:
        return None
    for match in _STACK_LINE.finditer(text):
        file = match["file"]
        if any(file.startswith(d + os.sep) for d in student_dirs):
            return Site(display_path(file, student_dirs), int(match["line"]), match["func"])
    return None

"""From journal events to findings: lock state, deadlock cycles, lock order, locksets.

`LockTable` is the live picture the watchdog keeps while processes run; `analyse` turns a
finished run's events into findings, each in plain words with the student's line.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from grader.feedback import Site
from grader.harness.findings import (
    CHILD_CRASH,
    DEADLOCK,
    FOREIGN_RELEASE,
    INTERFERENCE,
    LOCK_ORDER,
    LOST_UPDATE,
    MISSING_JOIN,
    SELF_DEADLOCK,
    START_JOIN_ORDER,
    UNRELEASED_LOCK,
    Finding,
)
from grader.harness.runtime import display_path, site_from_json
from grader.harness.witness import (
    Witness,
    deadlock_witness,
    for_stop,
    lock_order_witness,
    lost_update_witness,
    unreleased_witness,
)

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


def _site(event: Event, key: str = "site") -> Site | None:
    return site_from_json(event.get(key))  # type: ignore[arg-type]


@dataclass
class Holding:
    lock: str
    name: str
    site: Site | None


@dataclass
class LockTable:
    """Who holds and who waits for which tracked lock, as far as the journal says."""

    held: dict[int, dict[str, Holding]] = field(default_factory=dict)
    waiting: dict[int, Holding] = field(default_factory=dict)
    exited: dict[int, Event] = field(default_factory=dict)
    stops: list[Event] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)  # everything applied, for witnesses

    def apply(self, events: Iterable[Event]) -> None:
        events = list(events)
        self.events.extend(events)
        for event in events:
            pid, kind = int(event["pid"]), event["k"]  # type: ignore[call-overload]
            if kind == "wait":
                self.waiting[pid] = Holding(str(event["lock"]), str(event["name"]), _site(event))
            elif kind == "acquire":
                self.waiting.pop(pid, None)
                self.held.setdefault(pid, {})[str(event["lock"])] = Holding(
                    str(event["lock"]), str(event["name"]), _site(event)
                )
            elif kind == "gave_up":
                self.waiting.pop(pid, None)
            elif kind == "release":
                self.held.get(pid, {}).pop(str(event["lock"]), None)
            elif kind == "exit":
                self.exited[pid] = event
            elif kind in ("self_deadlock", "foreign_release"):
                self.stops.append(event)

    def holder(self, lock: str) -> int | None:
        for pid, locks in self.held.items():
            if lock in locks:
                return pid
        return None

    def cycle(self) -> list[int] | None:
        """A cycle of processes each waiting for a lock the next one holds, if any."""
        for start in self.waiting:
            path: list[int] = []
            pid: int | None = start
            while pid is not None and pid in self.waiting and pid not in path:
                path.append(pid)
                pid = self.holder(self.waiting[pid].lock)
            if pid is not None and pid in path:
                return path[path.index(pid) :]
        return None

    def deadlock_finding(self, cycle: list[int], names: dict[int, str]) -> Finding:
        details = []
        for pid in cycle:
            wanted = self.waiting[pid]
            holdings = ", ".join(f"{h.name} (acquired at {h.site})" for h in self.held.get(pid, {}).values())
            details.append(
                f"{names.get(pid, f'process {pid}')} holds {holdings or 'nothing'} and waits for "
                f"{wanted.name} at {wanted.site}"
            )
        first = self.waiting[cycle[0]]
        held = {pid: [(h.lock, _str(h.site)) for h in self.held.get(pid, {}).values()] for pid in cycle}
        waiting = {pid: (self.waiting[pid].lock, _str(self.waiting[pid].site)) for pid in cycle}
        file = first.site.file if first.site else None
        return Finding(
            DEADLOCK,
            "Deadlock: these processes each wait for a lock that another one of them holds, so "
            "none of them can ever go on. Look at the order in which your code takes the locks.",
            first.site,
            tuple(details),
            witness=_safe(DEADLOCK, deadlock_witness, self.events, cycle, held, waiting, names, file),
        )

    def stranded(self, alive: set[int]) -> Finding | None:
        """A lock held by a process that has ended while a live process waits for it."""
        for pid, wanted in self.waiting.items():
            if pid not in alive:
                continue
            holder = self.holder(wanted.lock)
            if holder is not None and holder not in alive:
                holding = self.held[holder][wanted.lock]
                finding = unreleased_finding(holding, self.exited.get(holder), waiting_at=wanted.site)
                return _with_witness(finding, unreleased_witness, self.events, holding.lock, holder, _file(finding))
        return None


def _str(site: Site | None) -> str | None:
    return None if site is None else str(site)


def _file(finding: Finding) -> str | None:
    return finding.site.file if finding.site else None


def _safe(concept: str, build: Callable[..., Witness], *args: object) -> Witness:
    """A witness, or plain words that none could be drawn: never a failure of the grading."""
    try:
        return build(*args)
    except Exception as error:  # noqa: BLE001 - a witness is an extra; the finding must stand
        return Witness.unavailable(concept, f"the journal could not be put into a timeline ({type(error).__name__}).")


def _with_witness(finding: Finding, build: Callable[..., Witness], *args: object) -> Finding:
    return replace(finding, witness=_safe(finding.concept, build, *args))


def unreleased_finding(holding: Holding, exit_event: Event | None, waiting_at: Site | None = None) -> Finding:
    how = "finished"
    if exit_event is None:
        how = "was stopped"
    elif exit_event.get("code"):
        how = "crashed"
    message = (
        f"The lock {holding.name} acquired at {holding.site} was never released: the process "
        f"{how} while still holding it."
    )
    if waiting_at is not None:
        message += f" Another process waits for it at {waiting_at} and can never go on."
    message += " Check every way out of the code after acquire(): each one needs a release()."
    return Finding(UNRELEASED_LOCK, message, holding.site)


def analyse(events: list[Event]) -> list[Finding]:
    """Every finding a finished run's journal supports, in time order within each kind."""
    findings: list[Finding] = []
    findings += _stops(events)
    findings += _unreleased(events)
    findings += _lock_order(events)
    findings += _lockset(events)
    findings += _crashes(events)
    return findings


_STOP_CONCEPTS = {"self_deadlock": SELF_DEADLOCK, "foreign_release": FOREIGN_RELEASE}


def stop_finding(event: Event, events: list[Event] | None = None) -> Finding:
    """The finding a child journaled just before the harness stopped it."""
    finding = Finding(_STOP_CONCEPTS[str(event["k"])], str(event["message"]), _site(event))
    return finding if events is None else _with_witness(finding, for_stop, events, event)


def _stops(events: list[Event]) -> list[Finding]:
    return [stop_finding(e, events) for e in events if e["k"] in _STOP_CONCEPTS]


def _unreleased(events: list[Event]) -> list[Finding]:
    findings, seen = [], set()
    for event in events:
        if event["k"] != "exit":
            continue
        for uid, name, site in event["held"]:  # type: ignore[union-attr, misc]
            key = (uid, tuple(site or ()))
            if key not in seen:
                seen.add(key)
                finding = unreleased_finding(Holding(uid, name, site_from_json(site)), event)
                pid = int(event["pid"])  # type: ignore[call-overload]
                findings.append(_with_witness(finding, unreleased_witness, events, uid, pid, _file(finding)))
    return findings


def _lock_order(events: list[Event]) -> list[Finding]:
    """Lockdep's rule: if A is ever taken while holding B, B must never be taken while holding A."""
    edges: dict[tuple[str, str], tuple[str, str, Site | None, Site | None]] = {}
    for event in events:
        if event["k"] != "wait":
            continue
        for uid, name, site in event["held"]:  # type: ignore[union-attr, misc]
            key = (uid, str(event["lock"]))
            if key[0] != key[1]:
                edges.setdefault(key, (name, str(event["name"]), site_from_json(site), _site(event)))
    findings = []
    reported: set[frozenset[str]] = set()
    for (first, second), (name_a, name_b, site_a1, site_b1) in edges.items():
        back = edges.get((second, first))
        pair = frozenset((first, second))
        if back is None or pair in reported:
            continue
        reported.add(pair)
        _, _, site_b2, site_a2 = back
        findings.append(_with_witness(
            Finding(
                LOCK_ORDER,
                f"These two locks are taken in opposite orders: {name_a} then {name_b} "
                f"(at {site_a1} and {site_b1}), but elsewhere {name_b} then {name_a} (at {site_b2} "
                f"and {site_a2}). Two processes doing this at the same time can each hold one lock "
                "and wait forever for the other, even if this run was lucky. Always take locks "
                "in one fixed order.",
                site_b1,
            ),
            lock_order_witness, events, first, second, site_b1.file if site_b1 else None,
        ))
    return findings


def _lockset(events: list[Event]) -> list[Finding]:
    """Eraser's rule: for each shared location, some one lock is held at every access."""
    names: dict[str, str] = {}
    candidates: dict[str, set[str]] = {}
    first_access: dict[str, Event] = {}
    for event in events:
        if event["k"] in ("lock", "acquire", "wait"):
            names[str(event["lock"])] = str(event["name"])
            continue
        if event["k"] != "access" or event.get("lockset") is False:
            continue
        location = str(event["loc"])
        held = set(event["held"])  # type: ignore[call-overload]
        if location not in candidates:
            candidates[location] = held
            first_access[location] = event
        else:
            candidates[location] &= held
        if candidates[location]:
            continue
        finding = _lockset_finding(location, event, first_access[location], names)
        return [_with_witness(finding, lost_update_witness, events, location, _file(finding), event)]
    return []


def _lockset_finding(location: str, event: Event, first: Event, names: dict[str, str]) -> Finding:
    op, site = ("read", "written")[event["op"] == "write"], _site(event)
    location = location if " " in location else f"`{location}`"
    held = [names.get(uid, uid) for uid in event["held"]]  # type: ignore[union-attr]
    if not held:
        message = (
            f"Lost update risk: {location} was {op} at {site} while this process held no lock. "
            "Another process can change it between your read and your write, and one of the "
            "updates is lost. Every read and write of a shared value must happen while holding "
            "the shared lock."
        )
    else:
        earlier = [names.get(uid, uid) for uid in first["held"]]  # type: ignore[union-attr]
        message = (
            f"Lost update risk: {location} was {op} at {site} holding {', '.join(held)}, but "
            f"at {_site(first)} it was accessed holding {', '.join(earlier) or 'no lock'}. No "
            "single lock protects every access, so two processes can be inside at once. All "
            "processes must use the same lock, the one passed in to them."
        )
    return Finding(LOST_UPDATE, message, site)


def _crashes(events: list[Event]) -> list[Finding]:
    findings = []
    for event in events:
        if event["k"] == "crash":
            findings.append(
                Finding(
                    CHILD_CRASH,
                    f"A child process crashed with {event['error']}: {event['message']} "
                    f"(at {_site(event)}). Its traceback:\n{event['traceback']}".rstrip(),
                    _site(event),
                )
            )
    return findings


# -- the parent's side of a run: start, join, exit, reads of results ------------------------

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
            children[pid] = ChildRecord(pid, int(event["n"]), int(event["t"]), _site(event))  # type: ignore[call-overload]
            continue
        pid = int(event.get("child", event["pid"]))  # type: ignore[call-overload]
        child = children.get(pid)
        if child is None:
            continue
        if kind == "join" and child.joined_t is None:
            child.joined_t, child.joined_at = int(event["t"]), _site(event)  # type: ignore[call-overload]
        elif kind == "join_gave_up" and child.ended_t is None:
            child.joined_t, child.joined_at, child.gave_up_at = None, None, _site(event)
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


def run_findings(events: list[Event], *, require_concurrency: bool = True,
                 require_join: bool = True) -> list[Finding]:
    """Every finding a run's journal supports: the children's events and the parent's."""
    children = children_of(events)
    aborted = [e for e in events if e["k"] == "abort"]
    findings = analyse(events)
    findings += _interference(events, children)
    findings += _final_deadlock(events, children)
    # What the run's watchdog stopped it for, unless the journal itself shows it (with a witness).
    shown = {f.concept for f in findings}
    findings += [Finding(str(e["concept"]), str(e["message"]), _site(e),
                         tuple(str(d) for d in e.get("details") or ()))  # type: ignore[union-attr]
                 for e in aborted if e["concept"] not in shown]
    if require_join:
        findings += _reads_while_running(events, children)
    # A run the harness stopped never reached its joins: "never joined" would blame the program.
    findings += _order_findings(children, require_concurrency, require_join and not aborted)
    if not aborted:
        findings += _silent_failures(children)
    return findings


def tamper_findings(events: list[Event]) -> list[Finding]:
    """A process of the run reports that its harness was changed while it ran, or sent the
    referee something it refused (a record only the referee may write, an operation it never
    offered): either way the run's processes did more than compute."""
    for event in events:
        if event["k"] == "refused":
            return [interference_finding(f"the referee refused {str(event.get('why', ''))[:200]}")]
        tampered = event.get("tampered") if event["k"] == "exit" else None
        if tampered:
            return [interference_finding(", ".join(map(str, tampered))[:300])]
    return []


def _interference(events: list[Event], children: list[ChildRecord]) -> list[Finding]:
    """A child whose harness was replaced while it ran, or that ran without its supervision."""
    tampered = tamper_findings(events)
    if tampered:
        return tampered
    for child in children:
        if child.code == 0 and not child.ran:
            return [interference_finding(f"process {child.number} ended normally without running "
                                         "under the harness's supervision")]
    return []


def interference_finding(detail: str) -> Finding:
    return Finding(
        INTERFERENCE,
        f"Your code interfered with the judge's instruments ({detail}). A submission may only "
        "compute its results; changing the harness, the test code or the runtime they rely on "
        "scores nothing.",
    )


def _final_deadlock(events: list[Event], children: list[ChildRecord]) -> list[Finding]:
    """A cycle of waits that never ended: the processes were stopped while deadlocked."""
    table = LockTable()
    table.apply(events)
    cycle = table.cycle()
    if cycle is None or any(pid in table.exited for pid in cycle):
        return []
    names = {c.pid: f"process {c.number}" for c in children}
    return [table.deadlock_finding(cycle, names)]


def _reads_while_running(events: list[Event], children: list[ChildRecord]) -> list[Finding]:
    for event in events:
        if event["k"] != "parent_access":
            continue
        t = int(event["t"])  # type: ignore[call-overload]
        running = [c for c in children if c.started_t < t and (c.joined_t is None or c.joined_t > t)
                   and (c.ended_t is None or c.ended_t > t)]
        if not running:
            continue
        location, site = str(event["loc"]), _site(event)
        gave_up = next((c.gave_up_at for c in running if c.gave_up_at is not None), None)
        return [Finding(
            MISSING_JOIN,
            f"{location if ' ' in location else f'`{location}`'} was "
            f"{'read' if event['op'] == 'read' else 'changed'} at {site} while "
            f"{len(running)} process(es) were still running"
            + (f": the join with a timeout at {gave_up} returned before the process had finished. "
               if gave_up is not None else ". ")
            + "Wait for every process with join() before you use the result: until then it is not "
            "finished, however long you wait in other ways.",
            site,
        )]
    return []


def _order_findings(children: list[ChildRecord], require_concurrency: bool, require_join: bool) -> list[Finding]:
    findings = []
    if require_concurrency:
        for child in children:
            later = [c for c in children if child.joined_t is not None and c.started_t > child.joined_t]
            if later:
                findings.append(Finding(
                    START_JOIN_ORDER,
                    f"Process {child.number} was joined at {child.joined_at} before process "
                    f"{later[0].number} was started at {later[0].started_at}, so they ran one "
                    "after another instead of at the same time. Start all the processes "
                    "first, then join them all.",
                    child.joined_at,
                ))
                break
    if require_join:
        unjoined = [c for c in children if c.joined_t is None]
        if unjoined and unjoined[0].gave_up_at is not None:
            findings.append(Finding(
                MISSING_JOIN,
                f"Process {unjoined[0].number}, started at {unjoined[0].started_at}, was still running "
                f"when the join with a timeout at {unjoined[0].gave_up_at} returned, and nothing waited "
                "for it after that. A process may take longer than any timeout: wait for it with "
                "join() (no timeout) before you use the result.",
                unjoined[0].gave_up_at,
            ))
        elif unjoined:
            findings.append(Finding(
                MISSING_JOIN,
                f"Process {unjoined[0].number}, started at {unjoined[0].started_at}, was never "
                "joined. Without join() the parent does not wait for it to finish, so its "
                "work may not be done when you use the result.",
                unjoined[0].started_at,
            ))
    return findings


def _silent_failures(children: list[ChildRecord]) -> list[Finding]:
    """Children that failed before running any student code (nothing in the journal)."""
    return [
        Finding(
            CHILD_CRASH,
            f"Process {c.number} (started at {c.started_at}) failed before running your "
            f"function (exit code {c.code}). Everything passed to a process in "
            "args=(...) must still exist and be picklable when the process starts.",
            c.started_at,
        )
        for c in children
        if c.code not in (0, None, -9) and not c.ran
    ]

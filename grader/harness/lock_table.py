"""Who holds and who waits for which tracked lock, as the journal says: the live picture the
watchdog keeps while processes run (a cycle of waits is a deadlock, a lock held by a process that
ended strands its waiters), and the findings it shows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from grader.feedback import Site
from grader.harness.findings import DEADLOCK, UNRELEASED_LOCK, Finding
from grader.harness.run_records import Event, event_site
from grader.harness.witness import safe_witness, with_witness, witness_file
from grader.harness.witness_drawing import deadlock_witness, unreleased_witness


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
                self.waiting[pid] = Holding(str(event["lock"]), str(event["name"]), event_site(event))
            elif kind == "acquire":
                self.waiting.pop(pid, None)
                self.held.setdefault(pid, {})[str(event["lock"])] = Holding(
                    str(event["lock"]), str(event["name"]), event_site(event)
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
            witness=safe_witness(DEADLOCK, deadlock_witness, self.events, cycle, held, waiting, names, file),
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
                return with_witness(finding, unreleased_witness, self.events, holding.lock, holder, witness_file(finding))
        return None

def _str(site: Site | None) -> str | None:
    return None if site is None else str(site)

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

"""Journal events put into words for a witness: P1, P2 for the processes, lock names told
apart, `line N` in the student's main file, and one sentence per read or write."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from grader.harness.witness import Event, Step


def sorted_events(events: Iterable[Event]) -> list[Event]:
    return sorted(events, key=lambda e: e["t"])


def process_labels(events: Sequence[Event], names: dict[int, str] | None = None) -> dict[int, str]:
    """P1, P2, ... for the child processes (in the order they began to run); "main" for others.

    `names` ({pid: "process 3"}) are the harness's own numbers, used when given so that a
    witness and the finding's text name the same process the same way.
    """
    labels: dict[int, str] = {}
    for pid, name in (names or {}).items():
        number = name.rsplit(" ", 1)[-1]
        labels[int(pid)] = f"P{number}" if number.isdigit() else name
    taken = set(labels.values())
    n = 0
    for event in sorted_events(e for e in events if e["k"] == "run"):
        pid = int(event["pid"])
        if pid in labels:
            continue
        n += 1
        while f"P{n}" in taken:
            n += 1
        labels[pid] = f"P{n}"
        taken.add(labels[pid])
    for event in events:
        labels.setdefault(int(event["pid"]), "main")
    return labels


def lock_names(events: Sequence[Event]) -> dict[str, str]:
    """Lock uid -> its name in messages; locks sharing a name are told apart (`lock` #2)."""
    first: dict[str, str] = {}
    for event in sorted_events(events):
        if "lock" in event and "name" in event and event["lock"] not in first:
            # "`lock` (the lock made at exercises/x.py:26)" -> "`lock`": the steps say where
            first[str(event["lock"])] = str(event["name"]).split(" (", 1)[0]
    counts = Counter(first.values())
    seen: Counter[str] = Counter()
    names = {}
    for uid, name in first.items():
        if counts[name] > 1:
            seen[name] += 1
            names[uid] = f"{name} #{seen[name]}"
        else:
            names[uid] = name
    return names


def site_text(event: Event, key: str = "site") -> str | None:
    site = event.get(key)
    return f"{site[0]}:{site[1]}" if site else None


def main_file(sites: Iterable[str | None]) -> str | None:
    files = Counter(site.rsplit(":", 1)[0] for site in sites if site)
    return files.most_common(1)[0][0] if files else None


class EventWords:
    """How events are put into words: process labels, lock names, `line N` in the main file."""

    def __init__(self, events: Sequence[Event], names: dict[int, str] | None = None, file: str | None = None):
        self.labels = process_labels(events, names)
        self.locks = lock_names(events)
        self.file = file

    def who(self, event: Event) -> str:
        return self.labels.get(int(event["pid"]), "main")

    def where(self, site: str | None) -> str:
        if site is None:
            return "(line unknown)"
        file, line = site.rsplit(":", 1)
        return f"(line {line})" if file == self.file else f"({site})"

    def lock(self, uid: object, fallback: object = "a lock") -> str:
        return self.locks.get(str(uid), str(fallback))

    @staticmethod
    def loc(location: str) -> str:
        return location if " " in location else f"`{location}`"

    def value(self, event: Event) -> str:
        return f" = {event['val']}" if "val" in event else ""

    def held(self, event: Event) -> str:
        held = [self.lock(uid) for uid in event.get("held", ())]
        return f"holding {', '.join(held)}" if held else "holding no lock"

    def access(self, event: Event, role: str = "", tail: str = "", holding: bool = True) -> Step:
        verb = "reads" if event["op"] == "read" else "writes"
        text = f"{self.who(event)} {verb} {self.loc(str(event['loc']))}{self.value(event)} {self.where(site_text(event))}"
        if holding:
            text += f", {self.held(event)}"
        label = f"{verb} {event['val']}" if "val" in event else verb
        return Step(self.who(event), text + tail, int(event["t"]), str(event["op"]), site_text(event), role, label)

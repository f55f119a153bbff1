"""Small hand-made journals (lists of event dicts, as `JournalReader` yields them) for tests
of witnesses and of the HTML report: deterministic stand-ins for a run's journal files."""

from __future__ import annotations

from typing import Any

FILE = "exercises/locked_increment.py"
BANK = "exercises/bank_account.py"


class Journal:
    """A hand-made journal: events in the order they are added, 1 µs apart."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.t = 1_000_000

    def add(self, kind: str, pid: int, **fields: Any) -> dict[str, Any]:
        self.t += 1000
        event = {"k": kind, "pid": pid, "t": self.t, **fields}
        self.events.append(event)
        return event

    def run(self, *pids: int) -> None:
        for pid in pids:
            self.add("run", pid, name=f"Process-{pid}")

    def access(self, pid: int, op: str, val: Any, line: int, held: tuple[str, ...] = (), hold: int = 0,
               loc: str = "counter", file: str = FILE) -> None:
        self.add("access", pid, op=op, loc=loc, held=list(held), hold=hold, site=[file, line, "f"], val=val)

    def lock(self, kind: str, pid: int, line: int, uid: str = "L1", name: str = "`lock`", file: str = FILE,
             held: list[Any] | None = None) -> dict[str, Any]:
        fields: dict[str, Any] = {"lock": uid, "name": name, "site": [file, line, "f"]}
        if kind == "wait":
            fields["held"] = held or []
        return self.add(kind, pid, **fields)

    def exit(self, pid: int, held: list[Any] | None = None, code: int = 0) -> None:
        self.add("exit", pid, code=code, held=held or [])


def lost_update_journal() -> Journal:
    j = Journal()
    j.run(301, 302, 303)
    j.access(303, "read", 40, 28)
    j.access(303, "write", 41, 28)
    j.access(301, "read", 41, 28)
    j.access(302, "read", 41, 28)
    j.access(301, "write", 42, 28)
    j.access(302, "write", 42, 28)
    return j


def check_then_act_journal() -> Journal:
    j = Journal()
    j.run(501, 502)
    j.lock("acquire", 501, 38)
    j.access(501, "read", 30, 39, held=("L1",), hold=1, loc="balance", file=BANK)
    j.lock("release", 501, 40)
    j.lock("acquire", 502, 38)
    j.access(502, "read", 30, 39, held=("L1",), hold=1, loc="balance", file=BANK)
    j.access(502, "write", 0, 43, held=("L1",), hold=1, loc="balance", file=BANK)
    j.lock("release", 502, 44)
    j.lock("acquire", 501, 42)
    j.access(501, "read", 0, 43, held=("L1",), hold=2, loc="balance", file=BANK)
    j.access(501, "write", -30, 43, held=("L1",), hold=2, loc="balance", file=BANK)
    j.lock("release", 501, 44)
    return j


def deadlock_journal() -> Journal:
    j = Journal()
    j.run(801, 802)
    a = j.lock("acquire", 801, 40, uid="A", name="`locks[0]`")
    b = j.lock("acquire", 802, 40, uid="B", name="`locks[1]`")
    j.lock("wait", 801, 41, uid="B", name="`locks[1]`", held=[["A", "`locks[0]`", a["site"]]])
    j.lock("wait", 802, 41, uid="A", name="`locks[0]`", held=[["B", "`locks[1]`", b["site"]]])
    return j

"""What the shared data holds, by the run's record, and answers checked against it.

A `run...` function's result is only worth something if it is what the processes left in the
shared data. The referee holds the only copy of that data and journals every read and write with
the value read or written, and each shared object's initial value, so the judge knows, at any
moment, what the data held (`grader/referee/`): a call's answer must be what its parent read from
the shared data (a value, one array's elements, or their sum) or what the data held when the call
returned. A number the shared data never held is not the processes' work.

The history keeps the journal's time windows (a write takes effect between its line and the
writing process's next line), which the referee's single, ordered journal makes exact; the rule
is sound either way: only a value no ordering of the recorded operations explains fails.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from grader.feedback import Site
from grader.harness.findings import WRONG_RESULT, Finding
from grader.harness.run_records import Event, parent_pid
from grader.harness.runtime import site_from_json

Key = tuple[str, str]  # (object id, location: `counter` or `counts[2]`)
_PLAIN = (int, float, str)


@dataclass(frozen=True)
class Write:
    """A value written: journaled at `t` (None: before the record began, an initial value),
    certainly in memory by `upper` (None: no later line of that process bounds it)."""

    t: int | None
    upper: int | None
    val: object
    raw_site: object  # as journaled: read with `site` only for a message

    @property
    def site(self) -> Site | None:
        return site_from_json(self.raw_site)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Read:
    key: Key
    pid: int
    before: int
    t: int
    val: object
    raw_site: object

    @property
    def site(self) -> Site | None:
        return site_from_json(self.raw_site)  # type: ignore[arg-type]


@dataclass
class History:
    """Every recorded write and read of the run's shared objects, by location."""

    writes: dict[Key, list[Write]] = field(default_factory=dict)
    reads: list[Read] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # object id -> its name
    sizes: dict[str, int | None] = field(default_factory=dict)  # object id -> length (None: a value)
    made_by: dict[str, int] = field(default_factory=dict)  # object id -> the process that made it
    # key -> (its writes by `upper`, their uppers, the latest `t` among the first i of them)
    _index: dict[Key, tuple[list[Write], list[float], list[int]]] = field(default_factory=dict)

    def possible(self, key: Key, before: int, at: int) -> list[Write]:
        """The writes whose value the memory at `key` could hold for a read made between
        `before` and `at`: journaled by `at`, and not certainly overwritten before `before` (by
        a write journaled after it was certainly in memory, and itself in memory by `before`)."""
        writes, uppers, latest = self._indexed(key)
        latest_done = latest[bisect.bisect_left(uppers, before)]
        first = bisect.bisect_left(uppers, latest_done)
        return [w for w in writes[first:] if w.t is None or w.t <= at]

    def _indexed(self, key: Key) -> tuple[list[Write], list[float], list[int]]:
        index = self._index.get(key)
        if index is None:
            writes = sorted(self.writes.get(key, []), key=_upper)
            latest = [-1]
            for write in writes:
                latest.append(max(latest[-1], -1 if write.t is None else write.t))
            index = self._index[key] = (writes, [_upper(w) for w in writes], latest)
        return index

    def holds(self, key: Key, at: int) -> list[Write]:
        """What the memory at `key` could hold at `at`, most recently recorded first."""
        return sorted(self.possible(key, at, at), key=lambda w: -1 if w.t is None else w.t, reverse=True)


def _upper(write: Write) -> float:
    return float("inf") if write.upper is None else write.upper


def _is_plain(value: object) -> bool:
    return type(value) in _PLAIN


def history(events: list[Event]) -> History:
    """The shared data's history from the journal (untrusted data: malformed lines are skipped)."""
    result = History()
    by_pid: dict[int, list[Event]] = {}
    for event in events:
        by_pid.setdefault(int(event["pid"]), []).append(event)  # type: ignore[call-overload]
    for lines in by_pid.values():
        bound: int | None = None  # the process's next line that is not a write, seen backwards
        for event in reversed(lines):
            kind, obj = event["k"], event.get("obj")
            is_access = kind in ("access", "parent_access")
            if isinstance(obj, str) and kind == "shared":
                _initial(result, event, obj)
            elif isinstance(obj, str) and is_access and isinstance(event.get("loc"), str) and _is_plain(event.get("val")):
                key = (obj, str(event["loc"]))
                site = event.get("site")
                if event.get("op") == "write":
                    result.writes.setdefault(key, []).append(Write(int(event["t"]), bound, event["val"], site))  # type: ignore[call-overload]
                elif event.get("op") == "read" and type(event.get("t0")) is int:
                    result.reads.append(Read(key, int(event["pid"]), int(event["t0"]), int(event["t"]),  # type: ignore[call-overload]
                                             event["val"], site))
            if not (is_access and event.get("op") == "write"):
                before = event.get("t0")
                bound = before if type(before) is int else int(event["t"])  # type: ignore[call-overload, assignment]
    result.reads.sort(key=lambda read: read.t)
    return result


def _initial(result: History, event: Event, obj: str) -> None:
    name, vals = event.get("name"), event.get("vals")
    if not isinstance(name, str) or not isinstance(vals, list) or obj in result.names:
        return
    result.names[obj] = name
    result.made_by[obj] = int(event["pid"])  # type: ignore[call-overload]
    array = event.get("array") is True
    result.sizes[obj] = len(vals) if array else None
    locations = [f"{name}[{i}]" for i in range(len(vals))] if array else [name]
    for location, value in zip(locations, vals, strict=False):
        if _is_plain(value):
            result.writes.setdefault((obj, location), []).insert(0, Write(None, int(event["t"]), value, None))  # type: ignore[call-overload]


def answer_findings(events: list[Event], call: str, answer: object, start: int, end: int,
                    data: History | None = None) -> list[Finding]:
    """`answer`, returned by `call` between `start` and `end`, must be what the call's parent read
    from the shared data it made: a value, every element of one array, or their sum."""
    if not _is_number(answer) and not (isinstance(answer, list) and answer and all(map(_is_number, answer))):
        return []
    data = data if data is not None else history(events)
    parent = parent_pid(events)
    made = [obj for obj, pid in data.made_by.items() if pid == parent]
    if not made:
        return []  # no shared data of this run to hold the answer: nothing to compare
    last: dict[Key, Read] = {}
    for read in data.reads:
        if read.pid == parent and start <= read.t <= end and read.key[0] in made:
            last[read.key] = read
    if _explained(data, made, last, answer) or _held(data, made, answer, end):
        return []
    return [_not_held(data, made, last, call, answer, end)]


def _is_number(value: object) -> bool:
    return type(value) in (int, float)


def _array_reads(data: History, obj: str, last: dict[Key, Read]) -> list[Read] | None:
    size = data.sizes.get(obj)
    if size is None:
        return None
    reads = [last.get((obj, f"{data.names[obj]}[{i}]")) for i in range(size)]
    return None if any(r is None for r in reads) else reads  # type: ignore[return-value]


def _explained(data: History, made: list[str], last: dict[Key, Read], answer: object) -> bool:
    if isinstance(answer, list):
        for obj in made:
            reads = _array_reads(data, obj, last)
            if reads is not None and [r.val for r in reads] == answer:
                return True
        return False
    if any(read.val == answer for read in last.values()):
        return True
    for obj in made:
        reads = _array_reads(data, obj, last)
        if reads is not None and all(_is_number(r.val) for r in reads) and sum(r.val for r in reads) == answer:  # type: ignore[misc]
            return True
    return False


def _held(data: History, made: list[str], answer: object, end: int) -> bool:
    """The answer is what one of the shared objects holds at the end, read or not."""
    for obj in made:
        name, size = data.names[obj], data.sizes.get(obj)
        if size is None and not isinstance(answer, list):
            if any(w.val == answer for w in data.holds((obj, name), end)):
                return True
        elif size is not None and isinstance(answer, list) and len(answer) == size:
            if all(any(w.val == value for w in data.holds((obj, f"{name}[{i}]"), end))
                   for i, value in enumerate(answer)):
                return True
    return False


def _not_held(data: History, made: list[str], last: dict[Key, Read], call: str, answer: object,
              end: int) -> Finding:
    """'run(10, 10) returned 100, but the shared value `counter` holds 87 (...)'."""
    wanted_array = isinstance(answer, list)
    candidates = [obj for obj in made if (data.sizes.get(obj) is not None) == wanted_array] or made
    read_objects = [read.key[0] for read in last.values()]
    obj = next((o for o in reversed(read_objects) if o in candidates), candidates[0])
    name, size = data.names[obj], data.sizes.get(obj)
    locations = [name] if size is None else [f"{name}[{i}]" for i in range(size)]
    held = [data.holds((obj, location), end) for location in locations]
    values = [writes[0].val if writes else "?" for writes in held]
    shown = repr(values[0]) if size is None else repr(values)
    site = next((writes[0].site for writes in held if writes and writes[0].site is not None), None)
    reads = [read for read in last.values() if read.key[0] == obj]
    what = "shared value" if size is None else "shared array"
    if reads:
        read_site = reads[-1].site
        how = (f" Your code read it at {read_site}, and returned something else." if read_site is not None
               else " Your code read it, and returned something else.")
        site = read_site or site
    else:
        how = " Your code never read it before returning."
    last_write = f" (its last recorded update, at {held[0][0].site})" if held and held[0] and held[0][0].site else ""
    return Finding(
        WRONG_RESULT,
        f"{call} returned {answer!r}, but the {what} `{name}` holds {shown}{last_write}.{how} "
        "The result must be what the processes left in the shared data: after joining them, read "
        "it from the shared value and return that.",
        site,
    )

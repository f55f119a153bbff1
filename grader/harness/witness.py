"""Witnesses: the real events of a failing run that show *how* a concurrency bug happened.

A finding says where ("`counter` was read at line 28 while this process held no lock"); a
witness shows the schedule that broke the program, taken from the run's own journal:

    1. P3 reads `counter` = 41 (line 28), holding no lock
    2. P7 reads `counter` = 41 (line 28), holding no lock
    3. P3 writes `counter` = 42 (line 28)
    4. P7 writes `counter` = 42 (line 28): P3's update is lost

This module is the witness itself, plain data: numbered `Step`s (its text form, for the failure
message) and a timeline (lanes, lock holds as bars, marks, wait-for edges) for the HTML report.
`witness_drawing` draws one from journal events (put into words by `journal_words`). Nothing is
ever made up: when the journal cannot show what happened, the witness says so
(`Witness.unavailable`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

from grader.harness.findings import (
    CHECK_THEN_ACT,
    DEADLOCK,
    FOREIGN_RELEASE,
    LOCK_ORDER,
    LOST_UPDATE,
    SELF_DEADLOCK,
    UNRELEASED_LOCK,
)

if TYPE_CHECKING:
    from grader.harness.findings import Finding

Event = dict[str, Any]

# The concepts a witness is about; other failures (a wrong result, validation) have none.
CONCURRENCY_CONCEPTS = (
    LOST_UPDATE, CHECK_THEN_ACT, DEADLOCK, UNRELEASED_LOCK, SELF_DEADLOCK, FOREIGN_RELEASE, LOCK_ORDER,
)


@dataclass(frozen=True)
class Step:
    """One line of the story: who did what, where, with which value."""

    lane: str  # "P3"
    text: str  # "P3 reads `counter` = 41 (line 28), holding no lock"
    t: int = 0  # journal time (monotonic ns) of the event it reports
    kind: str = ""  # read, write, acquire, release, wait, exit, stop
    site: str | None = None  # "exercises/locked_increment.py:28"
    role: str = ""  # what it means here: race, lost, check, act, interfere, cycle, held
    label: str = ""  # a few words for the picture: "reads 41"


@dataclass(frozen=True)
class Bar:
    """A hold of a lock by one process, from acquire to release (end None: never released)."""

    lane: str
    lock: str
    start: int
    end: int | None
    site: str | None = None


@dataclass(frozen=True)
class Edge:
    """In a deadlock: `waiter` waits for `lock`, which `holder` holds."""

    waiter: str
    holder: str
    lock: str


@dataclass(frozen=True)
class Witness:
    """The events of one run that show a concurrency failure, as steps and as a timeline."""

    concept: str
    steps: tuple[Step, ...] = ()
    lanes: tuple[str, ...] = ()
    bars: tuple[Bar, ...] = ()
    edges: tuple[Edge, ...] = ()
    note: str = ""  # a closing remark: "No update was lost in this run yet."
    file: str | None = None  # the student's file that "line N" refers to
    drawn: bool = True  # False: the journal cannot show this failure (and `note` says why)

    @classmethod
    def unavailable(cls, concept: str, why: str) -> Witness:
        return cls(concept, note=why, drawn=False)

    @property
    def start(self) -> int:
        times = [s.t for s in self.steps] + [b.start for b in self.bars]
        return min(times, default=0)

    @property
    def end(self) -> int:
        times = [s.t for s in self.steps] + [b.end or b.start for b in self.bars]
        return max(times, default=0)

    def text(self) -> str:
        """The numbered timeline for the failure message (at most about 8 lines)."""
        if not self.drawn:
            return f"No timeline to show: {self.note}"
        where = f" in {self.file}" if self.file else ""
        lines = [f"What happened in this run{where}, from its journal:"]
        lines += [f"  {n}. {step.text}" for n, step in enumerate(self.steps, 1)]
        if self.note:
            lines.append(f"  {self.note}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data, for the results file and the HTML report."""
        data = asdict(self)
        data["text"] = self.text()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Witness:
        return cls(
            concept=str(data.get("concept", "")),
            steps=tuple(Step(**s) for s in data.get("steps", ())),
            lanes=tuple(data.get("lanes", ())),
            bars=tuple(Bar(**b) for b in data.get("bars", ())),
            edges=tuple(Edge(**e) for e in data.get("edges", ())),
            note=str(data.get("note", "")),
            file=data.get("file"),
            drawn=bool(data.get("drawn", True)),
        )



def safe_witness(concept: str, build: Callable[..., Witness], *args: object) -> Witness:
    """A witness, or plain words that none could be drawn: never a failure of the grading."""
    try:
        return build(*args)
    except Exception as error:  # noqa: BLE001 - a witness is an extra; the finding must stand
        return Witness.unavailable(concept, f"the journal could not be put into a timeline ({type(error).__name__}).")


def witness_file(finding: Finding) -> str | None:
    """The student's file that a witness of `finding` says `line N` of."""
    return finding.site.file if finding.site else None


def with_witness(finding: Finding, build: Callable[..., Witness], *args: object) -> Finding:
    """`finding` with the witness `build(*args)` draws (or the words that none could be)."""
    return replace(finding, witness=safe_witness(finding.concept, build, *args))

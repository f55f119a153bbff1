"""Evidence the judge demands from a run's journal before a `run...` function's result counts.

A right total proves nothing by itself: a `run` that adds the numbers up in the parent, or
starts processes that do nothing, returns it too. So the judge checks, from the journal, that
the expected number of child processes ran under supervision, that they overlapped in time,
that they did the work on the shared data, and that the parent did not change it behind
them. It also turns an observer's report of a broken invariant (money missing from the total
while a transfer was half done) into a diagnosis with the student's lines.
"""

from __future__ import annotations

from grader.feedback import Site
from grader.harness.findings import ATOMICITY, CONCURRENCY, Finding
from grader.harness.run_records import Event, children_of, parent_pid
from grader.harness.runtime import site_from_json

# How to make what the grader watches: said whenever it could not see a run's processes or data,
# so that a program it cannot judge is told how to become one it can, and never accused.
MAKE_PROCESSES = ("Make each process with `Process(target=..., args=(...))` from the multiprocessing module "
                  "(or a context's `ctx.Process`) and start it, so that the grader can watch it run.")
MAKE_SHARED = ("Make the shared data with `RawValue`, `RawArray`, `Value` or `Array` from the multiprocessing "
               "module in the parent process and pass it to the processes in args=(...), so that the grader "
               "can see the processes' work on it.")


def concurrency_findings(events: list[Event], expected: int, what: str, *, work: bool = True,
                         site: Site | None = None) -> list[Finding]:
    """Findings unless `expected` children ran, overlapped, and (if `work`) did the work.

    A message claims only what the journal shows: without a process or shared value the grader
    could see, it says so and how to make one it can see; "the parent did the work" needs the
    parent's own writes in the journal. `site` (the function's definition) is named when the
    journal has no line of its own to show."""
    children = children_of(events)
    if not children and expected:
        return [_no_process_seen(events, expected, what, site)]
    if len(children) != expected:
        return [Finding(
            CONCURRENCY,
            f"{what} started {len(children)} process(es); it should start {expected}, one per piece of "
            "work, and let them run at the same time.",
            children[0].started_at or site,
        )]
    if expected >= 2 and not _overlapped(children):
        return [Finding(
            CONCURRENCY,
            f"The {expected} processes of {what} never ran at the same time: each one finished "
            "before the next began. Start them all before joining any.",
            children[0].started_at or site,
        )]
    findings = _parent_changes(events, children, what)
    if work and not findings:
        writers = {int(e["pid"]) for e in events if e["k"] == "access" and e.get("op") == "write"}  # type: ignore[call-overload]
        if not writers & {c.pid for c in children}:
            findings.append(_no_work_seen(events, what, children[0].started_at or site))
    return findings


def _parent_writes(events: list[Event]) -> list[Event]:
    parent = parent_pid(events)
    return [e for e in events if e["k"] == "parent_access" and e.get("op") == "write" and e["pid"] == parent]


def _watched_values(events: list[Event]) -> list[str]:
    """The shared values the grader saw: made by the parent, or accessed by anyone."""
    names = [str(e.get("name") or "a shared value") for e in events if e["k"] == "made"]
    names += [str(e["loc"]).split("[")[0] for e in events if e["k"] in ("access", "parent_access")]
    return list(dict.fromkeys(names))


def _no_process_seen(events: list[Event], expected: int, what: str, site: Site | None) -> Finding:
    writes = _parent_writes(events)
    if writes:
        where = site_from_json(writes[0].get("site"))  # type: ignore[arg-type]
        return Finding(
            CONCURRENCY,
            f"{what} changed `{writes[0]['loc']}` at {where} in the parent process, and the grader saw no "
            f"process started; it should start {expected}, one per piece of work, and let them run at the "
            "same time. The exercise is about processes sharing data: computing the answer in the parent "
            f"process does not count. {MAKE_PROCESSES}",
            where or site,
        )
    return Finding(
        CONCURRENCY,
        f"The grader could not see any process started by {what}; it should start {expected}, one per "
        f"piece of work, running at the same time. {MAKE_PROCESSES}",
        site,
    )


def _no_work_seen(events: list[Event], what: str, site: Site | None) -> Finding:
    watched = _watched_values(events)
    if not watched:
        return Finding(
            CONCURRENCY,
            f"The grader could not see the shared data the processes of {what} work on. {MAKE_SHARED}",
            site,
        )
    shown = ", ".join(name if name.startswith(("`", "the ")) else f"`{name}`" for name in watched[:3])
    return Finding(
        CONCURRENCY,
        f"None of the processes of {what} changed the shared data the grader watched ({shown}). Each "
        "process should do its share of the work on the shared value it is given.",
        site,
    )


def _overlapped(children: list) -> bool:
    """Every process was alive, waiting at the start gate, before any of them ended. Without a
    gate (the warm-up) there is no such record, and nothing to require."""
    arrived = [c.arrived_t for c in children]
    if any(t is None for t in arrived):
        return True
    ended = [c.ended_t for c in children if c.ended_t is not None]
    return not ended or max(arrived) < min(ended)  # type: ignore[type-var]


def _parent_changes(events: list[Event], children: list, what: str) -> list[Finding]:
    """The parent wrote a shared value after starting the processes: it did (or undid) their work."""
    first = min(c.started_t for c in children) if children else None
    parent = parent_pid(events)
    for event in events:
        if (event["k"] == "parent_access" and event.get("op") == "write" and first is not None
                and int(event["t"]) > first and event["pid"] == parent):  # type: ignore[call-overload]
            site = site_from_json(event.get("site"))  # type: ignore[arg-type]
            return [Finding(
                CONCURRENCY,
                f"{what} changed `{event['loc']}` at {site} in the parent process after starting "
                "the processes. The processes must do the work; the parent only starts them, "
                "waits for them, and reads the result.",
                site,
            )]
    return []


def atomicity_findings(events: list[Event]) -> list[Finding]:
    """An observer saw an invariant broken; name the process whose update was split in two."""
    broken = next((e for e in events if e["k"] == "invariant"), None)
    if broken is None:
        return []
    split = _split_update(events, set(map(str, broken.get("locations") or ())))
    seen, expected = broken.get("seen"), broken.get("expected")
    total = sum(seen) if isinstance(seen, list) and all(type(v) is int for v in seen) else "?"
    if split is None:
        return [Finding(
            ATOMICITY,
            f"While the processes ran, another process saw {seen}: {broken.get('what')} was {total} "
            f"instead of {expected}. An "
            "update of several shared values was seen half done. Change them all in one hold of "
            "every lock involved.",
        )]
    first, second = split
    return [Finding(
        ATOMICITY,
        f"An update that must be all-or-nothing was split: `{first[0]}` was changed at {first[1]} in "
        f"one hold of the locks, and `{second[0]}` at {second[1]} in a separate hold. In between, "
        f"another process saw {seen}: {broken.get('what')} was {total} instead of {expected}. Hold both "
        "locks for the whole update, so no process can see it half done.",
        first[1],
    )]


def _split_update(events: list[Event], locations: set[str]) -> tuple[tuple[str, Site | None], tuple[str, Site | None]] | None:
    """A child's write to one observed location and its next write to another, in different holds."""
    last: dict[int, Event] = {}
    for event in events:
        if event["k"] != "access" or event.get("op") != "write" or str(event.get("loc")) not in locations:
            continue
        pid = int(event["pid"])  # type: ignore[call-overload]
        previous = last.get(pid)
        if previous is not None and previous["loc"] != event["loc"] and previous.get("hold") != event.get("hold"):
            return ((str(previous["loc"]), site_from_json(previous.get("site"))),  # type: ignore[arg-type]
                    (str(event["loc"]), site_from_json(event.get("site"))))  # type: ignore[arg-type]
        last[pid] = event
    return None

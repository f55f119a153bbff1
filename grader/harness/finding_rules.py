"""The rules that turn a finished run's journal into findings, each in plain words with the
student's line: the children's events (stops, unreleased locks, lock order, locksets, crashes)
and the parent's side (start and join order, reads before join, interference, silent failures)."""

from __future__ import annotations

from grader.feedback import Site
from grader.harness.findings import (
    CHILD_CRASH,
    FOREIGN_RELEASE,
    INTERFERENCE,
    LOCK_ORDER,
    LOST_UPDATE,
    MISSING_JOIN,
    SELF_DEADLOCK,
    START_JOIN_ORDER,
    Finding,
)
from grader.harness.lock_table import Holding, LockTable, unreleased_finding
from grader.harness.run_records import ChildRecord, Event, children_of, event_site
from grader.harness.runtime import site_from_json
from grader.harness.witness import with_witness, witness_file
from grader.harness.witness_drawing import (
    for_stop,
    lock_order_witness,
    lost_update_witness,
    unreleased_witness,
)


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
    finding = Finding(_STOP_CONCEPTS[str(event["k"])], str(event["message"]), event_site(event))
    return finding if events is None else with_witness(finding, for_stop, events, event)


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
                findings.append(with_witness(finding, unreleased_witness, events, uid, pid, witness_file(finding)))
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
                edges.setdefault(key, (name, str(event["name"]), site_from_json(site), event_site(event)))
    findings = []
    reported: set[frozenset[str]] = set()
    for (first, second), (name_a, name_b, site_a1, site_b1) in edges.items():
        back = edges.get((second, first))
        pair = frozenset((first, second))
        if back is None or pair in reported:
            continue
        reported.add(pair)
        _, _, site_b2, site_a2 = back
        findings.append(with_witness(
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
        return [with_witness(finding, lost_update_witness, events, location, witness_file(finding), event)]
    return []


def _lockset_finding(location: str, event: Event, first: Event, names: dict[str, str]) -> Finding:
    op, site = ("read", "written")[event["op"] == "write"], event_site(event)
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
            f"at {event_site(first)} it was accessed holding {', '.join(earlier) or 'no lock'}. No "
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
                    f"(at {event_site(event)}). Its traceback:\n{event['traceback']}".rstrip(),
                    event_site(event),
                )
            )
    return findings

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
    findings += [Finding(str(e["concept"]), str(e["message"]), event_site(e),
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
        location, site = str(event["loc"]), event_site(event)
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

"""Witnesses drawn from a run's journal: journal events + a finding -> the steps of the run that
show how it happened (`grader.harness.witness`), for each concurrency concept."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from grader.harness.findings import (
    CHECK_THEN_ACT,
    DEADLOCK,
    FOREIGN_RELEASE,
    LOCK_ORDER,
    LOST_UPDATE,
    SELF_DEADLOCK,
    UNRELEASED_LOCK,
)
from grader.harness.journal_words import EventWords, main_file, site_text, sorted_events
from grader.harness.witness import Bar, Edge, Event, Step, Witness

MAX_STEPS = 8
MAX_BARS = 60


def _bars(events: Sequence[Event], words: EventWords, lanes: Sequence[str], start: int, end: int) -> tuple[Bar, ...]:
    """The lock holds of the witness's processes that overlap the window [start, end]."""
    open_holds: dict[tuple[int, str], Event] = {}
    bars: list[Bar] = []
    for event in sorted_events(events):
        kind, pid = event["k"], int(event["pid"])
        if kind == "acquire":
            open_holds[(pid, str(event["lock"]))] = event
        elif kind == "release":
            began = open_holds.pop((pid, str(event["lock"])), None)
            if began is not None and int(event["t"]) >= start and int(began["t"]) <= end:
                bars.append(Bar(words.who(began), words.lock(began["lock"]), int(began["t"]), int(event["t"]),
                                site_text(began)))
    for began in open_holds.values():
        if int(began["t"]) <= end:
            bars.append(Bar(words.who(began), words.lock(began["lock"]), int(began["t"]), None, site_text(began)))
    bars = [b for b in bars if b.lane in lanes]
    if len(bars) > MAX_BARS:  # keep the holds nearest the story
        middle = (start + end) // 2
        bars = sorted(bars, key=lambda b: abs(b.start - middle))[:MAX_BARS]
    return tuple(sorted(bars, key=lambda b: (lanes.index(b.lane), b.start)))


def _witness(concept: str, steps: list[Step], events: Sequence[Event], words: EventWords, note: str = "",
             edges: tuple[Edge, ...] = (), extra_lanes: Sequence[str] = ()) -> Witness:
    lanes: list[str] = []
    for lane in [*(s.lane for s in steps), *extra_lanes]:
        if lane not in lanes:
            lanes.append(lane)
    lanes.sort(key=lambda lane: (lane == "main", int(lane[1:]) if lane[1:].isdigit() else 0, lane))
    timed = [s.t for s in steps if s.t]
    start, end = (min(timed), max(timed)) if timed else (0, 0)
    return Witness(concept, tuple(steps[:MAX_STEPS]), tuple(lanes), _bars(events, words, lanes, start, end),
                   edges, note, words.file)


# -- lost updates -------------------------------------------------------------------------------


def _accesses(events: Sequence[Event], location: str | None = None) -> list[Event]:
    return [e for e in sorted_events(events) if e["k"] == "access" and (location is None or e["loc"] == location)]


def _lost_update(accesses: list[Event]) -> tuple[Event, Event, Event, Event] | None:
    """The textbook schedule: A reads v, B reads the same v, A writes, B writes over A's update.

    Each write is paired with the last read of the same location by the same process before
    it; a pair (rA, wA), (rB, wB) by two processes is a lost update when rA <= rB < wA < wB in
    journal order and both reads returned the same value (when values are recorded).
    """
    last_read: dict[int, Event] = {}
    pairs: list[tuple[Event, Event]] = []
    for event in accesses:
        pid = int(event["pid"])
        if event["op"] == "read":
            last_read[pid] = event
        elif pid in last_read:
            pairs.append((last_read.pop(pid), event))
    for index, (read_b, write_b) in enumerate(pairs):
        for read_a, write_a in pairs[:index]:
            if read_a["pid"] == read_b["pid"]:
                continue
            if not read_a["t"] <= read_b["t"] < write_a["t"] < write_b["t"]:
                continue
            if read_a.get("val") != read_b.get("val"):
                continue
            return read_a, read_b, write_a, write_b
    return None


def lost_update_witness(events: Sequence[Event], location: str | None = None, file: str | None = None,
                        unprotected: Event | None = None) -> Witness:
    """The interleaving that lost an update of `location` (any location when None).

    When none happened in this run (the lockset rule found a risk that was not hit yet), a
    check made outside a hold that another process overtook is shown instead, else the
    unprotected accesses and, plainly, that no update was lost in this run yet.
    """
    locations = [location] if location else list(dict.fromkeys(str(e["loc"]) for e in _accesses(events)))
    words = EventWords(events, file=file)
    for loc in locations:
        found = _lost_update(_accesses(events, loc))
        if found is None:
            continue
        read_a, read_b, write_a, write_b = found
        words.file = words.file or main_file(site_text(e) for e in found)
        a, b = words.who(read_a), words.who(read_b)
        steps = [
            words.access(read_a, "race"),
            words.access(read_b, "race"),
            words.access(write_a, "lost"),
            words.access(write_b, "lost", f": {a}'s update is lost"),
        ]
        steps[-1] = replace(steps[-1], label=f"{steps[-1].label}: {a}'s update lost")
        note = ""
        if "val" in read_b:
            note = (f"Both read {read_b['val']}: {b}'s write was computed without {a}'s update, "
                    "so it erased it.")
        return _witness(LOST_UPDATE, steps, events, words, note)
    stale = check_then_act_witness(events, location, file=file, concept=LOST_UPDATE)
    if stale.drawn:
        return stale
    return unprotected_witness(events, location, file, unprotected)


def unprotected_witness(events: Sequence[Event], location: str | None, file: str | None = None,
                        flagged: Event | None = None) -> Witness:
    """The accesses the lockset rule objects to, when no update was actually lost in this run."""
    accesses = _accesses(events, location)
    if not accesses:
        return Witness.unavailable(LOST_UPDATE, "this run's journal recorded no reads or writes of the shared value.")
    words = EventWords(events, file=file or main_file(site_text(e) for e in accesses))
    chosen: list[Event] = []
    if flagged is not None:
        chosen = [e for e in accesses if e["t"] <= flagged["t"]][-3:]
    unlocked = [e for e in accesses if not e.get("held")]
    for event in unlocked:
        if len(chosen) >= 4:
            break
        if event not in chosen and all(int(c["pid"]) != int(event["pid"]) for c in chosen):
            chosen.append(event)
    chosen = sorted(chosen or accesses[:4], key=lambda e: e["t"])[:4]
    steps = [words.access(e, "race") for e in chosen]
    return _witness(LOST_UPDATE, steps, events, words,
                    "No update was lost in this run yet, but nothing stops two processes from "
                    "interleaving like this at the next run.")


# -- check-then-act ------------------------------------------------------------------------------


def check_then_act_witness(events: Sequence[Event], location: str | None = None, file: str | None = None,
                           concept: str = CHECK_THEN_ACT) -> Witness:
    """A process checks a value, another changes it, then the first acts on its old check.

    With values journaled: a read by A (the check), a write by B, then a write by A in a
    different hold of the lock than its check. Without them (a run that did not journal
    accesses): two holds of one lock by A with another process's hold in between.
    """
    accesses = _accesses(events, location)
    if accesses:
        words = EventWords(events, file=file or main_file(site_text(e) for e in accesses))
        history: dict[tuple[int, str], list[tuple[int, Event]]] = {}  # (pid, location) -> its accesses so far
        for index, act in enumerate(accesses):
            pid, hold = int(act["pid"]), act.get("hold", 0)
            mine = history.setdefault((pid, str(act["loc"])), [])
            mine.append((index, act))
            if act["op"] != "write":
                continue
            earlier = mine[:-1]
            in_act = [(i, e) for i, e in earlier if hold and e.get("hold", 0) == hold]  # re-reads in its hold
            before = [(i, e) for i, e in earlier if not (hold and e.get("hold", 0) == hold)]
            if not before or before[-1][1]["op"] != "read":
                continue  # no check, or this process's own write came last: nothing stale
            check_at, check = before[-1]
            act_at = in_act[0][0] if in_act else index
            interference = next((e for e in accesses[check_at + 1:act_at] if e["op"] == "write"
                                 and int(e["pid"]) != pid and e["loc"] == act["loc"]), None)
            if interference is None:
                continue
            in_act = [e for _, e in in_act]
            a, b = words.who(check), words.who(interference)
            steps = [words.access(check, "check", ": the check"), words.access(interference, "interfere")]
            steps += [words.access(e, "act") for e in in_act[-1:]]
            steps.append(words.access(act, "act", f": {a} acts on its check of step 1, which {b} made out of date"))
            steps[-1] = replace(steps[-1], label=f"{steps[-1].label} on a stale check")
            return _witness(concept, steps, events, words)
        return Witness.unavailable(concept, "this run's journal shows no check overtaken by another process.")
    return _holds_check_then_act(events, file, concept)


def _holds_check_then_act(events: Sequence[Event], file: str | None, concept: str) -> Witness:
    holds: list[tuple[Event, Event]] = []
    open_holds: dict[tuple[int, str], Event] = {}
    for event in sorted_events(events):
        key = (int(event["pid"]), str(event.get("lock")))
        if event["k"] == "acquire":
            open_holds[key] = event
        elif event["k"] == "release" and key in open_holds:
            holds.append((open_holds.pop(key), event))
    for i, (first, first_end) in enumerate(holds):
        for second, _second_end in holds[i + 1:]:
            if second["pid"] != first["pid"] or second["lock"] != first["lock"]:
                continue
            between = [h for h in holds if h[0]["pid"] != first["pid"] and h[0]["lock"] == first["lock"]
                       and first_end["t"] < h[0]["t"] < second["t"]]
            if not between:
                break
            words = EventWords(events, file=file or main_file([site_text(first), site_text(second)]))
            a, lock = words.who(first), words.lock(first["lock"])
            other = between[0][0]
            steps = [
                Step(a, f"{a} takes {lock} {words.where(site_text(first))} and releases it "
                     f"{words.where(site_text(first_end))}", int(first["t"]), "acquire", site_text(first), "check"),
                Step(words.who(other), f"{words.who(other)} takes {lock} {words.where(site_text(other))} in between",
                     int(other["t"]), "acquire", site_text(other), "interfere"),
                Step(a, f"{a} takes {lock} again {words.where(site_text(second))}: what it learnt in its "
                     "first hold may be out of date", int(second["t"]), "acquire", site_text(second), "act"),
            ]
            return _witness(concept, steps, events, words,
                            "This run did not journal the values read and written, only the holds.")
    return Witness.unavailable(concept, "this run's journal shows no check overtaken by another process.")


# -- locks ------------------------------------------------------------------------------------------


def deadlock_witness(events: Sequence[Event], cycle: Sequence[int], held: dict[int, list[tuple[str, str | None]]],
                     waiting: dict[int, tuple[str, str | None]], names: dict[int, str] | None = None,
                     file: str | None = None) -> Witness:
    """The wait-for cycle: each process, what it holds (and since which line), what it waits for.

    `held` is {pid: [(lock uid, site of its acquire)]}, `waiting` {pid: (lock uid, site of the
    wait)}, as the lock table has them at the moment the cycle was seen.
    """
    sites = [s for pid in cycle for _, s in held.get(pid, [])] + [waiting[pid][1] for pid in cycle]
    words = EventWords(events, names, file or main_file(sites))
    holder_of = {uid: pid for pid in cycle for uid, _ in held.get(pid, [])}
    steps, edges = [], []
    waits = {int(e["pid"]): e for e in sorted_events(events) if e["k"] == "wait"}
    acquires = {(int(e["pid"]), str(e["lock"])): e for e in sorted_events(events) if e["k"] == "acquire"}
    for pid in cycle:
        me = words.labels.get(pid, f"process {pid}")
        lock, site = waiting[pid]
        holder = words.labels.get(holder_of.get(lock, -1), "another process")
        holdings = [(uid, s) for uid, s in held.get(pid, []) if uid in {waiting[p][0] for p in cycle}]
        for uid, s in holdings or held.get(pid, [])[:1]:
            began = acquires.get((pid, uid), {})
            steps.append(Step(me, f"{me} takes {words.lock(uid)} {words.where(s)}", int(began.get("t", 0)),
                              "acquire", s, "held"))
        wait = waits.get(pid, {})
        steps.append(Step(me, f"{me} waits for {words.lock(lock)} {words.where(site)}, which {holder} holds",
                          int(wait.get("t", 0)), "wait", site, "cycle"))
        edges.append(Edge(me, holder, words.lock(lock)))
    ordered = sorted(steps, key=lambda s: s.t) if all(s.t for s in steps) else steps
    return _witness(DEADLOCK, ordered, events, words,
                    "Each waits for the next, all the way round: none of them can ever go on.", tuple(edges))


def unreleased_witness(events: Sequence[Event], lock: str, pid: int | None = None, file: str | None = None) -> Witness:
    """The path that left `lock` held: its last acquire, what the process did after, its end."""
    ordered = sorted_events(events)
    acquires = [e for e in ordered if e["k"] == "acquire" and e["lock"] == lock and (pid is None or e["pid"] == pid)]
    exits = {int(e["pid"]): e for e in ordered if e["k"] == "exit"}
    # the acquire that was never released: the last one of a process whose end still held it
    candidates = [e for e in acquires if any(h[0] == lock for h in exits.get(int(e["pid"]), {}).get("held", ()))]
    if not candidates:
        candidates = [e for e in acquires if not any(
            r["k"] == "release" and r["lock"] == lock and r["pid"] == e["pid"] and r["t"] > e["t"] for r in ordered)]
    if not candidates:
        return Witness.unavailable(UNRELEASED_LOCK, "this run's journal does not show the lock being taken.")
    taken = candidates[-1]
    owner = int(taken["pid"])
    words = EventWords(events, file=file or main_file([site_text(taken)]))
    me, name = words.who(taken), words.lock(lock)
    steps = [Step(me, f"{me} takes {name} {words.where(site_text(taken))}", int(taken["t"]), "acquire", site_text(taken),
                  "held")]
    after = [e for e in ordered if int(e["pid"]) == owner and e["t"] > taken["t"] and e["k"] in ("access", "acquire",
                                                                                              "release", "wait")]
    for event in after[-3:]:
        if event["k"] == "access":
            steps.append(words.access(event))
        else:
            verb = {"acquire": "takes", "release": "releases", "wait": "waits for"}[event["k"]]
            steps.append(Step(me, f"{me} {verb} {words.lock(event['lock'])} {words.where(site_text(event))}",
                              int(event["t"]), event["k"], site_text(event)))
    end = exits.get(owner)
    if end is not None:
        how = "crashes" if end.get("code") else "finishes"
        steps.append(Step(me, f"{me} {how} still holding {name}: no path after {words.where(site_text(taken))[1:-1]} "
                          "released it", int(end["t"]), "exit", None, "cycle"))
    else:
        steps.append(Step(me, f"{me} was stopped still holding {name}", int(ordered[-1]["t"]), "exit", None, "cycle"))
    waiter = next((e for e in ordered if e["k"] == "wait" and e["lock"] == lock and int(e["pid"]) != owner
                   and e["t"] > taken["t"] and not any(a["k"] == "acquire" and a["pid"] == e["pid"]
                                                       and a["lock"] == lock and a["t"] > e["t"] for a in ordered)),
                  None)
    if waiter is not None:
        other = words.who(waiter)
        steps.append(Step(other, f"{other} waits for {name} {words.where(site_text(waiter))}: it never comes",
                          int(waiter["t"]), "wait", site_text(waiter), "cycle"))
    return _witness(UNRELEASED_LOCK, steps, events, words)


def self_deadlock_witness(events: Sequence[Event], stop: Event, file: str | None = None) -> Witness:
    """The earlier acquire still held, and the second acquire of the same lock by that process."""
    ordered = sorted_events(events)
    pid, lock = stop["pid"], stop["lock"]
    words = EventWords(events, file=file or site_text(stop) and site_text(stop).rsplit(":", 1)[0])
    me, name = words.who(stop), words.lock(lock, stop.get("name"))
    first = next((e for e in reversed(ordered) if e["k"] == "acquire" and e["pid"] == pid and e["lock"] == lock
                  and e["t"] < stop["t"]), None)
    steps = []
    if first is not None:
        steps.append(Step(me, f"{me} takes {name} {words.where(site_text(first))}", int(first["t"]), "acquire",
                          site_text(first), "held"))
        between = [e for e in ordered if e["pid"] == pid and first["t"] < e["t"] < stop["t"] and e["k"] == "access"]
        steps += [words.access(e) for e in between[-2:]]
    steps.append(Step(me, f"{me} asks for {name} again {words.where(site_text(stop))} while still holding it: "
                      "it would wait for itself forever", int(stop["t"]), "stop", site_text(stop), "cycle"))
    return _witness(SELF_DEADLOCK, steps, events, words)


def foreign_release_witness(events: Sequence[Event], stop: Event, file: str | None = None) -> Witness:
    """A release by a process that does not hold the lock, and who held it then, if anyone."""
    ordered = sorted_events(events)
    words = EventWords(events, file=file or site_text(stop) and site_text(stop).rsplit(":", 1)[0])
    me, name = words.who(stop), words.lock(stop["lock"], stop.get("name"))
    steps = []
    holder = None
    for event in ordered:
        if event["t"] >= stop["t"]:
            break
        if event.get("lock") == stop["lock"] and event["k"] in ("acquire", "release"):
            holder = event if event["k"] == "acquire" else None
    if holder is not None:
        steps.append(Step(words.who(holder), f"{words.who(holder)} takes {name} {words.where(site_text(holder))}",
                          int(holder["t"]), "acquire", site_text(holder), "held"))
    steps.append(Step(me, f"{me} releases {name} {words.where(site_text(stop))} without holding it"
                      + (f": {words.who(holder)}'s critical section is opened up" if holder is not None else ""),
                      int(stop["t"]), "release", site_text(stop), "cycle"))
    return _witness(FOREIGN_RELEASE, steps, events, words)


def lock_order_witness(events: Sequence[Event], first: str, second: str, file: str | None = None) -> Witness:
    """The two waits that take `first` and `second` in opposite orders, and whether they overlapped."""
    ordered = sorted_events(events)

    def nested(outer: str, inner: str) -> Event | None:
        return next((e for e in ordered if e["k"] == "wait" and e["lock"] == inner
                     and any(h[0] == outer for h in e.get("held", ()))), None)

    one, two = nested(first, second), nested(second, first)
    if one is None or two is None:
        return Witness.unavailable(LOCK_ORDER, "this run's journal does not show both orders.")
    words = EventWords(events, file=file or main_file([site_text(one), site_text(two)]))
    steps = []
    for wait, outer in ((one, first), (two, second)):
        me = words.who(wait)
        outer_site = next((f"{h[2][0]}:{h[2][1]}" for h in wait["held"] if h[0] == outer and h[2]), None)
        steps.append(Step(me, f"{me} holds {words.lock(outer)} {words.where(outer_site)} and asks for "
                          f"{words.lock(wait['lock'])} {words.where(site_text(wait))}", int(wait["t"]), "wait",
                          site_text(wait), "cycle"))
    if one["pid"] == two["pid"]:
        note = "One process took them in both orders; two processes doing so at once would deadlock."
    else:
        note = ("Here they did not overlap, but had both held their first lock at once, each would "
                "wait forever for the other.")
    return _witness(LOCK_ORDER, sorted(steps, key=lambda s: s.t), events, words, note)


# -- from a finding -------------------------------------------------------------------------------


def for_stop(events: Sequence[Event], stop: Event) -> Witness:
    if stop["k"] == "self_deadlock":
        return self_deadlock_witness(events, stop)
    return foreign_release_witness(events, stop)



__all__ = [
    "check_then_act_witness", "deadlock_witness", "for_stop", "foreign_release_witness",
    "lock_order_witness", "lost_update_witness", "self_deadlock_witness", "unprotected_witness",
    "unreleased_witness",
]

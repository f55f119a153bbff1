"""What the shared data holds by the run's record, and answers checked against it: on hand-made
journals (each rule refuses what it is about and accepts the honest cases, lost updates
included) and on real runs under every start method, where honest code, racy or not, is never
accused, and the record is the data: there is no memory to write around the referee."""

from __future__ import annotations

import multiprocessing
import time

import pytest

from grader.harness import ConcurrencyFailure, Harness
from grader.judge.answer_evidence import WRONG_RESULT, answer_findings, history
from selfcheck.harness.conftest import EXAMPLES
from selfcheck.harness.examples import workers

PARENT = 100
SITE = ["exercises/x.py", 9, "work"]


def made(t: int, vals: list[int], *, array: bool = False, name: str = "counter") -> dict:
    return {"k": "shared", "pid": PARENT, "t": t, "obj": "C", "name": name, "array": array, "vals": vals}


def access(pid: int, t: int, op: str, val: int, *, t0: int | None = None, loc: str = "counter") -> dict:
    kind = "parent_access" if pid == PARENT else "access"
    event = {"k": kind, "pid": pid, "t": t, "op": op, "loc": loc, "obj": "C", "val": val, "site": SITE}
    if t0 is not None:
        event["t0"] = t0
    return event


def run_journal(*child_events: dict, final_read: int | None = None) -> list[dict]:
    """A parent that makes `counter` = 0, runs children whose events are given, joins them at
    t=900 and (if `final_read`) reads `counter` at t=1000."""
    events = [{"k": "harness", "pid": PARENT, "t": 0}, made(1, [0]), *child_events,
              {"k": "exit", "pid": 1, "t": 800, "code": 0}, {"k": "exit", "pid": 2, "t": 801, "code": 0},
              {"k": "join", "pid": PARENT, "t": 900, "child": 1}]
    if final_read is not None:
        events.append(access(PARENT, 1000, "read", final_read, t0=999))
    return sorted(events, key=lambda e: e["t"])


# Two children, each adding 1 once under a lock: reads and writes in turn.
LOCKED = (access(1, 10, "read", 0, t0=9), access(1, 11, "write", 1), {"k": "release", "pid": 1, "t": 12},
          access(2, 20, "read", 1, t0=19), access(2, 21, "write", 2), {"k": "release", "pid": 2, "t": 22})
# Two children, unlocked: both read 0; child 1's write is journaled first but lands last.
LOST = (access(1, 10, "read", 0, t0=9), access(2, 11, "read", 0, t0=10), access(1, 12, "write", 1),
        access(2, 13, "write", 1), {"k": "run", "pid": 2, "t": 14}, {"k": "run", "pid": 1, "t": 15})


def test_a_right_answer_that_was_read_is_accepted() -> None:
    events = run_journal(*LOCKED, final_read=2)
    assert answer_findings(events, "run(2, 1)", 2, 0, 2000) == []


def test_an_answer_the_shared_data_never_held_is_refused_with_what_it_holds() -> None:
    events = run_journal(*LOST, final_read=1)
    (finding,) = answer_findings(events, "run(2, 1)", 2, 0, 2000)
    assert finding.concept == WRONG_RESULT
    assert "run(2, 1) returned 2, but the shared value `counter` holds 1" in finding.message
    assert "read it at exercises/x.py:9" in finding.message
    (unread,) = answer_findings(run_journal(*LOST), "run(2, 1)", 2, 0, 2000)
    assert "never read it" in unread.message


def test_a_lost_update_read_in_either_order_is_honest() -> None:
    """The data may hold either unlocked write: neither answer is an accusation."""
    racing = (access(1, 10, "read", 0, t0=9), access(2, 11, "read", 0, t0=10), access(1, 12, "write", 5),
              access(2, 13, "write", 7), {"k": "run", "pid": 2, "t": 14}, {"k": "run", "pid": 1, "t": 15})
    for seen in (5, 7):
        events = run_journal(*racing, final_read=seen)
        assert answer_findings(events, "run(2, 1)", seen, 0, 2000) == []
    (finding,) = answer_findings(run_journal(*racing, final_read=7), "run(2, 1)", 12, 0, 2000)
    assert finding.concept == WRONG_RESULT


def test_an_answer_nobody_wrote_but_the_data_holds_is_accepted() -> None:
    """run(1, 0, 0) may return 0 without reading: the counter does hold 0."""
    assert answer_findings(run_journal(), "run(1, 0, 0)", 0, 0, 2000) == []
    assert answer_findings(run_journal(), "run(1, 0, 0)", True, 0, 2000) == []  # not a number: not checked


def test_arrays_are_answered_whole_or_by_their_sum() -> None:
    events = [{"k": "harness", "pid": PARENT, "t": 0}, made(1, [0, 0], array=True, name="counts"),
              access(1, 10, "write", 3, loc="counts[0]"), {"k": "exit", "pid": 1, "t": 11, "code": 0},
              access(PARENT, 20, "read", 3, t0=19, loc="counts[0]"), access(PARENT, 21, "read", 0, t0=20, loc="counts[1]")]
    assert answer_findings(events, "run_tally(2, [[0, 0, 0]])", [3, 0], 0, 100) == []
    assert answer_findings(events, "total()", 3, 0, 100) == []
    (finding,) = answer_findings(events, "run_tally(2, [[0, 0, 0]])", [3, 1], 0, 100)
    assert "the shared array `counts` holds [3, 0]" in finding.message


def test_malformed_lines_are_skipped() -> None:
    events = run_journal(*LOCKED, final_read=2) + [
        {"k": "access", "pid": 1, "t": 5, "op": "read", "obj": ["x"], "val": 1},
        {"k": "shared", "pid": PARENT, "t": 2, "obj": "D", "name": 3, "vals": "x"},
        {"k": "access", "pid": 1, "t": 6, "op": "read", "obj": "C", "loc": "counter", "val": {"a": 1}, "t0": 5},
    ]
    assert answer_findings(sorted(events, key=lambda e: e["t"]), "run(2, 1)", 2, 0, 2000) == []


# -- real runs ----------------------------------------------------------------------------------
HONEST = [workers.no_lock, workers.with_lock, workers.lock_only_write, workers.lock_only_read, workers.coarse_lock]


def checked_run(start_method: str, worker, n: int = 4, times: int = 10) -> list:
    """Run `worker` in `n` processes; the findings the record of the shared data gives."""
    with Harness(start_method, [EXAMPLES], deadline=8.0) as harness:
        counter = harness.RawValue("i", 0, name="counter")
        lock = harness.Lock("lock")
        processes = [harness.Process(target=worker, args=(counter, lock, times)) for _ in range(n)]
        for process in processes:
            process.start()
        try:
            for process in processes:
                process.join()
        except ConcurrencyFailure:
            pass
        harness.finish()
        held = counter.value  # the parent's own read, journaled
        assert held == harness.final(counter)  # what the referee holds is what the parent reads
        data = history(harness._reader.everything())
        return answer_findings(harness._reader.events, "run()", held, 0, time.monotonic_ns(), data)


@pytest.mark.parametrize("start_method", multiprocessing.get_all_start_methods())
def test_honest_runs_racy_or_not_are_never_accused(start_method: str) -> None:
    runs = 3 if start_method == "fork" else 1
    for worker in HONEST:
        for _ in range(runs):
            assert checked_run(start_method, worker) == [], worker.__name__


def test_honest_slices_are_never_accused() -> None:
    with Harness("fork", [EXAMPLES], deadline=8.0) as harness:
        counts = harness.RawArray("i", 3, name="counts")
        processes = [harness.Process(target=workers.slices_and_reads, args=(counts, None, 5)) for _ in range(3)]
        for process in processes:
            process.start()
        for process in processes:
            process.join()
        harness.finish()
        answer = list(counts)
        events = harness._reader.everything()
        assert answer_findings(events, "run()", answer, 0, time.monotonic_ns()) == []


@pytest.mark.parametrize("start_method", multiprocessing.get_all_start_methods())
def test_there_is_no_memory_around_the_referee_to_write(start_method: str) -> None:
    """The stand-in has no ctypes object behind it: a child reaching for one crashes, and the
    answer is what the referee holds."""
    with Harness(start_method, [EXAMPLES], deadline=8.0) as harness:
        counter, lock = harness.RawValue("i", 0, name="counter"), harness.Lock("lock")
        process = harness.Process(target=workers.behind_the_instrument, args=(counter, lock, 5))
        process.start()
        process.join()
        assert process.exitcode == 1 and harness.final(counter) == 0
        assert "child crash" in [f.concept for f in harness.finish()]

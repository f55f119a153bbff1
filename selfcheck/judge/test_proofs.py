"""The judge's demands on a run's journal, on small hand-made journals: each rule refuses the
run it is about and accepts a correct one."""

from __future__ import annotations

from grader.feedback import Site
from grader.judge.proofs import atomicity_findings, concurrency_findings

PARENT = 100


def journal(children: int, *, overlap: bool = True, child_writes: bool = True, parent_write_after: bool = False):
    """A parent (pid 100) that starts `children` children (pids 1..n), each arriving at the gate,
    running, writing `counter` once, and ending; `overlap=False` makes each end before the next
    arrives."""
    events, t = [{"k": "harness", "pid": PARENT, "t": 0}], 1
    for pid in range(1, children + 1):
        events.append({"k": "start", "pid": PARENT, "t": t, "child": pid, "n": pid, "site": None})
        t += 1
    for pid in range(1, children + 1):
        events.append({"k": "arrive", "pid": pid, "t": t if overlap else 100 * pid})
        t += 1
    for pid in range(1, children + 1):
        base = 1000 if overlap else 100 * pid + 1
        events.append({"k": "run", "pid": pid, "t": base + pid})
        if child_writes:
            events.append({"k": "access", "pid": pid, "t": base + pid + 1, "op": "write", "loc": "counter",
                           "held": ["L"], "hold": 1, "site": ["exercises/x.py", 9, "work"]})
        events.append({"k": "exit", "pid": pid, "t": base + pid + 2 if not overlap else 2000 + pid, "code": 0,
                       "held": []})
    if parent_write_after:
        events.append({"k": "parent_access", "pid": PARENT, "t": 5000, "op": "write", "loc": "counter",
                       "site": ["exercises/x.py", 20, "run"]})
    return sorted(events, key=lambda e: e["t"])


def concepts(findings) -> list[str]:
    return [f.concept for f in findings]


def test_a_correct_run_is_accepted() -> None:
    assert concurrency_findings(journal(3), 3, "run(3, 1)") == []


def test_too_few_processes_or_none_are_refused() -> None:
    assert concepts(concurrency_findings(journal(0), 3, "run(3, 1)")) == ["no concurrency"]
    assert "started 2 process(es)" in concurrency_findings(journal(2), 3, "run(3, 1)")[0].message


def test_processes_one_after_another_are_refused() -> None:
    (finding,) = concurrency_findings(journal(3, overlap=False), 3, "run(3, 1)")
    assert "never ran at the same time" in finding.message


def test_processes_that_do_nothing_are_refused_unless_there_is_nothing_to_do() -> None:
    assert concepts(concurrency_findings(journal(2, child_writes=False), 2, "run(2, 5)")) == ["no concurrency"]
    assert concurrency_findings(journal(2, child_writes=False), 2, "run(2, 0)", work=False) == []


def test_a_parent_that_writes_the_result_itself_is_refused() -> None:
    (finding,) = concurrency_findings(journal(2, parent_write_after=True), 2, "run(2, 5)")
    assert "exercises/x.py:20" in finding.message


def _transfer_events(split: bool) -> list[dict]:
    holds = (1, 2) if split else (1, 1)
    events = [
        {"k": "access", "pid": 7, "t": 10, "op": "write", "loc": "balances[0]", "held": ["a"], "hold": holds[0],
         "site": ["exercises/deadlock_fix.py", 51, "transfer"]},
        {"k": "access", "pid": 7, "t": 30, "op": "write", "loc": "balances[1]", "held": ["b"], "hold": holds[1],
         "site": ["exercises/deadlock_fix.py", 53, "transfer"]},
    ]
    if split:
        events.append({"k": "invariant", "pid": 9, "t": 20, "what": "the total of all balances", "seen": [45, 50],
                       "expected": 100, "locations": ["balances[0]", "balances[1]"]})
    return sorted(events, key=lambda e: e["t"])


def test_an_update_split_over_two_holds_is_named_with_both_lines() -> None:
    (finding,) = atomicity_findings(_transfer_events(split=True))
    assert finding.concept == "atomicity"
    assert "deadlock_fix.py:51" in finding.message and "deadlock_fix.py:53" in finding.message
    assert "was 95 instead of 100" in finding.message


def test_without_a_broken_invariant_there_is_no_atomicity_finding() -> None:
    assert atomicity_findings(_transfer_events(split=False)) == []


# Never accuse what the journal does not show (issue 18): without a process or shared value the
# grader could see, the message says so and how to make one it can see; "the parent did it" only
# with the parent's own writes in the journal; and every message names a line of the student's file.
RUN_SITE = Site("exercises/x.py", 17, "run")
ACCUSATIONS = ("does not count", "somewhere else", "in the parent process after")


def test_no_process_seen_is_said_so_at_the_functions_line_without_blame() -> None:
    (finding,) = concurrency_findings(journal(0), 3, "run(3, 1)", site=RUN_SITE)
    assert "could not see any process" in finding.message and "Process(target=" in finding.message
    assert not any(words in finding.message for words in ACCUSATIONS)
    assert finding.site == RUN_SITE


def test_no_process_and_the_parent_seen_writing_names_the_parents_line() -> None:
    events = journal(0, parent_write_after=True)
    (finding,) = concurrency_findings(events, 3, "run(3, 1)", site=RUN_SITE)
    assert "exercises/x.py:20" in finding.message and "does not count" in finding.message
    assert finding.site == Site("exercises/x.py", 20, "run")


def test_unseen_shared_data_is_said_so_and_watched_data_untouched_is_named() -> None:
    (unseen,) = concurrency_findings(journal(2, child_writes=False), 2, "run(2, 5)", site=RUN_SITE)
    assert "could not see the shared data" in unseen.message and "RawValue" in unseen.message
    assert not any(words in unseen.message for words in ACCUSATIONS)
    made = [*journal(2, child_writes=False), {"k": "made", "pid": PARENT, "t": 0, "what": "RawValue",
                                               "name": "counter"}]
    (untouched,) = concurrency_findings(sorted(made, key=lambda e: e["t"]), 2, "run(2, 5)", site=RUN_SITE)
    assert "changed the shared data the grader watched (`counter`)" in untouched.message
    assert untouched.site is not None


def test_no_process_is_right_when_none_is_expected() -> None:
    assert concurrency_findings(journal(0), 0, "run_deposits(0, [])", work=False, site=RUN_SITE) == []

"""A failure a suite raises itself carries what it is given; the judge gives a concurrency
failure its witness where the report is made, from the runs of that test alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.feedback import StudentFailure
from grader.harness.findings import (
    CHECK_THEN_ACT,
    DEADLOCK,
    LOST_UPDATE,
    UNRELEASED_LOCK,
    WRONG_RESULT,
)
from grader.judge import plugin, rules
from grader.judge.host_session import HostSession
from grader.judge.run_witnesses import ClosedRuns, attach_witnesses
from selfcheck.harness.journals import check_then_act_journal, lost_update_journal

MESSAGE = "6 processes each withdrew $30 from $100 at the same time: 4 succeeded."


def test_a_failure_carries_only_what_it_is_given() -> None:
    runs = ClosedRuns()
    runs.remember(check_then_act_journal().events)  # a run that shows it, kept elsewhere
    failure = StudentFailure(MESSAGE, concept=CHECK_THEN_ACT)
    assert failure.witness is None and failure.message == str(failure) == MESSAGE
    given = {"concept": CHECK_THEN_ACT, "drawn": False, "text": "given"}
    assert StudentFailure(MESSAGE, concept=CHECK_THEN_ACT, witness=given).witness is given


def test_the_judge_attaches_the_latest_run_that_shows_it() -> None:
    runs = ClosedRuns()
    runs.remember(lost_update_journal().events)
    runs.remember(check_then_act_journal().events)
    failure = StudentFailure(MESSAGE, concept=CHECK_THEN_ACT)
    attach_witnesses([failure], runs)
    witness = runs.recall(CHECK_THEN_ACT)
    assert witness is not None and witness.drawn
    assert failure.witness == witness.to_dict()
    assert failure.message == str(failure) == f"{MESSAGE}\n{witness.text()}"
    assert "acts on its check" in failure.message
    # The latest run that showed anything speaks: the check-then-act run shows no lost update.
    assert runs.recall(LOST_UPDATE) is None


def test_a_failure_no_run_shows_says_so_and_others_get_none() -> None:
    runs = ClosedRuns()
    runs.remember(check_then_act_journal().events)
    static = StudentFailure("found statically", concept=UNRELEASED_LOCK)
    wrong = StudentFailure("3 is not 4", concept=WRONG_RESULT)
    own = StudentFailure("deadlock", concept=DEADLOCK, witness={"text": "its own"})
    attach_witnesses([static, wrong, own], runs)
    assert static.witness is not None and static.witness["drawn"] is False
    assert "No timeline to show" in static.message
    assert wrong.witness is None and wrong.message == "3 is not 4"
    assert own.witness == {"text": "its own"} and own.message == "deadlock"


def test_a_test_recalls_only_its_own_runs() -> None:
    earlier, this = ClosedRuns(), ClosedRuns()
    earlier.remember(check_then_act_journal().events)
    assert this.recall(CHECK_THEN_ACT) is None
    assert this.witness_for(CHECK_THEN_ACT).drawn is False  # type: ignore[union-attr]


class _Item:
    def __init__(self, host: HostSession) -> None:
        self.funcargs = {"student_host": host}


def test_the_judge_hook_attaches_inside_a_group_and_before_the_rules(tmp_path: Path) -> None:
    host = HostSession(tmp_path)  # never started: only its record of closed runs is used
    try:
        host.closed_runs.remember(check_then_act_journal().events)
        failure = StudentFailure(MESSAGE, concept=CHECK_THEN_ACT)
        group = ExceptionGroup("Hypothesis found 2 distinct failures.", [failure, ValueError("x")])
        hook = plugin.pytest_runtest_call(_Item(host))
        next(hook)
        with pytest.raises(ExceptionGroup) as raised:
            hook.throw(group)
        assert raised.value is group and failure.witness is not None and failure.witness["drawn"]
    finally:
        host.close()
    # The judge's wrapper is the innermost (trylast), so the rules are quoted after the witness.
    assert plugin.pytest_runtest_call.pytest_impl["trylast"]  # type: ignore[attr-defined]
    assert not rules.pytest_runtest_call.pytest_impl.get("trylast")  # type: ignore[attr-defined]
    quoted = rules.with_rules(failure, "bank_account", ["B4"])
    assert quoted is not None and quoted.witness == failure.witness
    assert quoted.message.index(failure.witness["text"]) < quoted.message.index("Rule B4")

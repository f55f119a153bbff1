"""Witnesses: from hand-made journals (golden text files) and from real buggy runs.

The hand-made journals are small and deterministic, so the text form is compared exactly with
selfcheck/harness/golden/witness_<case>.txt. After an intended change of wording:

    UPDATE_GOLDEN=1 python -m pytest selfcheck/harness/test_witness.py
    git diff selfcheck/harness/golden/

The real runs check that a witness is drawn from the failing run's own journal: every value and
line it shows is one of that run's events.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from grader.harness import ConcurrencyFailure
from grader.harness.finding_rules import analyse
from grader.harness.findings import (
    DEADLOCK,
    FOREIGN_RELEASE,
    LOCK_ORDER,
    LOST_UPDATE,
    SELF_DEADLOCK,
    UNRELEASED_LOCK,
)
from grader.harness.witness import Witness
from grader.harness.witness_drawing import (
    check_then_act_witness,
    deadlock_witness,
    lost_update_witness,
)
from selfcheck.harness.conftest import line_of
from selfcheck.harness.examples import workers
from selfcheck.harness.journals import (
    BANK,
    FILE,
    Journal,
    check_then_act_journal,
    deadlock_journal,
    lost_update_journal,
)
from selfcheck.harness.scenarios import join_all, opposite_order_transfers, start_all

GOLDEN = Path(__file__).parent / "golden"


def check_golden(case: str, witness: Witness) -> None:
    text = witness.text() + "\n"
    path = GOLDEN / f"witness_{case}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"no golden file {path}: run with UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 10  # short enough for a failure message


def test_lost_update_shows_both_reads_of_one_value_and_the_write_that_erased_the_other() -> None:
    witness = lost_update_witness(lost_update_journal().events, "counter", FILE)
    check_golden("lost_update", witness)
    assert [s.role for s in witness.steps] == ["race", "race", "lost", "lost"]
    assert witness.lanes == ("P1", "P2")
    assert "P1's update is lost" in witness.steps[-1].text


def test_a_risk_that_lost_nothing_yet_says_so_plainly() -> None:
    j = Journal()
    j.run(401, 402)
    j.access(401, "read", 0, 28)
    j.access(401, "write", 1, 28)
    j.access(402, "read", 1, 28)
    j.access(402, "write", 2, 28)
    witness = lost_update_witness(j.events, "counter", FILE)
    check_golden("lost_update_not_yet", witness)
    assert "No update was lost in this run yet" in witness.text()
    assert not any(s.role == "lost" for s in witness.steps)


def test_check_then_act_shows_the_check_the_change_in_between_and_the_act() -> None:
    witness = check_then_act_witness(check_then_act_journal().events, file=BANK)
    check_golden("check_then_act", witness)
    assert [s.role for s in witness.steps] == ["check", "interfere", "act", "act"]
    assert "= -30" in witness.steps[-1].text
    assert {b.lane for b in witness.bars} == {"P1", "P2"}  # the holds, for the picture


def test_check_then_act_without_journaled_values_shows_the_holds_and_says_so() -> None:
    j = Journal()
    j.run(601, 602)
    for pid, lines in ((601, (38, 40)), (602, (38, 44)), (601, (42, 44))):
        j.lock("acquire", pid, lines[0], file=BANK)
        j.lock("release", pid, lines[1], file=BANK)
    witness = check_then_act_witness(j.events, file=BANK)
    check_golden("check_then_act_holds", witness)
    assert "did not journal the values" in witness.note


def test_a_correct_withdrawal_has_no_check_then_act() -> None:
    j = Journal()
    j.run(701, 702)
    for pid, before, after, hold in ((701, 100, 70, 1), (702, 70, 40, 1)):
        j.lock("acquire", pid, 38, file=BANK)
        j.access(pid, "read", before, 39, held=("L1",), hold=hold, loc="balance", file=BANK)
        j.access(pid, "write", after, 40, held=("L1",), hold=hold, loc="balance", file=BANK)
        j.lock("release", pid, 41, file=BANK)
    assert not check_then_act_witness(j.events).drawn
    assert not any(s.role == "lost" for s in lost_update_witness(j.events).steps)


def test_deadlock_shows_the_wait_for_cycle() -> None:
    j = deadlock_journal()
    witness = deadlock_witness(
        j.events, [801, 802],
        held={801: [("A", f"{FILE}:40")], 802: [("B", f"{FILE}:40")]},
        waiting={801: ("B", f"{FILE}:41"), 802: ("A", f"{FILE}:41")},
        names={801: "process 1", 802: "process 2"},
    )
    check_golden("deadlock", witness)
    assert {(e.waiter, e.holder) for e in witness.edges} == {("P1", "P2"), ("P2", "P1")}
    assert all(b.end is None for b in witness.bars)  # neither lock was ever released


def test_analysed_findings_carry_witnesses_drawn_from_their_journal() -> None:
    """analyse() attaches a witness to every finding it makes, built from the same events."""
    j = Journal()
    j.run(901, 902, 903, 904)
    j.lock("acquire", 901, 21)
    j.access(901, "read", 0, 22, held=("L1",), hold=1)
    j.exit(901, held=[["L1", "`lock`", [FILE, 21, "f"]]])
    j.lock("wait", 902, 21)
    j.lock("acquire", 903, 30, uid="L2", name="`other`")
    j.add("self_deadlock", 903, lock="L2", name="`other`", message="asked twice", site=[FILE, 31, "f"])
    j.add("foreign_release", 904, lock="L2", name="`other`", message="not yours", site=[FILE, 35, "f"])
    findings = {f.concept: f for f in analyse(j.events)}
    assert set(findings) >= {UNRELEASED_LOCK, SELF_DEADLOCK, FOREIGN_RELEASE}
    check_golden("unreleased", findings[UNRELEASED_LOCK].witness)
    check_golden("self_deadlock", findings[SELF_DEADLOCK].witness)
    check_golden("foreign_release", findings[FOREIGN_RELEASE].witness)
    for finding in findings.values():
        assert finding.witness is not None and finding.witness.drawn
        assert finding.witness.text() in finding.full_message()
        assert finding.failure().witness == finding.witness.to_dict()


def test_lock_order_witness_and_lockset_witness_from_analyse() -> None:
    j = Journal()
    j.run(801, 802)
    a = j.lock("acquire", 801, 40, uid="A", name="`locks[0]`")  # P1 nests A then B ...
    j.lock("wait", 801, 41, uid="B", name="`locks[1]`", held=[["A", "`locks[0]`", a["site"]]])
    j.lock("acquire", 801, 41, uid="B", name="`locks[1]`")
    j.lock("release", 801, 45, uid="B", name="`locks[1]`")
    j.lock("release", 801, 46, uid="A", name="`locks[0]`")
    b = j.lock("acquire", 802, 40, uid="B", name="`locks[1]`")  # ... later P2 nests B then A
    j.lock("wait", 802, 41, uid="A", name="`locks[0]`", held=[["B", "`locks[1]`", b["site"]]])
    for event in lost_update_journal().events[3:]:
        j.events.append({**event, "t": event["t"] + 10**9})
    findings = {f.concept: f for f in analyse(j.events)}
    check_golden("lock_order", findings[LOCK_ORDER].witness)
    assert "did not overlap" in findings[LOCK_ORDER].witness.note
    assert any("update is lost" in s.text for s in findings[LOST_UPDATE].witness.steps)


def test_witness_is_plain_data_that_round_trips() -> None:
    witness = check_then_act_witness(check_then_act_journal().events, file=BANK)
    data = json.loads(json.dumps(witness.to_dict()))
    assert Witness.from_dict(data) == witness
    assert data["text"] == witness.text()


# -- real runs: the witness comes from the failing run's own journal ------------------------------


def journal_facts(harness) -> set[tuple[str, Any]]:
    return {(str(e.get("site") and f"{e['site'][0]}:{e['site'][1]}"), e.get("val"))
            for e in harness._reader.events if e["k"] == "access"}


def test_a_real_lost_update_carries_a_witness_from_its_run(make_harness) -> None:
    harness = make_harness()
    counter, lock = harness.RawValue("i", 0, name="counter"), harness.Lock("lock")
    processes = [harness.Process(target=workers.no_lock, args=(counter, lock, 10)) for _ in range(4)]
    start_all(processes)
    join_all(processes)
    with pytest.raises(ConcurrencyFailure) as caught:
        harness.check()
    witness = caught.value.finding.witness
    assert witness is not None and witness.drawn and caught.value.witness == witness.to_dict()
    assert witness.text() in caught.value.message
    facts = journal_facts(harness)
    site = line_of("no_lock")
    for step in witness.steps:  # every value and line shown was journaled by this run
        value = int(step.text.split(" = ")[1].split()[0])
        assert (step.site, value) in facts and step.site == site
    if any(s.role == "lost" for s in witness.steps):  # race amplification: nearly always
        reads = [s for s in witness.steps if s.kind == "read"]
        assert reads[0].text.split(" = ")[1].split()[0] == reads[1].text.split(" = ")[1].split()[0]
        assert len({s.lane for s in witness.steps}) == 2
    else:
        assert "No update was lost" in witness.note


def test_a_real_deadlock_carries_its_cycle(make_harness) -> None:
    harness = make_harness()
    processes = opposite_order_transfers(harness)
    start_all(processes)
    with pytest.raises(ConcurrencyFailure) as caught:
        join_all(processes)
    witness = caught.value.finding.witness
    assert caught.value.concept == DEADLOCK and witness is not None and witness.drawn
    assert len(witness.edges) == 2 and set(witness.lanes) == {"P1", "P2"}
    waits = [s for s in witness.steps if s.kind == "wait"]
    assert {s.site for s in waits} == {line_of("second lock")}
    takes = [s for s in witness.steps if s.kind == "acquire"]
    assert {s.site for s in takes} == {line_of("first lock")}
    journaled = {e["t"] for e in harness._reader.events}
    assert all(s.t in journaled for s in witness.steps)


def test_a_real_unreleased_lock_shows_the_path_that_kept_it(make_harness) -> None:
    harness = make_harness()
    counter, lock = harness.RawValue("i", 0, name="counter"), harness.Lock("lock")
    processes = [harness.Process(target=workers.keeps_lock, args=(counter, lock, 3)) for _ in range(2)]
    start_all(processes)
    with pytest.raises(ConcurrencyFailure) as caught:
        join_all(processes)
    witness = caught.value.finding.witness
    assert caught.value.concept == UNRELEASED_LOCK and witness is not None and witness.drawn
    assert witness.steps[0].site == line_of("never released") and witness.steps[0].kind == "acquire"
    assert any(s.kind == "exit" and "still holding" in s.text for s in witness.steps)
    assert any(b.end is None for b in witness.bars)

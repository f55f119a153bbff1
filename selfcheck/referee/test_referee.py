"""The referee's rules, driven message by message (no processes), and its identity checks with
real ones: every rule proven by a case it refuses or records and a case it accepts."""

from __future__ import annotations

import json
import multiprocessing
import os
import socket
import sys
import time
from pathlib import Path

import pytest

from grader.harness import Harness
from grader.harness.finding_rules import tamper_findings
from grader.harness.run_records import JournalReader
from grader.harness.runtime import Pauses
from grader.referee.launch import RefereeProcess
from grader.referee.server import JOURNAL_FILE, Referee, RefereeSettings
from grader.referee.wire import VERIFIED

ROOT = os.getpid()
CHILD_A, CHILD_B = ROOT + 1, ROOT + 2  # pids the referee is told are kin (no /proc lookups here)


class End:
    """A connection's end as the referee sees it: what it was sent."""

    def __init__(self) -> None:
        self.sent: list[dict] = []
        self.closed = False

    def send(self, data: bytes) -> bool:
        self.sent.append(json.loads(data))
        return True

    def close(self) -> None:
        self.closed = True

    def last(self) -> dict:
        return self.sent[-1]


def fresh(tmp_path: Path, pauses: Pauses) -> Referee:
    """A referee whose run's parent is this test, with two children it takes as kin."""
    ref = Referee(RefereeSettings(ROOT, str(tmp_path), "fork", pauses=pauses))
    ref._kin.update({CHILD_A: True, CHILD_B: True})
    return ref


@pytest.fixture
def referee(tmp_path: Path) -> Referee:
    return fresh(tmp_path, Pauses.none())


def events(referee: Referee) -> list[dict]:
    path = Path(referee.settings.journal_dir) / JOURNAL_FILE
    return [json.loads(line) for line in path.read_text().splitlines()]


def ask(referee: Referee, pid: int, end: End | None = None, **message: object) -> dict | None:
    end = end or End()
    before = len(end.sent)
    referee.handle(end, pid, json.dumps(message).encode())
    return end.last() if len(end.sent) > before else None


def arrive(referee: Referee, *processes: tuple[int, End]) -> None:
    """The children's first words (as at the start gate): the referee knows who else may come."""
    for pid, end in processes:
        assert ask(referee, pid, end, op="note", kind="arrive", fields={}) == {"ok": True}


def make(referee: Referee) -> tuple[str, str]:
    lock = ask(referee, ROOT, op="lock", name="`lock`")["uid"]
    value = ask(referee, ROOT, op="shared", code="c_int", array=False, name="counter", vals=[0])["uid"]
    return lock, value


def test_values_are_stored_as_their_c_type_holds_them(referee: Referee) -> None:
    _, value = make(referee)
    ask(referee, CHILD_A, op="write", uid=value, vals=[2**31])
    assert ask(referee, CHILD_A, op="read", uid=value)["vals"] == [-(2**31)]
    assert ask(referee, CHILD_A, op="write", uid=value, vals=["ten"]) == {"error": "refused"}
    assert referee.values(value) == [-(2**31)]


def test_bytes_travel_as_their_c_char_holds_them(tmp_path: Path) -> None:
    """A `c_char` value or array crosses the wire as text and comes back as bytes, both ways."""
    with Harness("fork", [str(tmp_path)], pauses=Pauses.none()) as harness:
        letter = harness.RawValue("c", b"x", name="letter")
        word = harness.RawArray("c", b"ab")
        letter.value = b"\xe9"
        word[1] = b"z"
        assert (letter.value, word[:], word[0]) == (b"\xe9", b"az", b"a")  # as multiprocessing's own
        assert (harness.final(letter), harness.final(word)) == (b"\xe9", [b"a", b"z"])  # the judge's view


def test_only_the_referee_writes_evidence_a_process_may_only_add_its_own_records(referee: Referee) -> None:
    lock, value = make(referee)
    assert ask(referee, CHILD_A, op="note", kind="arrive", fields={}) == {"ok": True}
    forged = {"lock": lock, "obj": value, "op": "write", "loc": "counter", "held": [lock], "hold": 1}
    for kind in ("acquire", "access", "release", "shared", "harness", "start"):
        assert ask(referee, CHILD_A, op="note", kind=kind, fields=forged) == {"error": "refused"}
    kinds = [e["k"] for e in events(referee)]
    assert "access" not in kinds and "acquire" not in kinds and kinds.count("refused") == 6
    assert tamper_findings(events(referee))  # refused records are interference


def test_a_lock_is_held_by_whom_the_referee_says(referee: Referee) -> None:
    lock, _ = make(referee)
    a, b = End(), End()
    assert ask(referee, CHILD_A, a, op="acquire", uid=lock) == {"ok": True}
    assert ask(referee, CHILD_B, b, op="acquire", uid=lock) is None  # waits here
    assert ask(referee, CHILD_B, b, op="release", uid=lock)["stop"] == "foreign_release"
    assert ask(referee, CHILD_A, a, op="acquire", uid=lock)["stop"] == "self_deadlock"
    assert ask(referee, CHILD_A, a, op="release", uid=lock) == {"ok": True}
    assert b.last() == {"ok": True}  # handed on to the waiting process
    assert [e["k"] for e in events(referee) if e["k"] in ("acquire", "release")] == ["acquire", "release", "acquire"]


def test_a_timed_acquire_gives_up_and_a_reentrant_lock_counts(referee: Referee) -> None:
    lock, _ = make(referee)
    rlock = ask(referee, ROOT, op="lock", name="`r`", reentrant=True)["uid"]
    ask(referee, CHILD_A, op="acquire", uid=lock)
    b = End()
    assert ask(referee, CHILD_B, b, op="acquire", uid=lock, timeout=0.01) is None
    time.sleep(0.02)
    referee.run_timers()
    assert b.last() == {"ok": False}
    assert ask(referee, CHILD_A, op="acquire", uid=rlock) == ask(referee, CHILD_A, op="acquire", uid=rlock) == {"ok": True}
    assert ask(referee, CHILD_A, op="release", uid=rlock) == {"ok": True}
    assert ask(referee, CHILD_B, op="acquire", uid=rlock, block=False) == {"ok": False}  # still held once


def test_an_unlocked_read_waits_for_another_process_so_the_update_is_lost(tmp_path: Path) -> None:
    referee = fresh(tmp_path, Pauses())
    _, value = make(referee)
    a, b = End(), End()
    arrive(referee, (CHILD_A, a), (CHILD_B, b))
    assert ask(referee, CHILD_A, a, op="read", uid=value) is None  # held back
    assert ask(referee, CHILD_B, b, op="read", uid=value) is None
    assert a.last() == {"vals": [0]}  # B's read of the same location let A's answer go
    ask(referee, CHILD_A, a, op="write", uid=value, vals=[1])
    assert b.last() == {"vals": [0]}  # ...and A's write let B's go: both read 0
    ask(referee, CHILD_B, b, op="write", uid=value, vals=[1])
    assert referee.values(value) == [1]  # one update lost, in the first run


def test_a_locked_read_is_held_back_until_its_lock_shows_it_protects_the_data(tmp_path: Path) -> None:
    referee = fresh(tmp_path, Pauses(after_unlocked_read=0.01))
    lock, value = make(referee)
    a, b = End(), End()
    arrive(referee, (CHILD_A, a), (CHILD_B, b))
    ask(referee, CHILD_A, a, op="acquire", uid=lock)
    assert ask(referee, CHILD_A, a, op="read", uid=value) is None  # nobody came within the cap...
    time.sleep(0.02)
    referee.run_timers()
    assert a.last() == {"vals": [0]}
    for step in ({"op": "write", "uid": value, "vals": [1]}, {"op": "release", "uid": lock},
                 {"op": "acquire", "uid": lock}, {"op": "read", "uid": value}):
        assert ask(referee, CHILD_A, a, **step) is not None  # ...so the lock protects it: no more waits
    ask(referee, CHILD_A, a, op="release", uid=lock)


def test_a_read_under_a_lock_of_its_own_loses_an_update_in_the_first_run(tmp_path: Path) -> None:
    referee = fresh(tmp_path, Pauses())
    _, value = make(referee)
    own = [ask(referee, ROOT, op="lock", name=f"`lock{i}`")["uid"] for i in range(2)]
    a, b = End(), End()
    arrive(referee, (CHILD_A, a), (CHILD_B, b))
    ask(referee, CHILD_A, a, op="acquire", uid=own[0])
    ask(referee, CHILD_B, b, op="acquire", uid=own[1])
    assert ask(referee, CHILD_A, a, op="read", uid=value) is None
    assert ask(referee, CHILD_B, b, op="read", uid=value) is None
    assert a.last() == {"vals": [0]}
    ask(referee, CHILD_A, a, op="write", uid=value, vals=[1])
    assert b.last() == {"vals": [0]}


def test_a_check_split_from_its_act_is_held_back_at_its_release(tmp_path: Path) -> None:
    referee = fresh(tmp_path, Pauses(after_unlocked_read=0))
    lock, value = make(referee)
    a, b = End(), End()
    arrive(referee, (CHILD_A, a), (CHILD_B, b))
    for step in ({"op": "acquire", "uid": lock}, {"op": "read", "uid": value},
                 {"op": "write", "uid": value, "vals": [1]}, {"op": "release", "uid": lock}):
        assert ask(referee, CHILD_A, a, **step) is not None  # read and written in one hold: at once
    ask(referee, CHILD_A, a, op="acquire", uid=lock)
    ask(referee, CHILD_A, a, op="read", uid=value)  # the check, in a hold of its own...
    assert ask(referee, CHILD_A, a, op="release", uid=lock) is None  # ...is held back at its release
    ask(referee, CHILD_B, b, op="acquire", uid=lock)
    ask(referee, CHILD_B, b, op="read", uid=value)  # until another process has checked too
    assert a.last() == {"ok": True}


def test_when_every_child_waits_the_oldest_held_back_read_is_answered(tmp_path: Path) -> None:
    """No child can touch the data: waiting for the cap would only slow the run down."""
    referee = fresh(tmp_path, Pauses())
    lock, value = make(referee)
    other = ask(referee, ROOT, op="shared", code="c_int", array=False, name="other", vals=[5])["uid"]
    a, b = End(), End()
    arrive(referee, (CHILD_A, a), (CHILD_B, b))
    assert ask(referee, CHILD_A, a, op="read", uid=value) is None
    assert ask(referee, CHILD_B, b, op="read", uid=other) is None  # both wait now: A's goes
    assert a.last() == {"vals": [0]} and b.last() == {"ok": True}  # b's last is still its arrival


def test_a_broken_total_is_seen_whenever_no_lock_is_held(referee: Referee) -> None:
    locks = [ask(referee, ROOT, op="lock", name=f"`locks[{i}]`")["uid"] for i in range(2)]
    balances = ask(referee, ROOT, op="shared", code="c_int", array=True, name="balances", vals=[10, 10])["uid"]
    ask(referee, ROOT, op="observe", uid=balances, locks=locks, what="the total")
    for lock in locks:  # a correct transfer: both locks over both writes
        ask(referee, CHILD_A, op="acquire", uid=lock)
    ask(referee, CHILD_A, op="write", uid=balances, index=[0], vals=[5])
    ask(referee, CHILD_A, op="write", uid=balances, index=[1], vals=[15])
    for lock in locks:
        ask(referee, CHILD_A, op="release", uid=lock)
    assert not [e for e in events(referee) if e["k"] == "invariant"]
    ask(referee, CHILD_A, op="acquire", uid=locks[0])  # a split one: out in one hold...
    ask(referee, CHILD_A, op="write", uid=balances, index=[0], vals=[0])
    ask(referee, CHILD_A, op="release", uid=locks[0])
    assert [e["seen"] for e in events(referee) if e["k"] == "invariant"] == [[0, 15]]


def test_a_split_update_is_seen_even_while_another_update_is_in_progress(referee: Referee) -> None:
    """The schedule that let a split transfer pass once: each time it let go of the locks,
    another process was half-way through a correct one, so the total could not be checked.
    Its release is answered only once the total has been checked: the split shows every time."""
    a, b = End(), End()
    locks = [ask(referee, ROOT, op="lock", name=f"`locks[{i}]`")["uid"] for i in range(3)]
    balances = ask(referee, ROOT, op="shared", code="c_int", array=True, name="balances", vals=[10, 10, 10])["uid"]
    ask(referee, ROOT, op="observe", uid=balances, locks=locks, what="the total")
    for lock in locks[1:]:  # B: a correct transfer from account 1 to 2, half done
        ask(referee, CHILD_B, b, op="acquire", uid=lock)
    ask(referee, CHILD_B, b, op="write", uid=balances, index=[1], vals=[5])
    ask(referee, CHILD_A, a, op="acquire", uid=locks[0])  # A: out of account 0 in one hold...
    ask(referee, CHILD_A, a, op="write", uid=balances, index=[0], vals=[0])
    assert ask(referee, CHILD_A, a, op="release", uid=locks[0]) is None  # ...waits: B holds locks
    ask(referee, CHILD_B, b, op="write", uid=balances, index=[2], vals=[15])
    for lock in locks[1:]:
        ask(referee, CHILD_B, b, op="release", uid=lock)
    assert [e["seen"] for e in events(referee) if e["k"] == "invariant"] == [[0, 5, 15]]
    assert a.last() == {"ok": True}  # and A goes on to its second hold only now


def test_correct_updates_that_overlap_never_break_the_total(referee: Referee) -> None:
    a, b = End(), End()
    locks = [ask(referee, ROOT, op="lock", name=f"`locks[{i}]`")["uid"] for i in range(4)]
    balances = ask(referee, ROOT, op="shared", code="c_int", array=True, name="balances",
                   vals=[10, 10, 10, 10])["uid"]
    ask(referee, ROOT, op="observe", uid=balances, locks=locks, what="the total")
    for pid, end, (src, dst) in ((CHILD_A, a, (0, 1)), (CHILD_B, b, (2, 3))):
        for index in (src, dst):
            ask(referee, pid, end, op="acquire", uid=locks[index])
        ask(referee, pid, end, op="write", uid=balances, index=[src], vals=[4])
    ask(referee, CHILD_A, a, op="write", uid=balances, index=[1], vals=[16])
    ask(referee, CHILD_A, a, op="release", uid=locks[1])
    assert ask(referee, CHILD_A, a, op="release", uid=locks[0]) is None  # B is half-way: A waits
    ask(referee, CHILD_B, b, op="write", uid=balances, index=[3], vals=[16])
    for index in (2, 3):
        ask(referee, CHILD_B, b, op="release", uid=locks[index])
    assert not [e for e in events(referee) if e["k"] == "invariant"]
    assert a.last() == {"ok": True} and b.last() == {"ok": True}
    assert referee.values(balances) == [4, 16, 4, 16]


@pytest.mark.skipif(not VERIFIED, reason="kernel-verified identities: Linux")
def test_a_message_is_recorded_under_the_pid_the_kernel_gives(tmp_path: Path) -> None:
    """A grandchild using the connection its parent opened is recorded as itself."""
    with Harness("fork", [str(tmp_path)], pauses=Pauses.none()) as harness:
        counter = harness.RawValue("i", 0, name="counter")
        address = harness.referee.address
        ctx = multiprocessing.get_context("fork")
        done = ctx.SimpleQueue()
        child = ctx.Process(target=_write_through_inherited, args=(address, counter.uid, done))
        child.start()
        grandchild = done.get()
        child.join()
        journal = JournalReader(harness.referee.journal_dir).everything()
        writes = [e for e in journal if e["k"] == "access" and e["op"] == "write"]
        assert [e["pid"] for e in writes] == [grandchild]


@pytest.mark.skipif(not VERIFIED, reason="kernel-verified identities: Linux")
def test_a_process_outside_the_run_is_cut_off_with_no_record(tmp_path: Path) -> None:
    """The run's parent here is a child of this test's: this test's process (its parent) is
    not of the run, as another grading's processes are not."""
    import subprocess

    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    referee = RefereeProcess(lambda d: RefereeSettings(parent.pid, d, "fork"))
    try:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        connection.connect(referee.where.address)
        connection.send(json.dumps({"op": "note", "kind": "arrive", "fields": {}}).encode())
        assert connection.recv(1000) == b""  # closed, unanswered
        journal = JournalReader(referee.where.journal_dir).everything()
        assert [e["k"] for e in journal] == ["harness"]
    finally:
        referee.remove()
        parent.kill()
        parent.wait()


def _write_through_inherited(address: str, uid: str, done) -> None:  # noqa: ANN001
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    connection.connect(address)
    pid = os.fork()
    if pid == 0:
        connection.send(json.dumps({"op": "write", "uid": uid, "vals": [7]}).encode())
        connection.recv(1000)
        done.put(os.getpid())
        os._exit(0)
    os.waitpid(pid, 0)


def test_a_start_claimed_for_no_process_is_no_child(referee: Referee) -> None:
    """A parent may name a child that has already ended, but one that never spoke to the referee
    is not counted: sequential work cannot borrow a phantom's missing arrival to pass as overlap."""
    from grader.harness.run_records import children_of

    gone = 2**22 + 12345  # no such process (pid_max is 2**22)
    assert ask(referee, ROOT, op="note", kind="start", fields={"child": gone, "n": 1}) == {"ok": True}
    assert ask(referee, ROOT, op="note", kind="start", fields={"child": CHILD_A, "n": 2}) == {"ok": True}
    ask(referee, CHILD_A, op="note", kind="arrive", fields={})
    starts = {e["child"]: e["verified"] for e in events(referee) if e["k"] == "start"}
    assert starts == {gone: False, CHILD_A: True}
    assert [c.pid for c in children_of(events(referee))] == [CHILD_A]

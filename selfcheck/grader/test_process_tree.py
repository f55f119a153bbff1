"""The process-tree reading that the runner, the batch and the judge kill by, on hand-made tables."""

from __future__ import annotations

import os

from grader.process_tree import Proc, _family, adopted_orphans, descendants, host_tree

# 1 (init) -> 10 (leader, session 10) -> 11 -> 12; 11 -> 13 (setsid: session 13, group 13);
# 20 left session 10 earlier and was adopted by init, but still sits in group 10.
TABLE = [
    Proc(1, 0, 1, 1),
    Proc(10, 1, 10, 10),
    Proc(11, 10, 11, 10),
    Proc(12, 11, 11, 10),
    Proc(13, 11, 13, 13),
    Proc(14, 13, 13, 13),
    Proc(20, 1, 10, 20),
    Proc(30, 1, 30, 30),  # a stranger
]


def test_descendants_are_everything_below_the_roots_and_not_the_roots() -> None:
    assert sorted(descendants(TABLE, [10])) == [11, 12, 13, 14]
    assert sorted(descendants(TABLE, [13])) == [14]
    assert descendants(TABLE, [30]) == []


def test_a_family_takes_in_the_groups_and_sessions_it_saw_but_no_stranger() -> None:
    assert sorted(p.pid for p in _family(TABLE, 10, {10})) == [10, 11, 12, 13, 14, 20]
    gone = [p for p in TABLE if p.pid != 10]  # the leader ended: its descendants were re-parented
    orphaned = [Proc(p.pid, 1, p.pgid, p.sid) if p.ppid == 10 else p for p in gone]
    assert sorted(p.pid for p in _family(orphaned, 10, {10, 13})) == [11, 12, 13, 14, 20]
    assert sorted(p.pid for p in _family(TABLE, 10, set())) == [10, 11, 12, 13, 14]


def test_a_host_tree_adds_the_orphans_this_process_adopted_but_the_spared() -> None:
    me = os.getpid()
    table = [*TABLE, Proc(40, me, 40, 40), Proc(41, 40, 40, 40), Proc(50, me, 50, 50)]
    assert adopted_orphans(table, spare={50}) == [40]
    assert sorted(host_tree(10, table, spare={50})) == [11, 12, 13, 14, 40, 41]

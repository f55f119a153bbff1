"""Exercise 4: the program that never finishes (exercises/deadlock_fix.py).

Part 1, tally: an acquire() that some path never releases. Part 2, transfer: two locks
taken in opposite orders. Each test checks one idea; a hang is stopped in seconds and
explained. Run with `pytest tests/test_deadlock_fix.py`.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from grader.testing import (
    ATOMICITY,
    COUNTING_TIMEOUT,
    LOCK_ORDER,
    MISSING_JOIN,
    RETURNED_FALSE,
    RETURNED_TRUE,
    SLOW_CHILD,
    START_JOIN_ORDER,
    TRANSFER,
    Checks,
    Pauses,
    RunJournal,
    property_settings,
    record_returns,
    repeat_counting,
    require,
    require_lock_balance,
    require_value_error,
    site_of,
    start_method_plan,
)

MODULE = "deadlock_fix"
HYPOTHESIS = property_settings(max_examples=8)
BATCHES = [[0, 1, 2, 7, 1], [2, 2, -1, 0], [1, 0, 3]]  # 7, -1 and 3 are spoiled ballots
# A pause after each release widens the gap between two holds of the locks, where an update
# split in two is seen half done.
SPLIT_PAUSES = Pauses(after_release=0.01)


@pytest.fixture
def mod(student_module):
    return student_module(MODULE)


def valid_counts(n_candidates: int, batches: list[list[int]]) -> list[int]:
    counts = [0] * n_candidates
    for batch in batches:
        for ballot in batch:
            if 0 <= ballot < n_candidates:
                counts[ballot] += 1
    return counts


def tally_in_processes(make_harness, mod, n_candidates: int, batches: list[list[int]], checks=Checks.ALL) -> list[int]:
    harness = make_harness(checks=checks)
    counts = harness.RawArray("i", n_candidates, name="counts")
    lock = harness.Lock("lock")
    processes = [harness.Process(target=mod.tally, args=(counts, lock, batch)) for batch in batches]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    harness.check()
    return harness.final(counts)


@pytest.mark.rule("D1")
def test_tally_counts_valid_ballots(make_harness, mod) -> None:
    counts = tally_in_processes(make_harness, mod, 3, [[0, 1, 1, 2, 2, 2]], checks=Checks.DEADLOCKS)
    require(counts == [1, 2, 3], f"tally of ballots [0, 1, 1, 2, 2, 2] gave {counts}, expected [1, 2, 3].",
            site=site_of(mod.tally))


@pytest.mark.rule("D1", "D2", "D8")
def test_tally_skips_spoiled_ballots_without_keeping_the_lock(make_harness, mod) -> None:
    counts = tally_in_processes(make_harness, mod, 3, BATCHES)
    require(counts == [3, 3, 3], f"tally of {BATCHES} gave {counts}, expected [3, 3, 3] (spoiled ballots skipped).",
            site=site_of(mod.tally))


@pytest.mark.rule("D2", "D8")
def test_tally_releases_the_lock_on_every_path(mod) -> None:
    require_lock_balance(mod.tally)


@pytest.mark.rule("D2", "D3")
@pytest.mark.timeout(COUNTING_TIMEOUT)
@pytest.mark.parametrize(("start_method", "runs"), start_method_plan())
def test_run_tally_finishes_with_the_right_counts(make_harness, mod, start_method: str, runs: int) -> None:
    expected = valid_counts(3, BATCHES)
    repeat_counting(
        make_harness, mod, lambda m: sum(m.run_tally(3, BATCHES)), sum(expected),
        f"run_tally(3, {BATCHES})", start_method=start_method, runs=runs, processes=len(BATCHES), unit="votes",
        site=site_of(mod.tally), run_site=site_of(mod.run_tally),
    )


@pytest.mark.rule("D3")
def test_run_tally_starts_every_process_before_joining_any(make_harness, mod) -> None:
    harness = make_harness()
    harness.substitute(mod)
    mod.run_tally(2, [[0], [1], [0, 1]])
    harness.check(START_JOIN_ORDER, MISSING_JOIN, Checks.DEADLOCKS)
    harness.require_processes(3, "run_tally(2, [[0], [1], [0, 1]])", work=False, site=site_of(mod.run_tally))


@pytest.mark.rule("D3")
def test_run_tally_waits_for_every_process_however_long_it_takes(make_harness, mod) -> None:
    # Each child is held back before and after its batch for longer than any timeout: a read of
    # the counts before every process has ended, or a join(timeout) that gave up, is in the
    # journal in every run. (No spoiled ballot here: a lock kept at one, and wrong counts, are the
    # other tests'.)
    harness = make_harness(child_delays=SLOW_CHILD)
    harness.substitute(mod)
    mod.run_tally(2, [[0, 1], [1]])
    harness.check(MISSING_JOIN, START_JOIN_ORDER, Checks.DEADLOCKS)
    harness.require_processes(2, "run_tally(2, [[0, 1], [1]])", site=site_of(mod.run_tally))


@HYPOTHESIS
@given(
    n_candidates=st.integers(1, 4),
    batches=st.lists(st.lists(st.integers(-2, 5), max_size=6), min_size=1, max_size=4),
)
# Tried first: two processes, one vote each for the same candidate, the smallest tally in which
# an update can be lost; a missing lock fails here at once, instead of after Hypothesis's search.
@example(n_candidates=1, batches=[[0], [0]])
@pytest.mark.rule("D1", "D3")
def test_run_tally_property_counts_exactly_the_valid_ballots(make_harness, mod, n_candidates, batches) -> None:
    with make_harness() as harness:
        harness.substitute(mod)
        counts = mod.run_tally(n_candidates, batches)
        harness.check(Checks.DEADLOCKS)
        harness.require_processes(len(batches), f"run_tally({n_candidates}, {batches})",
                                  work=any(0 <= b < n_candidates for batch in batches for b in batch),
                                  site=site_of(mod.run_tally))
    expected = valid_counts(n_candidates, batches)
    require(counts == expected, f"run_tally({n_candidates}, {batches}) returned {counts}, expected {expected}.",
            site=site_of(mod.run_tally))


@pytest.mark.rule("D5")
def test_transfer_refuses_the_same_account_and_amounts_not_above_zero(make_harness, mod) -> None:
    harness = make_harness()
    balances = harness.RawArray("i", [100, 100], name="balances")
    locks = [harness.Lock("locks[0]"), harness.Lock("locks[1]")]
    # The same account twice, amounts not above 0 (-0.0 too), and accounts that do not exist
    # (-1 is the last one to Python's indexing): grader/judge/domains.py.
    for src, dst, amount in TRANSFER.refused:
        require_value_error(lambda s=src, d=dst, a=amount: mod.transfer(balances, locks, s, d, a),
                            f"transfer(balances, locks, {src}, {dst}, {amount})", site=site_of(mod.transfer))
    final = harness.final(balances)
    require(final == [100, 100], f"Refused transfers changed the balances to {final}.",
            site=site_of(mod.transfer), concept="validation")


def transfers_in_processes(make_harness, mod, start: list[int], jobs: list[list[tuple[int, int, int]]], *,
                           check_for=(), ignore=(), observe=False, journal=None, **options):
    """Each job (a list of (src, dst, amount)) runs in its own process, all at once. The run is
    judged by harness.check(*check_for, ignore=ignore) (no `check`: the run's own Checks mode, ALL
    unless `options` name another); `journal`, a list, receives the run's RunJournal."""
    with make_harness(**options) as harness:
        balances = harness.RawArray("i", start, name="balances")
        locks = [harness.Lock(f"locks[{i}]") for i in range(len(start))]
        if observe:
            harness.observe_total(balances, locks, "the total of all balances")
        total = sum(len(job) for job in jobs)
        results = harness.ResultArray(total)
        processes, offset = [], 0
        for job in jobs:
            calls = [(balances, locks, src, dst, amount) for src, dst, amount in job]
            processes.append(harness.Process(target=record_returns, args=(mod.transfer, results, offset, calls)))
            offset += len(job)
        for process in processes:
            process.start()
        for process in processes:
            process.join()
        harness.check(*check_for, ignore=ignore)
        if journal is not None:
            journal.append(RunJournal.of(harness))
        return harness.final(balances), harness.final(results)


@pytest.mark.rule("D4")
def test_transfer_moves_money_and_returns_true_or_false(make_harness, mod) -> None:
    balances, results = transfers_in_processes(
        make_harness, mod, [100, 20], [[(0, 1, 30), (1, 0, 60), (1, 0, 50)]], check_for=[Checks.DEADLOCKS]
    )
    require(
        results == [RETURNED_TRUE, RETURNED_FALSE, RETURNED_TRUE] and balances == [120, 0],
        "From balances [100, 20]: transfer 0->1 of 30 should return True, then 1->0 of 60 False "
        "(only 50 there, nothing changes), then 1->0 of 50 True (the exact balance), ending at "
        f"[120, 0]. Got returns {['True' if r == 1 else 'False' if r == 0 else 'not a bool' for r in results]} "
        f"and balances {balances}.",
        site=site_of(mod.transfer),
    )


@pytest.mark.rule("D6")
def test_transfer_holds_both_accounts_locks_while_moving_money(make_harness, mod) -> None:
    # Every transfer goes "up" (0->1, 1->2), so no lock order can deadlock here: this test
    # is only about which locks are held when the balances are read and written.
    transfers_in_processes(make_harness, mod, [50, 50, 50], [[(0, 1, 5)] * 3, [(1, 2, 5)] * 3, [(0, 2, 5)] * 3],
                           ignore=[LOCK_ORDER])


@pytest.mark.rule("D6")
def test_transfer_moves_the_money_in_one_hold_of_both_locks(make_harness, mod) -> None:
    # An observer takes every lock (in index order, as a correct program would) and checks the
    # total while the transfers run; the pauses widen any gap between two holds of the locks.
    transfers_in_processes(make_harness, mod, [60, 60, 60], [[(0, 1, 5)] * 4, [(1, 2, 5)] * 4, [(0, 2, 5)] * 4],
                           pauses=SPLIT_PAUSES, observe=True, check_for=[ATOMICITY, Checks.DEADLOCKS])


@pytest.mark.rule("D7")
def test_transfer_takes_the_two_locks_in_one_fixed_order(make_harness, mod) -> None:
    transfers_in_processes(make_harness, mod, [100, 100], [[(0, 1, 1)] * 20, [(1, 0, 1)] * 20],
                           check_for=[LOCK_ORDER, Checks.DEADLOCKS])


def account_of(lock_name: object) -> int | None:
    """The account number of a lock named `locks[i]` by transfers_in_processes."""
    text = str(lock_name)
    return int(text[6:-1]) if text.startswith("locks[") and text.endswith("]") else None


@pytest.mark.rule("D7")
def test_transfer_takes_the_lower_numbered_accounts_lock_first(make_harness, mod) -> None:
    # One process, one transfer at a time in every direction: nothing can deadlock here, so
    # this test only reads, from the journal, the order in which each transfer took its locks.
    journal: list[RunJournal] = []
    moves = [(1, 0, 1), (0, 1, 1), (2, 1, 1), (1, 2, 1), (2, 0, 1), (0, 2, 1)]
    transfers_in_processes(make_harness, mod, [10, 10, 10], [moves], check_for=[Checks.DEADLOCKS], journal=journal)
    held: dict[int, list[int]] = {}
    for step in journal[0].lock_steps():
        account = account_of(step.lock)
        if account is None:
            continue
        mine = held.setdefault(step.pid, [])
        if step.acquired:
            higher = [a for a in mine if a > account]
            if higher:
                require(
                    False,
                    f"transfer took locks[{account}] at {step.site} while already holding "
                    f"locks[{higher[0]}]. Take the lower-numbered account's lock first, whichever way "
                    "the money moves.",
                    site=step.site or site_of(mod.transfer), concept="lock order",
                )
            mine.append(account)
        elif account in mine:
            mine.remove(account)


@pytest.mark.rule("D6")
def test_transfer_holds_the_locks_of_its_own_two_accounts(make_harness, mod) -> None:
    # locks[i] belongs to account i: every read and write of balances[i] must hold locks[i].
    journal: list[RunJournal] = []
    transfers_in_processes(make_harness, mod, [50, 50, 50], [[(0, 1, 5), (1, 2, 5), (2, 0, 5), (2, 1, 60)]],
                           check_for=[Checks.DEADLOCKS], journal=journal)
    for access in journal[0].accesses():
        if not access.location.startswith("balances["):
            continue
        own = "locks[" + access.location[len("balances["):]
        require(
            own in access.held,
            f"`{access.location}` was {'written' if access.written else 'read'} at {access.site} "
            f"holding {', '.join(access.held) or 'no lock'}, but not {own}, the lock of that account. A "
            "transfer holds the locks of both its accounts while it checks and moves the money.",
            site=access.site or site_of(mod.transfer), concept="lost update",
        )


@pytest.mark.rule("D4", "D7")
@HYPOTHESIS
@given(seed=st.integers(0, 10_000), n_accounts=st.integers(2, 4), n_processes=st.integers(2, 4))
def test_transfer_property_conserves_money_and_never_deadlocks(make_harness, mod, seed, n_accounts, n_processes) -> None:
    chooser = random.Random(seed)
    start = [chooser.randint(0, 50) for _ in range(n_accounts)]
    jobs = []
    for _ in range(n_processes):
        job = []
        for _ in range(chooser.randint(1, 6)):
            src, dst = chooser.sample(range(n_accounts), 2)
            job.append((src, dst, chooser.randint(1, 30)))
        jobs.append(job)
    balances, _ = transfers_in_processes(make_harness, mod, start, jobs, checks=Checks.DEADLOCKS,
                                         check_for=[LOCK_ORDER, Checks.DEADLOCKS])
    require(
        sum(balances) == sum(start) and min(balances) >= 0,
        f"Concurrent transfers {jobs} from balances {start} ended at {balances}: the total must stay "
        f"${sum(start)} and no account may go below $0.",
        site=site_of(mod.transfer),
    )

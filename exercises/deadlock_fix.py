"""The program that never finishes.

Read exercises/deadlock_fix.md first. Then watch it get stuck (the demo stops it for you
after a few seconds):

    python exercises/deadlock_fix.py

and check your work with:

    pytest tests/test_deadlock_fix.py
"""

from multiprocessing import *
from typing import Any


def tally(counts: Any, lock: Any, ballots: list[int]) -> None:
    """Count each valid ballot into the shared `counts`; skip ballots for unknown candidates."""
    # TODO: this loop can get stuck forever. Follow every way through the loop body (rule D2).
    for ballot in ballots:
        lock.acquire()
        if ballot < 0 or ballot >= len(counts):
            continue  # a spoiled ballot: skip it
        counts[ballot] += 1
        lock.release()


def run_tally(n_candidates: int, batches: list[list[int]]) -> list[int]:
    """Count every batch of ballots in its own process and return the votes per candidate.

    This function is already correct: you do not need to change it.
    """
    counts = RawArray("i", n_candidates)
    lock = Lock()
    processes = [Process(target=tally, args=(counts, lock, batch)) for batch in batches]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    return list(counts)


def transfer(balances: Any, locks: Any, src: int, dst: int, amount: int) -> bool:
    """Move `amount` from account `src` to account `dst` if `src` has enough; say whether it did."""
    if src == dst:
        raise ValueError(f"cannot transfer from account {src} to itself")
    if amount <= 0:
        raise ValueError(f"a transfer must move more than $0, not {amount!r}")
    for account in (src, dst):
        if not 0 <= account < len(balances):
            raise ValueError(f"there is no account {account!r}")
    # TODO: what happens when one process transfers 0 -> 1 while another transfers 1 -> 0?
    # Take the lower-numbered account's lock first (rule D7).
    with locks[src]:
        with locks[dst]:
            if balances[src] < amount:
                return False
            balances[src] -= amount
            balances[dst] += amount
            return True


def _transfer_many(balances: Any, locks: Any, src: int, dst: int, times: int) -> None:
    """Demo helper: transfer $1 from `src` to `dst`, `times` times."""
    for _ in range(times):
        transfer(balances, locks, src, dst, 1)


def _opposite_transfers(times: int) -> list[int]:
    """Demo helper: two processes transfer $1 back and forth between accounts 0 and 1."""
    balances = RawArray("i", [1000, 1000])
    locks = [Lock(), Lock()]
    movers = [
        Process(target=_transfer_many, args=(balances, locks, src, dst, times))
        for src, dst in ((0, 1), (1, 0))
    ]
    for mover in movers:
        mover.start()
    for mover in movers:
        mover.join()
    return list(balances)


def _finishes(job: Any, *args: Any, patience: float = 5, grace: float = 3) -> bool:
    """Demo helper: run job(*args) and report whether it finished within `patience` seconds.

    The job runs in a thread, so that this demo can keep an eye on the clock. If the job
    is stuck, the child processes it waits for are stopped with terminate().
    """
    import threading

    done: list[Any] = []
    thread = threading.Thread(target=lambda: done.append(job(*args)), daemon=True)
    thread.start()
    try:
        thread.join(patience)
        if not thread.is_alive():
            print(f"  finished: {done[0] if done else 'crashed (see the error above)'}")
            return True
        print(f"  still running after {patience:g} s: this is the deadlock, it would wait forever.")
        print(f"  Press Ctrl-C, or wait {grace:g} s more and this demo stops the processes itself.")
        thread.join(grace)
    except KeyboardInterrupt:
        print("  Ctrl-C: stopping the processes.")
    for child in active_children():
        child.terminate()
    thread.join(5)
    print("  stopped the stuck processes.")
    return False


if __name__ == "__main__":
    import sys

    batches = [[0, 1, 2, 7, 1], [2, 2, -1, 0], [1, 0, 3]]
    print(f"run_tally(3, {batches}), where 7, -1 and 3 are spoiled ballots:")
    tally_ok = _finishes(run_tally, 3, batches)

    times = 50_000
    print(f"{times} transfers 0 -> 1 and {times} transfers 1 -> 0 at the same time:")
    transfers_ok = _finishes(_opposite_transfers, times)
    if transfers_ok:
        print("  (no deadlock this time: it depends on timing. Run the demo again.)")

    sys.exit(0 if tally_ok and transfers_ok else 1)

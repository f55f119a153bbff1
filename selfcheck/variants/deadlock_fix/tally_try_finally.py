"""tally uses acquire/try/finally/release instead of `with lock:`

expect: pass
"""

from multiprocessing import Lock, Process, RawArray
from typing import Any


def tally(counts: Any, lock: Any, ballots: list[int]) -> None:
    """Count each valid ballot into the shared `counts`; skip ballots for unknown candidates.

    The spoiled-ballot check comes before the lock is taken, and `with lock:` releases the
    lock however the block is left, so no path through the loop keeps the lock.
    """
    for ballot in ballots:
        if not 0 <= ballot < len(counts):
            continue  # a spoiled ballot: skip it, holding nothing
        lock.acquire()
        try:
            counts[ballot] += 1
        finally:
            lock.release()


def run_tally(n_candidates: int, batches: list[list[int]]) -> list[int]:
    """Count every batch of ballots in its own process and return the votes per candidate."""
    counts = RawArray("i", n_candidates)
    lock = Lock()
    processes = [Process(target=tally, args=(counts, lock, batch)) for batch in batches]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    return list(counts)


def transfer(balances: Any, locks: Any, src: int, dst: int, amount: int) -> bool:
    """Move `amount` from account `src` to account `dst` if `src` has enough; say whether it did.

    Both accounts' locks are held while the money moves. They are always taken in the same
    order, lower account number first: if one process went 0-then-1 while another went
    1-then-0, each could end up holding one lock and waiting forever for the other.
    """
    if src == dst:
        raise ValueError(f"cannot transfer from account {src} to itself")
    if amount <= 0:
        raise ValueError(f"a transfer must move more than $0, not {amount!r}")
    for account in (src, dst):
        if not 0 <= account < len(balances):
            raise ValueError(f"there is no account {account!r}")
    first, second = min(src, dst), max(src, dst)
    locks[first].acquire()
    try:
        locks[second].acquire()
        try:
            if balances[src] < amount:
                return False
            balances[src] -= amount
            balances[dst] += amount
            return True
        finally:
            locks[second].release()
    finally:
        locks[first].release()


def _transfer_many(balances: Any, locks: Any, src: int, dst: int, times: int) -> None:
    """Demo helper: transfer $1 from `src` to `dst`, `times` times."""
    for _ in range(times):
        transfer(balances, locks, src, dst, 1)


if __name__ == "__main__":
    batches = [[0, 1, 2, 7, 1], [2, 2, -1, 0], [1, 0, 3]]
    print(f"run_tally(3, {batches}) = {run_tally(3, batches)} (expected [3, 3, 3])")

    times = 50_000
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
    print(f"{times} transfers 0 -> 1 and {times} transfers 1 -> 0 at the same time: finished,")
    print(f"  balances {list(balances)}, total ${sum(balances)} (always $2000)")

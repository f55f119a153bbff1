"""reads the counter before acquiring the lock; only the write is protected

expect: fail
concept: lost update
"""

import multiprocessing
from typing import Any


def increment(counter: Any, lock: Any, times: int) -> None:
    """Add 1 to the shared counter `times` times, holding `lock` for each addition.

    `counter.value += 1` is a read, an addition and a write. Holding the lock from the
    read to the write means no other process can write in between, so no update is lost.
    try/finally makes sure the lock is released even if something goes wrong in between.
    """
    for _ in range(times):
        current = counter.value
        lock.acquire()
        try:
            counter.value = current + 1
        finally:
            lock.release()


def run(n_processes: int = 10, times: int = 10, start: int = 0) -> int:
    """Run `n_processes` processes that each increment one shared counter `times` times.

    The counter and the lock are made here, outside the worker, so every process gets the
    same ones. All processes are started before any is joined, so they really run at the
    same time. The result is always start + n_processes * times.
    """
    counter = multiprocessing.RawValue("i", start)
    lock = multiprocessing.Lock()
    processes = [
        multiprocessing.Process(target=increment, args=(counter, lock, times))
        for _ in range(n_processes)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    return counter.value


if __name__ == "__main__":
    print(f"run() = {run()} (10 processes x 10 increments, expected 100)")
    totals = [run(10, 10_000) for _ in range(5)]
    print(f"run(10, 10_000) five times: {totals} (expected 100000 every time)")

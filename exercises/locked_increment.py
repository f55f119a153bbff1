"""Lost updates: many processes add to one shared counter.

Read exercises/locked_increment.md first. Then watch the problem happen:

    python exercises/locked_increment.py

and check your work with:

    pytest tests/test_locked_increment.py

This file uses the `import multiprocessing` style: every name from the module is
written with the `multiprocessing.` prefix.
"""

import multiprocessing
from typing import Any


def increment(counter: Any, lock: Any, times: int) -> None:
    """Add 1 to the shared counter `times` times.

    Every process runs this function at the same time as the others, on the same counter.
    """
    # TODO: `counter.value += 1` reads the value, adds 1 and writes it back. Another
    # process can sneak in between the read and the write. Use the lock that was
    # passed in so that only one process at a time does that read-add-write (rule L3).
    for _ in range(times):
        counter.value += 1


def run(n_processes: int = 10, times: int = 10, start: int = 0) -> int:
    """Run `n_processes` processes that each increment one shared counter `times` times.

    This function is already correct: you do not need to change it.
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
    # With 10 x 10 the processes are often so quick that they barely overlap and the
    # loss is rare, so this demo gives each process 10 000 increments instead.
    n_processes, times, rounds = 10, 10_000, 10
    expected = n_processes * times
    print(f"{rounds} runs of {n_processes} processes x {times} increments (expected {expected}):")
    short = 0
    for _ in range(rounds):
        total = run(n_processes, times)
        if total != expected:
            short += 1
            print(f"  {total:>6}   lost {expected - total} updates")
        else:
            print(f"  {total:>6}   ok")
    print(f"{short} of {rounds} runs came out short.")
    if short:
        print("Every missing increment is a lost update: two processes read the same value,")
        print("both added 1, and the second write overwrote the first.")

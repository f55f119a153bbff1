"""uses `from multiprocessing import *` instead of naming the imports

expect: pass
"""

from multiprocessing import *
from typing import Any


def store(shared: Any, value: int) -> None:
    """Runs in a child process: write `value` into the shared number.

    `shared` is the RawValue the parent created; writing its `.value` changes the one
    copy every process sees.
    """
    shared.value = value


def run(start: int = 0, value: int = 42) -> int:
    """Start one child that stores `value`, wait for it, and return what the parent sees.

    Because the number is a RawValue, the child's write reaches the parent: the result
    is `value`, not `start`.
    """
    shared = RawValue("i", start)
    process = Process(target=store, args=(shared, value))
    process.start()
    process.join()
    return shared.value


def run_many(values: list[int]) -> int:
    """Start one child per value, all writing to the same shared number; return the last write.

    The children run asynchronously: the operating system decides who runs when, so any of
    `values` may be the one written last, and it can change from run to run.
    """
    if not values:
        raise ValueError("run_many needs at least one value to store")
    shared = RawValue("i", 0)
    processes = [Process(target=store, args=(shared, value)) for value in values]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    return shared.value


if __name__ == "__main__":
    print(f"run(start=0, value=42) returned {run(0, 42)}: the child's write reached the parent.")
    values = [1, 2, 3, 4, 5, 6, 7, 8]
    results = [run_many(values) for _ in range(5)]
    print(f"run_many({values}) five times gave {results}.")
    print("Every result is one of the values; which one was written last is up to the scheduler.")

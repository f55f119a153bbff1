"""Warm-up: a number that every process can see.

Read exercises/shared_value.md first. Then try this file:

    python exercises/shared_value.py

and check your work with:

    pytest tests/test_shared_value.py
"""

from multiprocessing import *
from typing import Any


class PlainNumber:
    """An ordinary Python object that holds a number.

    Nothing about it is shared: every process that gets a PlainNumber works on its own
    private copy.
    """

    def __init__(self, value: int) -> None:
        self.value = value


def store(shared: Any, value: int) -> None:
    """Runs in a child process: write `value` into the shared number."""
    shared.value = value


def run(start: int = 0, value: int = 42) -> int:
    """Start one child that stores `value`, wait for it, and return what the parent sees."""
    # TODO: the child changes its own copy of this PlainNumber, so the parent still
    # sees `start` afterwards. Make `shared` a number that really is shared (rules W1, W2).
    shared = PlainNumber(start)
    process = Process(target=store, args=(shared, value))
    process.start()
    process.join()
    return shared.value


def run_many(values: list[int]) -> int:
    """Start one child per value, all writing to the same number; return the last write."""
    if not values:
        raise ValueError("run_many needs at least one value to store")
    # TODO: same problem as in run(): every child gets a private copy.
    shared = PlainNumber(0)
    processes = [Process(target=store, args=(shared, value)) for value in values]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    return shared.value


if __name__ == "__main__":
    result = run(0, 42)
    print(f"run(start=0, value=42) returned {result}.")
    if result == 42:
        print("The child's write reached the parent. Well done!")
    else:
        print("The child stored 42, but only in its own copy: the parent still sees", result)
    values = [1, 2, 3, 4, 5, 6, 7, 8]
    result = run_many(values)
    print(f"run_many({values}) returned {result}.")
    if result not in values:
        print("None of the children's writes reached the parent.")

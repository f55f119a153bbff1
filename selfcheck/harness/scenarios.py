"""Runs the harness's tests and the benchmarks share, so each is set up in one place."""

from __future__ import annotations

from typing import Any

from grader.harness import Harness
from selfcheck.harness.examples import workers


def opposite_order_transfers(harness: Harness, names: tuple[str, str] = ("locks[0]", "locks[1]")) -> list[Any]:
    """Two processes (not yet started) that take the same two locks in opposite orders."""
    balances = harness.RawArray("i", [10, 10], name="balances")
    locks = [harness.Lock(names[0]), harness.Lock(names[1])]
    return [
        harness.Process(target=workers.take_in_order, args=(balances, locks, 0, 1)),
        harness.Process(target=workers.take_in_order, args=(balances, locks, 1, 0)),
    ]


def start_all(processes: list[Any]) -> None:
    for process in processes:
        process.start()


def join_all(processes: list[Any]) -> None:
    for process in processes:
        process.join()

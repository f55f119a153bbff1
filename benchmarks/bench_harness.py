"""Overhead of the harness's instruments, to plan the suites' time budget.

Prints microseconds per tracked acquire/release pair and per guarded read and write, next to
the plain multiprocessing objects, measured in a child process (where the checks happen)
with race amplification off; then the time to draw the witnesses (grader/harness/witness.py)
from the journal of a real lost-update run. Asserts nothing.

    python benchmarks/bench_harness.py [--iterations N]
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grader.harness import Harness, Pauses  # noqa: E402


def _timed_loop(counter, lock, iterations: int, results, slot: int) -> None:
    started = time.perf_counter()
    for _ in range(iterations):
        lock.acquire()
        lock.release()
    results[slot] = (time.perf_counter() - started) / iterations * 1e6
    started = time.perf_counter()
    for _ in range(iterations):
        counter.value = counter.value + 1
    results[slot + 1] = (time.perf_counter() - started) / iterations * 1e6


def measure(iterations: int, method: str) -> tuple[list[float], list[float]]:
    ctx = multiprocessing.get_context(method)
    results = multiprocessing.RawArray("d", 4)
    plain = ctx.Process(target=_timed_loop, args=(multiprocessing.RawValue("i", 0), ctx.Lock(), iterations, results, 0))
    plain.start()
    plain.join()
    with Harness(method, [str(Path(__file__).parent)], pauses=Pauses.none(), use_gate=False) as harness:
        child = harness.Process(
            target=_timed_loop, args=(harness.RawValue("i", 0), harness.Lock(), iterations, results, 2)
        )
        child.start()
        child.join()
    return list(results[0:2]), list(results[2:4])


def _unlocked_increments(counter, lock, times: int) -> None:
    for _ in range(times):
        counter.value += 1


def witness_cost(method: str, processes: int = 10, times: int = 10, repeats: int = 20) -> tuple[int, float, float]:
    """(events, ms to analyse with witnesses, ms for what a closing harness keeps) of one
    lost-update run's journal: the work witnesses add to a checked run."""
    from grader.harness.finding_rules import analyse
    from grader.harness.witness_drawing import check_then_act_witness, lost_update_witness

    with Harness(method, [str(Path(__file__).parent)]) as harness:
        counter, lock = harness.RawValue("i", 0), harness.Lock()
        children = [harness.Process(target=_unlocked_increments, args=(counter, lock, times)) for _ in range(processes)]
        for child in children:
            child.start()
        for child in children:
            child.join()
        events = list(harness._reader.everything())
    started = time.perf_counter()
    for _ in range(repeats):
        analyse(events)
    analysed = (time.perf_counter() - started) / repeats * 1e3
    started = time.perf_counter()
    for _ in range(repeats):
        lost_update_witness(events)
        check_then_act_witness(events)
    kept = (time.perf_counter() - started) / repeats * 1e3
    return len(events), analysed, kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=20_000)
    parser.add_argument("--start-method", default=multiprocessing.get_start_method())
    options = parser.parse_args()
    plain, tracked = measure(options.iterations, options.start_method)
    print(f"{options.iterations} iterations in a child process ({options.start_method}), microseconds per operation:")
    print(f"  {'':34}{'plain':>10}{'harness':>10}{'overhead':>10}")
    print(f"  {'acquire + release':34}{plain[0]:>10.2f}{tracked[0]:>10.2f}{tracked[0] - plain[0]:>10.2f}")
    print(f"  {'read + write of .value (unlocked)':34}{plain[1]:>10.2f}{tracked[1]:>10.2f}{tracked[1] - plain[1]:>10.2f}")
    events, analysed, kept = witness_cost(options.start_method)
    print(f"Witnesses from a 10 x 10 lost-update run's journal ({events} events): analyse() with witnesses "
          f"{analysed:.1f} ms; kept at close (lost update, check-then-act) {kept:.1f} ms")


if __name__ == "__main__":
    main()

"""Benchmark of the suites as judges: speed, deadlock reporting, detection and false failures.

Prints (asserts nothing about time):
  1. wall time of each suite on solutions/ and on the stubs in exercises/;
  2. time from a deadlock forming to its report, for opposite lock orders and for a lock
     left held by a finished process;
  3. the buggy-variant detection rate over N repeats of the corpus in selfcheck/variants;
  4. the failure rate of the solutions over N repeats, idle and with a CPU-bound process
     running on the side.

Targets on a 2-core machine: all suites on solutions <= 20 s in total, on stubs <= 40 s, a
deadlock reported within 3 s, 100% of variants caught in every repeat, 0 solution failures.

    python benchmarks/bench_suites.py [--repeats N] [--variant-repeats N] [--skip ...]
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from grader.harness import ConcurrencyFailure, Harness  # noqa: E402
from grader.metadata import load_exercises  # noqa: E402
from selfcheck.harness.examples import workers  # noqa: E402
from selfcheck.harness.scenarios import join_all, opposite_order_transfers, start_all  # noqa: E402
from selfcheck.suite_runs import load_variants, run_suite, run_variant  # noqa: E402

SECTIONS = ("suites", "deadlock", "variants", "solutions")


def suite_times(repeats: int) -> None:
    print(f"1. Wall time of each suite (one pytest process per suite; median of {repeats})")
    totals = {"solutions": 0.0, "exercises": 0.0}
    print(f"   {'suite':34}{'solutions':>12}{'stubs':>12}")
    for exercise in load_exercises():
        row = []
        for target in ("solutions", "exercises"):
            samples = []
            for _ in range(repeats):
                started = time.perf_counter()
                run_suite([exercise.test_file], REPO / target)
                samples.append(time.perf_counter() - started)
            elapsed = statistics.median(samples)
            totals[target] += elapsed
            row.append(elapsed)
        print(f"   {exercise.test_file:34}{row[0]:>11.1f}s{row[1]:>11.1f}s")
    print(f"   {'total':34}{totals['solutions']:>11.1f}s{totals['exercises']:>11.1f}s"
          "   (targets: 20 s and 40 s)")
    suites = [exercise.test_file for exercise in load_exercises()]
    together = {}
    for target in ("solutions", "exercises"):
        samples = []
        for _ in range(repeats):
            started = time.perf_counter()
            run_suite(suites, REPO / target)
            samples.append(time.perf_counter() - started)
        together[target] = statistics.median(samples)
    print(f"   all five suites in one pytest process: solutions {together['solutions']:.1f} s, "
          f"stubs {together['exercises']:.1f} s   (targets: 10 s and 20 s)")


def _report_delay(method: str, make_processes, formed) -> float:
    """Seconds from the moment `formed(events)` says the hang began to the parent's report."""
    with Harness(method, [Path(workers.__file__).parent]) as harness:
        processes = make_processes(harness)
        start_all(processes)
        try:
            join_all(processes)
        except ConcurrencyFailure:
            reported = time.monotonic_ns()
        return (reported - formed(harness._reader.events)) / 1e9


def _deadlock_report_delay(method: str) -> float:
    """Opposite lock orders: from the cycle closing (the last wait holding a lock) to the report."""
    return _report_delay(
        method,
        opposite_order_transfers,
        lambda events: max(int(e["t"]) for e in events if e["k"] == "wait" and e["held"]),
    )


def _stranded_report_delay(method: str) -> float:
    """A lock kept by a process that ended: from its exit to the report."""
    def keepers(harness: Harness) -> list:
        counter, lock = harness.RawValue("i", 0), harness.Lock()
        return [harness.Process(target=workers.keeps_lock, args=(counter, lock, 1)) for _ in range(3)]

    return _report_delay(method, keepers, lambda events: min(int(e["t"]) for e in events if e["k"] == "exit"))


def deadlock_delays(repeats: int) -> None:
    print(f"2. Time from a deadlock forming to its report ({repeats} runs per start method)")
    for method in multiprocessing.get_all_start_methods():
        cycle = [_deadlock_report_delay(method) for _ in range(repeats)]
        stranded = [_stranded_report_delay(method) for _ in range(repeats)]
        print(f"   {method:11} opposite lock orders: median {statistics.median(cycle):.3f} s, max {max(cycle):.3f} s;"
              f" lock held by an ended process: median {statistics.median(stranded):.3f} s, max {max(stranded):.3f} s")
    print("   (target: within 3 s)")


def variant_detection(repeats: int) -> None:
    variants = load_variants()
    print(f"3. Variant corpus: {len(variants)} variants, {repeats} repeat(s), two at a time")
    wrong: dict[str, int] = {}
    started = time.perf_counter()
    for _ in range(repeats):
        with ThreadPoolExecutor(max_workers=2) as pool:
            for variant, run in zip(variants, pool.map(run_variant, variants), strict=True):
                if variant.expect == "pass":
                    ok = run.returncode == 0 and bool(run.results) and not run.failed
                else:
                    ok = bool(run.failed) and run.diagnoses(str(variant.concept))
                if not ok:
                    wrong[variant.id] = wrong.get(variant.id, 0) + 1
    buggy = [v for v in variants if v.expect == "fail"]
    caught = sum(repeats - wrong.get(v.id, 0) for v in buggy)
    correct = [v for v in variants if v.expect == "pass"]
    accepted = sum(repeats - wrong.get(v.id, 0) for v in correct)
    print(f"   buggy variants caught with the declared diagnosis: {caught}/{len(buggy) * repeats}"
          f" ({100 * caught / (len(buggy) * repeats):.1f}%)")
    print(f"   correct variants accepted: {accepted}/{len(correct) * repeats}")
    for name, count in sorted(wrong.items()):
        print(f"   wrong verdict: {name} in {count} of {repeats}")
    print(f"   ({time.perf_counter() - started:.0f} s)")


def _burn(stop_at: float) -> None:
    while time.time() < stop_at:
        pass


def solution_failures(repeats: int) -> None:
    suites = [e.test_file for e in load_exercises()]
    print(f"4. Solutions judged {repeats} times, idle and under load (all suites, one pytest process per run)")
    for loaded in (False, True):
        burner = None
        if loaded:
            burner = multiprocessing.Process(target=_burn, args=(time.time() + 3600,), daemon=True)
            burner.start()
        failures, times = 0, []
        try:
            for _ in range(repeats):
                started = time.perf_counter()
                run = run_suite(suites, REPO / "solutions")
                times.append(time.perf_counter() - started)
                failures += bool(run.returncode or run.failed)
        finally:
            if burner is not None:
                burner.terminate()
                burner.join()
        label = "with a CPU-bound process" if loaded else "idle"
        print(f"   {label:25} failed runs: {failures}/{repeats}; median wall time {statistics.median(times):.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20, help="solution runs, and deadlock timings")
    parser.add_argument("--variant-repeats", type=int, default=3)
    parser.add_argument("--suite-repeats", type=int, default=3, help="runs of each suite (the median is shown)")
    parser.add_argument("--skip", nargs="*", default=[], choices=SECTIONS)
    options = parser.parse_args()
    print(f"Python {sys.version.split()[0]}, {multiprocessing.cpu_count()} CPUs, "
          f"default start method {multiprocessing.get_start_method()}")
    if "suites" not in options.skip:
        suite_times(options.suite_repeats)
    if "deadlock" not in options.skip:
        deadlock_delays(min(options.repeats, 10))
    if "variants" not in options.skip:
        variant_detection(options.variant_repeats)
    if "solutions" not in options.skip:
        solution_failures(options.repeats)


if __name__ == "__main__":
    main()

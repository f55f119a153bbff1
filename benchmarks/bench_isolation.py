"""What keeping student code out of the judge costs: starting a student host, one proxied
call, and one checked run through the host versus in-process. Prints numbers; asserts nothing.

    python benchmarks/bench_isolation.py [--repeats 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.judge.host_session import HostSession  # noqa: E402
from grader.judge.remote_harness import RemoteHarness  # noqa: E402


def _median_ms(samples: list[float]) -> str:
    return f"median {statistics.median(samples) * 1000:.2f} ms, max {max(samples) * 1000:.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    solutions = ROOT / "solutions"

    starts, calls, runs = [], [], []
    for _ in range(args.repeats):
        began = time.perf_counter()
        host = HostSession(solutions)
        module = host.module("locked_increment")
        starts.append(time.perf_counter() - began)
        for _ in range(50):
            began = time.perf_counter()
            module.run  # noqa: B018 - one round trip: an attribute read in the host
            calls.append(time.perf_counter() - began)
        began = time.perf_counter()
        with RemoteHarness(host, "fork", {}) as harness:
            harness.substitute(module)
            module.run(4, 10)
            harness.check()
        runs.append(time.perf_counter() - began)
        host.close()
    confinement = HostSession(solutions)
    confinement.module("locked_increment")
    print(f"host start + import of a student module: {_median_ms(starts)}")
    print(f"one proxied round trip (attribute read):  {_median_ms(calls)}")
    print(f"checked run(4, 10) through the host (fork), incl. verdict: {_median_ms(runs)}")
    print(f"host confinement here: {confinement.client.confinement}")
    confinement.close()


if __name__ == "__main__":
    main()

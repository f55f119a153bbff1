"""What `python -m grader watch` adds to a grading: from a save to the grading starting, from a
save to its result on screen, and how long a stopped grading takes to tear down. Runs in a
fresh student template (`grader release`); prints numbers, asserts nothing.

    python benchmarks/bench_watch.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.formats.colour import Painter  # noqa: E402
from grader.grading.grade import make_setup, select_exercises  # noqa: E402
from grader.instructor.release import build_release  # noqa: E402
from grader.watch.command import make_watcher  # noqa: E402
from grader.watch.jobs import GradingJob  # noqa: E402
from grader.watch.keys import NoKeys  # noqa: E402
from grader.watch.screen import TerminalScreen  # noqa: E402


class TimedScreen(TerminalScreen):
    def __init__(self) -> None:
        super().__init__(io.StringIO(), Painter(False), live=False)
        self.started: list[float] = []
        self.shown: list[float] = []

    def grading(self, exercise, why) -> None:  # type: ignore[no-untyped-def]
        self.started.append(time.monotonic())

    def result(self, exercise, result, position, total, interactive) -> None:  # type: ignore[no-untyped-def]
        self.shown.append(time.monotonic())


def _summary(samples: list[float]) -> str:
    return f"median {statistics.median(samples):.2f} s, max {max(samples):.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = build_release(ROOT, Path(scratch) / "release").root
        setup = make_setup(root, "exercises")
        exercises = select_exercises(setup, None)
        lesson = next(e for e in exercises if e.name == "lesson_questions")
        screen = TimedScreen()
        watcher = make_watcher(root, exercises, screen, NoKeys(), setup)
        watcher.begin(lesson)
        while not screen.shown:
            watcher.step()
        stub = root / lesson.stub_file
        original = stub.read_text(encoding="utf-8")
        to_start, to_result = [], []
        for repeat in range(args.repeats):
            screen.started.clear()
            screen.shown.clear()
            stub.write_text(original + f"\n# save {repeat}\n", encoding="utf-8")
            saved = time.monotonic()
            while not screen.shown:
                watcher.step()
            to_start.append(screen.started[0] - saved)
            to_result.append(screen.shown[0] - saved)
        watcher.stop()
        print(f"save -> grading starts ({args.repeats} saves): {_summary(to_start)}")
        print(f"save -> lesson_questions result on screen: {_summary(to_result)}")

        locked = next(e for e in exercises if e.name == "locked_increment")
        stops = []
        for wait in (1.0, 4.0, 8.0)[: max(1, min(3, args.repeats))]:
            job = GradingJob(locked, root)
            time.sleep(wait)
            began = time.monotonic()
            job.cancel()
            stops.append(time.monotonic() - began)
            print(f"locked_increment stopped {wait:.0f} s into its grading: gone after "
                  f"{stops[-1]:.2f} s (child exit code {job.process.returncode})")


if __name__ == "__main__":
    main()

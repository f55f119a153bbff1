"""`python -m grader watch [--exercise NAME]`: the command line around core.Watcher."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from grader.formats.colour import Painter, use_colour
from grader.formats.html_report import REPORT_FILE, write_html
from grader.grading import state
from grader.grading.grade import Setup, UsageParser, make_setup, select_exercises
from grader.grading.results import ExerciseResult, GradeReport
from grader.metadata import REPO_ROOT, Exercise
from grader.watch.changes import SavePoller
from grader.watch.core import Keys, Screen, Watcher
from grader.watch.jobs import start
from grader.watch.keys import open_keys
from grader.watch.screen import TerminalScreen


class ResultRecorder:
    """Records each result the watcher shows, as `python -m grader` does: in the state file
    (for `--list` and where the next watch starts) and in grading-results/report.html, which
    holds every exercise graded while watching."""

    def __init__(self, setup: Setup, exercises: Sequence[Exercise]) -> None:
        self.setup = setup
        self.exercises = list(exercises)
        self.latest: dict[str, ExerciseResult] = {}

    def __call__(self, result: ExerciseResult) -> None:
        self.latest[result.name] = result
        state.save(self.setup.root, self.setup.target,
                   GradeReport(self.setup.target_label, [result]), self.exercises)
        graded = [self.latest[e.name] for e in self.exercises if e.name in self.latest]
        report = GradeReport(target=self.setup.target_label, exercises=graded,
                             duration=sum(r.duration for r in graded))
        try:
            write_html(report, self.setup.root / REPORT_FILE)
        except OSError:
            pass  # a report that cannot be written never stops the watching


def make_watcher(root: Path, exercises: Sequence[Exercise], screen: Screen, keys: Keys,
                 setup: Setup) -> Watcher:
    """The watcher for a repository, with the real saves, gradings and report."""
    passed = state.passed_unchanged(setup.root, setup.target, setup.target_label, list(exercises))
    return Watcher(exercises, start(root), SavePoller(setup.target, [e.module for e in exercises]),
                   keys, screen, passed=passed, record=ResultRecorder(setup, exercises))


def _stop_on_signal(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # the watcher's finally stops the grading, as for Ctrl-C


def parser() -> argparse.ArgumentParser:
    """`python -m grader watch`'s options: main()'s keywords, with its defaults."""
    parser = UsageParser(prog="python -m grader watch", argument_default=argparse.SUPPRESS,
                         description="Grade the current exercise, then again each time an exercise "
                         "file is saved; move on at full marks. Keys: h hint, r grade again, "
                         "n next exercise, q quit.")
    parser.add_argument("--exercise", metavar="NAME",
                        help="start with this exercise (default: the first not at full marks)")
    parser.add_argument("--root", metavar="PATH",
                        help="the exercise repository (default: the one holding grader/)")
    parser.add_argument("--color", "--colour", dest="color", choices=("auto", "always", "never"))
    return parser


def main(*, exercise: str | None = None, root: str = str(REPO_ROOT), color: str = "auto") -> int:
    """Watch the exercises of the repository `root`, starting with `exercise` (default: the
    first not at full marks), the screen coloured per `color` (auto, always, never); 0 when the
    student stops watching."""
    setup = make_setup(root, "exercises")
    exercises = select_exercises(setup, None)
    first = select_exercises(setup, [exercise])[0] if exercise else None
    # Clearing the screen needs a terminal that reads ANSI codes: on Windows, Windows Terminal
    # (the old console shows them as text), so there results follow one another.
    live = (bool(getattr(sys.stdout, "isatty", lambda: False)())
            and (os.name != "nt" or "WT_SESSION" in os.environ))
    screen = TerminalScreen(sys.stdout, Painter(use_colour(color, sys.stdout)), live)
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _stop_on_signal)
    keys = open_keys(sys.stdin)
    try:
        watcher = make_watcher(setup.root, exercises, screen, keys, setup)
        print(f"Watching {setup.target_label}/ (report: {REPORT_FILE.as_posix()})", flush=True)
        watcher.run(first)
    except KeyboardInterrupt:
        print()
    finally:
        keys.close()
    print("Stopped watching.", flush=True)
    return 0

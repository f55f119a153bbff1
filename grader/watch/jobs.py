"""One grading at a time, through `python -m grader` itself, in a child process that can be
stopped at any moment.

The child is the grader's own command (`--exercise NAME --json PATH`), so watching grades
exactly as `python -m grader` does: the same runner, time budget and scoring. It
runs in a process group of its own, so a Ctrl-C typed at the watcher does not reach it.

Stopping a grading interrupts the suite's pytest (SIGINT): pytest tears its fixtures down, so
the student host is closed as after any test, its processes killed and its locks' named
semaphores unlinked (spawn and forkserver name them, and a killed process leaves them behind);
the child then ends as after any run, killing whatever is left in the suite's session. That
takes a few seconds, so it happens while the next grading already runs. Should it not end in
time, the child gets one SIGINT (the runner then kills the suite's whole session), and at last
SIGKILL. On Windows the child's process tree is killed, as the runner does there.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grader.grading.results import ERROR, ExerciseResult, TestResult
from grader.metadata import Exercise
from grader.paths import REPO_ROOT
from grader.process_tree import process_table

SUITE_STOP_WAIT = 20.0  # seconds for an interrupted suite to tear down and the child to end
CANCEL_WAIT = 15.0  # then seconds for the child to kill the suite's session, before SIGKILL


def result_from_json(data: dict[str, Any]) -> ExerciseResult:
    """The inverse of grader.formats.json_results.exercise_to_json."""
    tests = [TestResult(name=t["name"], status=t["status"], score=t["score"],
                        max_score=t["max_score"], message=t.get("message", ""),
                        file=t.get("file"), line=t.get("line"), concept=t.get("concept"),
                        duration=t.get("duration", 0.0), witness=t.get("witness"))
             for t in data.get("tests", [])]
    return ExerciseResult(name=data["name"], title=data["title"], status=data["status"],
                          score=data["score"], max_score=data["max_score"], tests=tests,
                          message=data.get("message", ""), file=data.get("file"),
                          line=data.get("line"), hint=data.get("hint"),
                          duration=data.get("duration", 0.0))


def grader_failed(exercise: Exercise, text: str) -> ExerciseResult:
    """The grader itself could not grade (not the student's fault): say so, score nothing."""
    message = f"The grader could not grade this exercise (not your code): {text}".strip()
    return ExerciseResult(name=exercise.name, title=exercise.title, status=ERROR, score=0.0,
                          max_score=float(exercise.points), message=message)


class GradingJob:
    """Implements core.Job: `python -m grader --exercise NAME` for the repository at `root`."""

    def __init__(self, exercise: Exercise, root: Path, target: str = "exercises") -> None:
        self.exercise = exercise
        self._scratch = tempfile.TemporaryDirectory(prefix="grader-watch-")
        self.json_path = Path(self._scratch.name) / "result.json"
        self.log_path = Path(self._scratch.name) / "grader.log"
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            dict.fromkeys([str(REPO_ROOT), *filter(None, [env.get("PYTHONPATH")])]))
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            # --tests-from the same repository: the same grading, but the child does not write
            # the state file: a stopped grading ends after the next one began, and its result
            # must not land there last. The watcher records the results it shows.
            [sys.executable, "-m", "grader", "--root", str(root), "--tests-from", str(root),
             "--target", target, "--exercise", exercise.name, "--json", str(self.json_path),
             "--no-report", "--quiet", "--color", "never"],
            cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=self._log,
            start_new_session=os.name != "nt",
            creationflags=getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0),
        )
        self._result: ExerciseResult | None = None
        self._stage: int | None = None  # None: running; 0 suite interrupted; 1 child; 2 killed
        self._stage_since = 0.0

    def poll(self) -> ExerciseResult | None:
        if self._result is not None:
            return self._result
        if self.process.poll() is None:
            return None
        self._result = self._read()
        self._close()
        return self._result

    def _read(self) -> ExerciseResult:
        try:
            data = json.loads(self.json_path.read_text(encoding="utf-8"))
            return result_from_json(data["exercises"][0])
        except (OSError, ValueError, KeyError, IndexError, TypeError):
            self._log.flush()
            tail = self.log_path.read_text(encoding="utf-8", errors="replace").strip()[-800:]
            return grader_failed(self.exercise, tail or f"exit code {self.process.returncode}")

    def stop(self) -> None:
        """Start stopping the grading; returns at once (stopped() says when it is over)."""
        if self._stage is not None:
            return
        self._stage, self._stage_since = 0, time.monotonic()
        if self.process.poll() is not None:
            return
        if os.name == "nt":
            subprocess.run(["taskkill", "/F", "/T", "/PID", str(self.process.pid)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            self._stage = 2
        elif not self._interrupt_suite():  # no suite yet: the child has nothing to tear down
            self._next_stage()

    def stopped(self) -> bool:
        """True once the child has ended; moves on to harsher means when one takes too long."""
        if self.process.poll() is not None:
            self._close()
            return True
        waited = time.monotonic() - self._stage_since
        if (self._stage == 0 and waited > SUITE_STOP_WAIT) or (
                self._stage == 1 and waited > CANCEL_WAIT):
            self._next_stage()
        return False

    def cancel(self) -> None:
        """Stop the grading and wait until it and everything it started are gone."""
        self.stop()
        while not self.stopped():
            time.sleep(0.05)

    def _next_stage(self) -> None:
        self._stage = 1 if self._stage == 0 else 2
        self._stage_since = time.monotonic()
        try:
            if self._stage == 1:
                self.process.send_signal(signal.SIGINT)  # the runner's finally kills the suite
            else:
                self.process.kill()
        except ProcessLookupError:
            pass

    def _interrupt_suite(self) -> bool:
        """SIGINT to the child's own children (the suite's pytest); False when there is none."""
        suites = [p.pid for p in process_table() or [] if p.ppid == self.process.pid]
        for pid in suites:
            try:
                os.kill(pid, signal.SIGINT)
            except OSError:
                pass
        return bool(suites)

    def _close(self) -> None:
        if self.process.returncode is None:
            return
        try:
            self._log.close()
        finally:
            self._scratch.cleanup()


def start(root: Path, target: str = "exercises") -> Callable[[Exercise], GradingJob]:
    """A job starter for core.Watcher."""
    return lambda exercise: GradingJob(exercise, root, target)

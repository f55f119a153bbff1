"""The watch loop: which exercise is current, what to grade next, what to show.

It owns no terminal, file or process: it is handed a source of saves, a source of keys, a
way to start gradings and a screen. So a test drives it with real saves and real gradings but
a recording screen, or with fakes for every part, and calls `step()` until what it waits for
has happened.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from grader.grading.results import ExerciseResult
from grader.metadata import Exercise

TICK = 0.2  # seconds between looks at the files, the keys and the running grading


class Job(Protocol):
    """One grading in progress."""

    exercise: Exercise

    def poll(self) -> ExerciseResult | None:
        """The result once the grading has finished, None while it runs."""
        ...

    def stop(self) -> None:
        """Start stopping the grading and everything it started; returns at once."""
        ...

    def stopped(self) -> bool:
        """Whether the grading, once stopped, is over (nothing it started is left)."""
        ...

    def cancel(self) -> None:
        """Stop the grading and everything it started; returns once they are gone."""
        ...


class Saves(Protocol):
    def poll(self) -> list[str]:
        """Modules (file stems in exercises/) saved since the last call."""
        ...


class Keys(Protocol):
    interactive: bool

    def read(self, timeout: float) -> str | None:
        """One key pressed within `timeout` seconds (waiting that long when none is)."""
        ...


class Screen(Protocol):
    def grading(self, exercise: Exercise, why: str) -> None: ...

    def result(self, exercise: Exercise, result: ExerciseResult, position: int, total: int,
               interactive: bool) -> None: ...

    def hints(self, exercise: Exercise, shown: Sequence[str], more: bool) -> None: ...

    def moved(self, done: Exercise, nxt: Exercise) -> None: ...

    def all_done(self, total: int) -> None: ...

    def note(self, text: str) -> None: ...


class Watcher:
    """Keeps one exercise current and its latest grading on screen.

    * a save of an exercise's file grades that exercise (and makes it current); a save while a
      grading runs cancels that grading first;
    * full marks on the current exercise moves on to the next one not yet at full marks, and
      grades it, so the student sees what to do there;
    * keys: h shows one more hint, r grades again, n skips to the next exercise, q quits.
    """

    def __init__(self, exercises: Sequence[Exercise], start_job: Callable[[Exercise], Job],
                 saves: Saves, keys: Keys, screen: Screen, *, passed: set[str] | None = None,
                 record: Callable[[ExerciseResult], None] | None = None,
                 tick: float = TICK) -> None:
        if not exercises:
            raise ValueError("there are no exercises to watch")
        self.exercises = list(exercises)
        self.start_job = start_job
        self.saves = saves
        self.keys = keys
        self.screen = screen
        self.passed = set(passed or ())  # names at full marks (last grading, unchanged since)
        self.record = record
        self.tick = tick
        self.results: dict[str, ExerciseResult] = {}
        self.current = self.exercises[0]
        self.job: Job | None = None
        self.stopping: list[Job] = []  # gradings being stopped (they tear down in the background)
        self.hints_shown = 0
        self.finished = False

    # The loop ------------------------------------------------------------------------------

    def begin(self, exercise: Exercise | None = None) -> None:
        """Grade `exercise`, or the first one not at full marks."""
        first = exercise or self.next_pending(None)
        if first is None:
            self.current = self.exercises[-1]
            self.screen.all_done(len(self.exercises))
            return
        self.grade(first, "starting")

    def step(self) -> None:
        """One look at keys, saves and the running grading (waits up to one tick for a key)."""
        key = self.keys.read(self.tick)
        if key is not None:
            self.on_key(key)
        if self.finished:
            return
        for module in self.saves.poll():
            self.on_saved(module)
        if self.job is not None:
            result = self.job.poll()
            if result is not None:
                self.on_result(self.job.exercise, result)
        self.stopping = [job for job in self.stopping if not job.stopped()]

    def run(self, exercise: Exercise | None = None) -> None:
        """Until q (or Ctrl-C, which reaches the caller after the running grading is stopped)."""
        try:
            self.begin(exercise)
            while not self.finished:
                self.step()
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop every grading and wait for them: nothing they started outlives the watcher."""
        self.finished = True
        jobs = ([self.job] if self.job is not None else []) + self.stopping
        self.job, self.stopping = None, []
        if jobs:
            self.screen.note("Stopping the grading ...")
        for job in jobs:
            job.stop()
        for job in jobs:
            job.cancel()

    # Events --------------------------------------------------------------------------------

    def grade(self, exercise: Exercise, why: str) -> None:
        if self.job is not None:  # a save while grading restarts it
            self.job.stop()
            self.stopping.append(self.job)
            self.job = None
        if exercise != self.current:
            self.hints_shown = 0
        self.current = exercise
        self.job = self.start_job(exercise)
        self.screen.grading(exercise, why)

    def on_saved(self, module: str) -> None:
        exercise = next((e for e in self.exercises if e.module == module), None)
        if exercise is not None:
            self.grade(exercise, f"{exercise.stub_file} was saved")

    def on_result(self, exercise: Exercise, result: ExerciseResult) -> None:
        self.job = None
        self.results[exercise.name] = result
        if result.full_marks:
            self.passed.add(exercise.name)
        else:
            self.passed.discard(exercise.name)
        if self.record is not None:
            self.record(result)
        position = self.exercises.index(exercise) + 1
        self.screen.result(exercise, result, position, len(self.exercises), self.keys.interactive)
        if result.full_marks and exercise == self.current:
            nxt = self.next_pending(exercise)
            if nxt is None:
                self.screen.all_done(len(self.exercises))
                return
            self.screen.moved(exercise, nxt)
            self.grade(nxt, "next exercise")

    def on_key(self, key: str) -> None:
        key = key.lower()
        if key == "q":
            self.finished = True
        elif key == "h":
            hints = self.current.hints
            self.hints_shown = min(self.hints_shown + 1, len(hints))
            self.screen.hints(self.current, hints[:self.hints_shown], self.hints_shown < len(hints))
        elif key == "r":
            self.grade(self.current, "graded again (r)")
        elif key == "n":
            nxt = self.next_pending(self.current, skip_current=True)
            if nxt is None:
                self.screen.note("No other exercise is waiting: every other one has full marks.")
            else:
                self.grade(nxt, "skipped to the next exercise (n)")
        elif key.isprintable() and not key.isspace():  # not arrows, Enter or other controls
            self.screen.note("Keys: h hint, r grade again, n next exercise, q quit.")

    def next_pending(self, after: Exercise | None, skip_current: bool = False) -> Exercise | None:
        """The first exercise after `after` (wrapping round) not at full marks."""
        start = 0 if after is None else self.exercises.index(after) + 1
        order = self.exercises[start:] + self.exercises[:start]
        for exercise in order:
            if skip_current and exercise == after:
                continue
            if exercise.name not in self.passed:
                return exercise
        return None

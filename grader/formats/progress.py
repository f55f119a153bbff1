"""Progress while grading: which exercise is running, since a full run takes a while.

On a terminal one status line is rewritten in place (with the seconds so far); elsewhere (CI
logs, pipes) each exercise gets one plain line. Progress goes to stderr so stdout stays the
report alone.
"""

from __future__ import annotations

import threading
import time
from typing import TextIO

from grader.formats.colour import Painter
from grader.grading.results import ExerciseResult, format_points
from grader.metadata import Exercise


class TerminalProgress:
    """Implements grading.Progress for a person watching."""

    def __init__(self, stream: TextIO, live: bool, paint: Painter) -> None:
        self.stream = stream
        self.live = live
        self.paint = paint
        self._label = ""
        self._started = 0.0
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self, index: int, total: int, exercise: Exercise) -> None:
        self._label = f"[{index}/{total}] grading {exercise.name}"
        self._started = time.monotonic()
        if not self.live:
            self._write(self._label + " ...\n")
            return
        self._stop.clear()
        self._draw()
        self._ticker = threading.Thread(target=self._tick, daemon=True)
        self._ticker.start()

    def done(self, result: ExerciseResult) -> None:
        if self.live:
            self._stop.set()
            if self._ticker is not None:
                self._ticker.join()
            points = f"{format_points(result.score)}/{format_points(result.max_score)}"
            self._write(f"\r\033[K{self._label}: {self.paint.status(result.status)} {points}\n")

    def _tick(self) -> None:
        while not self._stop.wait(0.5):
            self._draw()

    def _draw(self) -> None:
        seconds = int(time.monotonic() - self._started)
        self._write(f"\r\033[K{self._label} ... {seconds} s")

    def _write(self, text: str) -> None:
        with self._lock:
            try:
                self.stream.write(text)
                self.stream.flush()
            except (OSError, ValueError):
                pass

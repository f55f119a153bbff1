"""What the student sees while watching: the score line, the first thing to fix with its line
and rule, hints on request, and what happens next.

On a terminal each grading's result replaces the screen (like rustlings); elsewhere (a pipe,
an IDE's pane) the results follow one another. Colour follows grader.formats.colour: none
when NO_COLOR is set or the output is not a terminal.
"""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Sequence
from typing import TextIO

from grader.formats.colour import Painter
from grader.formats.terminal import points_text
from grader.grading.results import ExerciseResult
from grader.metadata import Exercise

MESSAGE_LINES = 24  # lines of the first failure shown; the report has the rest
CLEAR = "\033[2J\033[H"
KEYS_HELP = "Keys: h hint, r grade again, n next exercise, q quit."
NO_KEYS_HELP = "Save the file to grade it again; Ctrl-C to stop watching."


class TerminalScreen:
    """Implements core.Screen on a text stream."""

    def __init__(self, stream: TextIO, paint: Painter, live: bool) -> None:
        self.stream = stream
        self.paint = paint
        self.live = live  # a terminal: clear it for each result

    def _width(self) -> int:
        return max(shutil.get_terminal_size().columns - 2, 40) if self.live else 98

    def _write(self, lines: Sequence[str]) -> None:
        self.stream.write("\n".join(lines) + "\n")
        self.stream.flush()

    def grading(self, exercise: Exercise, why: str) -> None:
        self._write([self.paint(f"Grading {exercise.name} ({why}) ...", "dim")])

    def result(self, exercise: Exercise, result: ExerciseResult, position: int, total: int,
               interactive: bool) -> None:
        width = self._width()
        lines = [CLEAR.rstrip("\n")] if self.live else [""]
        lines.append(self.paint(f"Exercise {position}/{total}: {exercise.name}", "bold")
                     + f" ({exercise.title})")
        lines.append(f"  {points_text(result)} points  {self.paint.status(result.status)}"
                     f"  ({result.duration:.1f} s)")
        if result.full_marks:
            lines.append(self.paint("  Full marks.", "green"))
        else:
            lines.append("")
            where = result.location or exercise.stub_file
            lines.append(self.paint("First thing to fix: ", "bold") + where)
            wrapped = [piece for text in result.message.strip().splitlines()
                       for piece in textwrap.wrap(text, width) or [""]]
            if len(wrapped) > MESSAGE_LINES:
                wrapped = wrapped[:MESSAGE_LINES - 1] + [
                    "… (the rest is in grading-results/report.html)"]
            lines.extend(f"  {text}".rstrip() for text in wrapped)
            lines.append("")
            lines.append(f"Instructions: {exercise.instructions_file}")
        lines.append(self.paint(KEYS_HELP if interactive else NO_KEYS_HELP, "dim"))
        self._write(lines)

    def hints(self, exercise: Exercise, shown: Sequence[str], more: bool) -> None:
        if not shown:
            self._write([f"No hints for {exercise.name}: read {exercise.instructions_file}."])
            return
        lines = [self.paint(f"Hints for {exercise.name}:", "bold", "cyan")]
        for number, hint in enumerate(shown, start=1):
            lines.extend(textwrap.wrap(f"{number}. {hint}", self._width(),
                                       initial_indent="  ", subsequent_indent="     "))
        if more:
            lines.append(self.paint("  (h again for the next hint)", "dim"))
        self._write(lines)

    def moved(self, done: Exercise, nxt: Exercise) -> None:
        self._write([self.paint(f"{done.name} is done. Next: {nxt.name}", "bold", "green")
                     + f" ({nxt.title}); its instructions are in {nxt.instructions_file}."])

    def all_done(self, total: int) -> None:
        self._write([self.paint(f"All {total} exercises have full marks. Well done!",
                                "bold", "green"), "Press q (or Ctrl-C) to stop watching."])

    def note(self, text: str) -> None:
        self._write([text])

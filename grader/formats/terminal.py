"""The student's view: a score table, the total, and the one next thing to do.

pytest's output is for developers; this is for someone three weeks into Python. Each row says
what an exercise earned and, when it lost points, the first thing wrong with the student's
`file:line`; below the table comes the exercise to work on next, with a hint from info.toml.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from grader.formats.colour import Painter
from grader.grading.results import ExerciseResult, GradeReport, format_points
from grader.metadata import Exercise

HEADERS = ("Exercise", "Points", "Status", "Feedback")
ELLIPSIS = "…"
PLAIN_WIDTH = 120  # columns when not on a terminal (pipes, CI logs)
NEXT_LINES = 8  # lines of the next exercise's message shown under the table


def points_text(result: ExerciseResult) -> str:
    return f"{format_points(result.score)}/{format_points(result.max_score)}"


def feedback_text(result: ExerciseResult) -> str:
    """`file:line: first line of the message`, or "" for full marks."""
    if result.full_marks:
        return ""
    line = result.first_line
    return f"{result.location}: {line}" if result.location and line else line or result.location


def clip(text: str, width: int) -> str:
    if len(text) <= width:
        return text
    return text[: max(width - 1, 0)] + ELLIPSIS


def render_table(report: GradeReport, paint: Painter, width: int = PLAIN_WIDTH) -> str:
    """The whole report as text, feedback clipped to `width` columns (the full text is in
    the "Next" section and in the JSON results)."""
    rows = [(r.name, points_text(r), r.status, feedback_text(r)) for r in report.exercises]
    name_w = max([len(HEADERS[0])] + [len(r[0]) for r in rows])
    points_w = max([len(HEADERS[1])] + [len(r[1]) for r in rows])
    status_w = max([len(HEADERS[2])] + [len(r[2]) for r in rows])
    indent = "  "
    fixed = len(indent) + name_w + 2 + points_w + 2 + status_w + 2
    feedback_w = max(width - fixed, 30)

    lines = [
        paint(f"Grading {report.target}", "bold"),
        "",
        indent + paint(f"{HEADERS[0]:<{name_w}}  {HEADERS[1]:>{points_w}}  "
                       f"{HEADERS[2]:<{status_w}}  {HEADERS[3]}", "bold").rstrip(),
    ]
    for result, (name, points, status, feedback) in zip(report.exercises, rows, strict=True):
        cells = (f"{name:<{name_w}}  {points:>{points_w}}  "
                 f"{paint.status(result.status, f'{status:<{status_w}}')}  "
                 f"{clip(feedback, feedback_w)}")
        lines.append((indent + cells).rstrip())
    lines.append("")
    if report.tampered:
        lines.append(paint("Warning: files that decide the grade differ from the release: "
                           + ", ".join(report.tampered), "red", "bold"))
    total = f"Total: {format_points(report.score)}/{format_points(report.max_score)} points"
    lines.append(paint(total, *(("bold", "green") if report.full_marks else ("bold",))))
    lines.extend(next_steps(report, paint, width))
    return "\n".join(lines) + "\n"


def next_steps(report: GradeReport, paint: Painter, width: int = PLAIN_WIDTH) -> list[str]:
    """What to do now: the first exercise that still loses points, or the good news."""
    nxt = report.next_exercise
    if nxt is None:
        return [paint("Everything passes: full marks.", "green")]
    lines = [paint(f"Next: {nxt.name}", "bold", "cyan") + f" ({nxt.title})"]
    if nxt.location:
        lines.append(f"  {nxt.location}")
    wrapped = [piece for text in nxt.message.strip().splitlines()
               for piece in textwrap.wrap(text, max(width - 2, 40)) or [""]]
    if len(wrapped) > NEXT_LINES:
        wrapped = wrapped[:NEXT_LINES - 1] + [ELLIPSIS + " (the whole message is in --json)"]
    lines.extend(f"  {text}".rstrip() for text in wrapped)
    if nxt.hint:
        lines.extend(textwrap.wrap(f"Hint: {nxt.hint}", max(width - 2, 40),
                                   initial_indent="  ", subsequent_indent="  "))
    again = f"python -m grader --exercise {nxt.name}"
    if report.target != "exercises":
        again += f" --target {report.target}"
    lines.append(f"  Check it again with: {again}")
    return lines


def render_list(exercises: Sequence[Exercise], statuses: dict[str, str], paint: Painter) -> str:
    """`--list`: every exercise with its points and its status as of the last grading."""
    rows = [(str(i), e.name, format_points(e.points), statuses.get(e.name, "not graded yet"),
             e.title) for i, e in enumerate(exercises, start=1)]
    headers = ("#", "Exercise", "Points", "Status", "Title")
    widths = [max(len(h), *(len(r[k]) for r in rows)) if rows else len(h)
              for k, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return ("  " + f"{cells[0]:>{widths[0]}}  {cells[1]:<{widths[1]}}  "
                f"{cells[2]:>{widths[2]}}  {cells[3]:<{widths[3]}}  {cells[4]}").rstrip()

    out = [paint(line(headers), "bold")]
    for row in rows:
        status_word = row[3].split(" ", 1)[0]
        painted = paint.status(status_word, f"{row[3]:<{widths[3]}}")
        out.append(("  " + f"{row[0]:>{widths[0]}}  {row[1]:<{widths[1]}}  "
                    f"{row[2]:>{widths[2]}}  {painted}  {row[4]}").rstrip())
    total = sum(e.points for e in exercises)
    out.append("")
    out.append(f"{len(exercises)} exercises, {format_points(total)} points in all. "
               "Grade them with: python -m grader")
    return "\n".join(out) + "\n"

"""GitHub Actions output: annotations at the student's lines, the job summary, and the notices
that GitHub Classroom's autograding reporter prints (so tools that read those keep working).

Workflow commands are lines on stdout (`::error file=...,line=...,title=...::message`); their
data and properties must be escaped, or a `%`, a newline, a `:` or a `,` in a message would
cut it short or be read as another property. GitHub shows at most 10 error annotations per
step, so the most useful come first: the first problem of each exercise, in the order students
do the exercises, before any second problem of any exercise.
"""

from __future__ import annotations

import json
from pathlib import Path

from grader.grading.results import ERROR, FAILED, TIMEOUT, GradeReport, TestResult, format_points

MAX_ANNOTATIONS = 10
_ANNOTATED = (FAILED, ERROR, TIMEOUT)
_SUMMARY_ICONS = {"passed": "✅", "partial": "🟡", "failed": "❌", "timeout": "⏱️", "error": "⚠️"}


def escape_data(text: str) -> str:
    """Escape a command's message: `%`, CR and LF."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a property value: as data, plus `:` and `,`."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties: object) -> str:
    props = ",".join(f"{key}={escape_property(str(value))}"
                     for key, value in properties.items() if value not in (None, ""))
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def annotation_order(report: GradeReport) -> list[tuple[str, TestResult]]:
    """(exercise, test) pairs worth annotating: round-robin over exercises, duplicates dropped."""
    queues = [[(e.name, t) for t in e.tests if t.counts and t.status in _ANNOTATED]
              for e in report.exercises]
    ordered: list[tuple[str, TestResult]] = []
    seen: set[tuple[str | None, int | None, str]] = set()
    depth = 0
    while any(depth < len(q) for q in queues):
        for queue in queues:
            if depth < len(queue):
                name, test = queue[depth]
                key = (test.file, test.line, test.message)
                if key not in seen:
                    seen.add(key)
                    ordered.append((name, test))
        depth += 1
    return ordered


def annotations(report: GradeReport, limit: int = MAX_ANNOTATIONS) -> list[str]:
    lines = []
    for exercise, test in annotation_order(report)[:limit]:
        title = f"{exercise}: {test.name}"
        lines.append(command("error", test.message or test.status, file=test.file,
                             line=test.line if test.file else None, title=title))
    return lines


def _number(value: float) -> int | float:
    """7.0 -> 7, as JavaScript's JSON.stringify writes it."""
    return int(value) if value == int(value) else value


def notices(report: GradeReport) -> list[str]:
    """The two notices of GitHub Classroom's autograding reporter, same titles, same text."""
    total, maximum = _number(report.score), _number(report.max_score)
    data = json.dumps({"totalPoints": total, "maxPoints": maximum}, separators=(",", ":"))
    return [
        command("notice", f"Points {total}/{maximum}", title="Autograding complete"),
        command("notice", data, title="Autograding report"),
    ]


def workflow_commands(report: GradeReport, with_notices: bool = True) -> str:
    """Everything to print on stdout in a GitHub Actions step.

    `with_notices=False` when the workflow's reporter prints the score notices itself: a tool
    that reads them must find exactly one score per run.
    """
    lines = annotations(report) + (notices(report) if with_notices else [])
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\r", " ").replace("\n", " ").strip()


def step_summary(report: GradeReport) -> str:
    """The score table as Markdown for $GITHUB_STEP_SUMMARY."""
    score = f"{format_points(report.score)}/{format_points(report.max_score)}"
    lines = [f"### Autograding ({report.target}): {score} points", "",
             "| Exercise | Points | Status | Feedback |", "| --- | ---: | --- | --- |"]
    for e in report.exercises:
        feedback = ""
        if not e.full_marks:
            first = e.first_line
            feedback = f"`{e.location}` {_cell(first)}" if e.location else _cell(first)
        icon = _SUMMARY_ICONS.get(e.status, "")
        lines.append(f"| {_cell(e.name)} | {format_points(e.score)}/{format_points(e.max_score)} "
                     f"| {icon} {e.status} | {feedback} |")
    lines.append("")
    if report.tampered:
        lines.append("**Warning:** files that decide the grade differ from the release: "
                     + ", ".join(f"`{name}`" for name in report.tampered))
        lines.append("")
    nxt = report.next_exercise
    if nxt is None:
        lines.append("Everything passes: full marks.")
    else:
        lines.append(f"**Next:** `{nxt.name}` ({_cell(nxt.title)})"
                     + (f". Hint: {_cell(nxt.hint)}" if nxt.hint else ""))
    return "\n".join(lines) + "\n"


def append_step_summary(report: GradeReport, path: Path) -> None:
    """GitHub collects what each step appends to this file."""
    with path.open("a", encoding="utf-8") as handle:
        handle.write(step_summary(report))

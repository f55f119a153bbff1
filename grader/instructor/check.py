"""`python -m grader check`: the instructor's check that the exercise set is consistent.

Like rustlings' dev check: every reference solution must earn full marks and every stub must
lose points (a stub that passes means a suite that checks nothing). Exit 0 when both hold.
Below the table, each exercise that is not done gets a list of what its author still has to
write, each item naming the file and the fix (grader.instructor.new.authoring: placeholders `grader new` left,
rules with no test).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from grader.formats.colour import Painter, use_colour
from grader.formats.progress import TerminalProgress
from grader.grading.grade import UsageParser, grade, make_setup, select_exercises
from grader.grading.results import ExerciseResult, format_points
from grader.instructor.new.authoring import to_do
from grader.metadata import REPO_ROOT


def verdict(solution: ExerciseResult, stub: ExerciseResult, todo: Sequence[str] = ()) -> str:
    """"ok", or what is wrong with this exercise's suite, solution or stub."""
    problems = []
    if not solution.full_marks:
        problems.append(f"solution loses points ({solution.status}: {solution.first_line})")
    if stub.full_marks:
        problems.append("stub passes: the suite checks nothing the stub lacks")
    if todo:
        problems.append(f"{len(todo)} thing{'s' if len(todo) > 1 else ''} to fill in")
    return "; ".join(problems) or "ok"


def fixes(module: str, solution: ExerciseResult, stub: ExerciseResult,
          todo: Sequence[str]) -> list[str]:
    """What the author of one exercise has to do, each item naming its file."""
    items = list(todo)
    if not solution.full_marks:
        items.append(f"solutions/{module}.py loses points: {solution.first_line} "
                     f"(make the solution earn full marks, or fix tests/test_{module}.py)")
    if stub.full_marks:
        items.append(f"exercises/{module}.py passes every test: give the stub the exercise's "
                     f"problem, or add the test it fails to tests/test_{module}.py")
    return items


def parser() -> argparse.ArgumentParser:
    """`python -m grader check`'s options: main()'s keywords, with its defaults."""
    parser = UsageParser(prog="python -m grader check", argument_default=argparse.SUPPRESS,
                         description="Check that every solution passes and every stub fails.")
    parser.add_argument("--root", metavar="PATH")
    parser.add_argument("--exercise", action="append", metavar="NAME")
    parser.add_argument("--color", "--colour", dest="color", choices=("auto", "always", "never"))
    parser.add_argument("-q", "--quiet", action="store_true")
    return parser


def main(*, root: str = str(REPO_ROOT), exercise: Sequence[str] | None = None, color: str = "auto",
         quiet: bool = False) -> int:
    """Grade the solutions and the stubs of the repository `root` (only the exercises named in
    `exercise`, if any; the table coloured per `color`: auto, always, never; no progress lines
    when `quiet`) and print a verdict per exercise; 0 when every solution passes and every stub
    fails, 1 otherwise."""
    paint = Painter(use_colour(color, sys.stdout))

    reports = {}
    for target in ("solutions", "exercises"):
        setup = make_setup(root, target)
        exercises = select_exercises(setup, exercise)
        progress = None
        if not quiet:
            live = bool(getattr(sys.stderr, "isatty", lambda: False)())
            progress = TerminalProgress(sys.stderr, live, Painter(use_colour(color, sys.stderr)))
            print(f"checking {target}/", file=sys.stderr)
        reports[target] = grade(setup, exercises, progress)

    rows = []
    ok = True
    setup = make_setup(root, "exercises")
    modules = {e.name: e for e in select_exercises(setup, exercise)}
    still: list[tuple[str, list[str]]] = []
    for solution, stub in zip(reports["solutions"].exercises, reports["exercises"].exercises,
                              strict=True):
        exercise = modules[solution.name]
        todo = to_do(setup.root, exercise)
        text = verdict(solution, stub, todo)
        if text != "ok":
            still.append((solution.name, fixes(exercise.module, solution, stub, todo)))
        ok = ok and text == "ok"
        rows.append((solution.name,
                     f"{format_points(solution.score)}/{format_points(solution.max_score)}",
                     f"{format_points(stub.score)}/{format_points(stub.max_score)}", text))
    headers = ("Exercise", "Solution", "Stub", "Verdict")
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers[:3])]

    def line(cells: Sequence[str], verdict_text: str) -> str:
        return (f"  {cells[0]:<{widths[0]}}  {cells[1]:>{widths[1]}}  "
                f"{cells[2]:>{widths[2]}}  {verdict_text}").rstrip()

    out = [paint(line(headers, headers[3]), "bold")]
    for row in rows:
        out.append(line(row, paint(row[3], "green" if row[3] == "ok" else "red")))
    for name, items in still:
        out.append("")
        out.append(paint(f"{name} still needs:", "bold"))
        out.extend(f"  - {item}" for item in items)
    out.append("")
    out.append(paint("check passed: every solution passes and every stub fails", "green")
               if ok else paint("check failed: see the verdicts above", "red", "bold"))
    print("\n".join(out))
    return 0 if ok else 1

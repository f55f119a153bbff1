"""`python -m grader check`: the instructor's check that the exercise set is consistent.

Like rustlings' dev check: every reference solution must earn full marks and every stub must
lose points (a stub that passes means a suite that checks nothing). Exit 0 when both hold.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from grader.formats.colour import Painter, use_colour
from grader.formats.progress import TerminalProgress
from grader.grading import UsageError, grade, make_setup, select_exercises
from grader.metadata import REPO_ROOT
from grader.results import ExerciseResult, format_points


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message}\n{self.format_usage().rstrip()}")


def verdict(solution: ExerciseResult, stub: ExerciseResult) -> str:
    """"ok", or what is wrong with this exercise's suite, solution or stub."""
    problems = []
    if not solution.full_marks:
        problems.append(f"solution loses points ({solution.status}: {solution.first_line})")
    if stub.full_marks:
        problems.append("stub passes: the suite checks nothing the stub lacks")
    return "; ".join(problems) or "ok"


def main(argv: Sequence[str]) -> int:
    parser = _Parser(prog="python -m grader check",
                     description="Check that every solution passes and every stub fails.")
    parser.add_argument("--root", default=str(REPO_ROOT), metavar="PATH")
    parser.add_argument("--exercise", action="append", metavar="NAME")
    parser.add_argument("--color", "--colour", dest="color", default="auto",
                        choices=("auto", "always", "never"))
    parser.add_argument("-q", "--quiet", action="store_true")
    args = parser.parse_args(argv)
    paint = Painter(use_colour(args.color, sys.stdout))

    reports = {}
    for target in ("solutions", "exercises"):
        setup = make_setup(args.root, target)
        exercises = select_exercises(setup, args.exercise)
        progress = None
        if not args.quiet:
            live = bool(getattr(sys.stderr, "isatty", lambda: False)())
            progress = TerminalProgress(sys.stderr, live, Painter(use_colour(args.color, sys.stderr)))
            print(f"checking {target}/", file=sys.stderr)
        reports[target] = grade(setup, exercises, progress)

    rows = []
    ok = True
    for solution, stub in zip(reports["solutions"].exercises, reports["exercises"].exercises,
                              strict=True):
        text = verdict(solution, stub)
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
    out.append("")
    out.append(paint("check passed: every solution passes and every stub fails", "green")
               if ok else paint("check failed: see the verdicts above", "red", "bold"))
    print("\n".join(out))
    return 0 if ok else 1

"""`python -m grader` (also the `grader` console script): grade, list, and dispatch subcommands.

Exit codes, so that CI and a workflow step per exercise can award points all-or-nothing:
  0  everything graded earned full marks
  1  points were lost
  2  usage error (bad option, unknown exercise, missing directory)
  3  internal error of the grader itself (never a student's mistake)
With --classroom (the workflow's one grading step) a finished grading exits 0: the reporter that
reads its outputs passes or fails the job.

Subcommands: one module each, named in the dispatch table `COMMANDS`, and imported only when
used. Each such module has `parser()`, the command's documented arguments, and a keyword-only
`main()` that takes them (its defaults in its signature) and returns the exit code, so a test or
a script calls `batch.main(checkouts=[...], jobs=2)` as the command line would.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from grader.formats.classroom import write_classroom_outputs
from grader.formats.colour import Painter, use_colour
from grader.formats.github import append_step_summary, workflow_commands
from grader.formats.gradescope import write_gradescope
from grader.formats.json_results import write_json
from grader.formats.progress import TerminalProgress
from grader.formats.terminal import PLAIN_WIDTH, render_list, render_table
from grader.grading.grade import UsageError, UsageParser, grade, make_setup, select_exercises
from grader.inert import inert_text
from grader.metadata import REPO_ROOT

EXIT_OK = 0
EXIT_POINTS_LOST = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3


@dataclass(frozen=True)
class Command:
    """A subcommand: the module that implements it, imported only when the command is used, and
    what it is for."""

    module: str
    purpose: str

    def run(self, argv: Sequence[str]) -> int:
        """Parse the arguments after the command's name with the module's `parser()` and call
        its keyword-only `main()` with them."""
        module = importlib.import_module(self.module)
        return int(module.main(**vars(module.parser().parse_args(argv))))


# The dispatch table: every subcommand and where it lives (in the order --help lists them).
COMMANDS: dict[str, Command] = {
    "watch": Command("grader.watch.command", "grade the exercise you are on again on every save"),
    "check": Command("grader.instructor.check", "the instructor's check: solutions full marks, stubs fail"),
    "new": Command("grader.instructor.new.scaffold", "a new exercise's five pieces"),
    "workflow": Command("grader.instructor.workflow", "write .github/workflows/classroom.yml from info.toml"),
    "release": Command("grader.instructor.release", "write the student template and its manifest"),
    "batch": Command("grader.instructor.batch", "grade many student checkouts into a CSV"),
    "gradescope": Command("grader.instructor.gradescope.build", "build the Gradescope autograder zip"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = UsageParser(
        prog="python -m grader",
        description="Grade the multiprocessing exercises: a score table, the next thing to fix, "
        "and results for CI and course platforms.",
        epilog=f"Other commands: python -m grader {' | '.join(COMMANDS)} (each with --help). "
        "Exit codes: 0 full marks, 1 points lost, 2 usage error, 3 grader error.",
    )
    parser.add_argument("--target", default="exercises",
                        help="what to grade: 'exercises' (default), 'solutions', or a directory "
                        "holding the exercise modules")
    parser.add_argument("--exercise", action="append", metavar="NAME",
                        help="grade only this exercise (may be repeated)")
    parser.add_argument("--list", action="store_true",
                        help="list the exercises, their points and their status at the last grading")
    parser.add_argument("--json", type=Path, metavar="PATH",
                        help="write the results as JSON (format version 1, see docs/grader.md)")
    parser.add_argument("--gradescope", type=Path, metavar="PATH",
                        help="write Gradescope's results.json")
    parser.add_argument("--root", default=str(REPO_ROOT), metavar="PATH",
                        help="the exercise repository to grade (default: the one holding grader/)")
    parser.add_argument("--tests-from", metavar="PATH",
                        help="take tests/, conftest.py and info.toml from this pristine checkout "
                        "instead of the graded repository")
    parser.add_argument("--color", "--colour", dest="color", default="auto",
                        choices=("auto", "always", "never"),
                        help="colour the table: auto (a terminal without NO_COLOR), always, never")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    parser.add_argument("--classroom", action="store_true",
                        help="the workflow's grading step: one result per exercise for GitHub's "
                        "autograding reporter in $GITHUB_OUTPUT, no score notices of its own (the "
                        "reporter prints them), exit 0 once graded (see docs/grader.md)")
    parser.add_argument("--no-report", action="store_true",
                        help="do not write the HTML report (grading-results/report.html)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code and never lets a traceback of its own escape."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args and args[0] in COMMANDS:
            return COMMANDS[args[0]].run(args[1:])
        return run(args)
    except UsageError as error:
        print(f"grader: {error}", file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as stop:  # a delegated command's argparse, or --help
        return _exit_code(stop.code)
    except KeyboardInterrupt:
        print("grader: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `python -m grader | head`: the reader left; not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_POINTS_LOST
    except Exception as error:  # noqa: BLE001 - the one place that turns bugs into exit code 3
        print(inert_text(f"internal error in the grader (not your code): {type(error).__name__}: {error}"),
              file=sys.stderr)
        if os.environ.get("GRADER_DEBUG"):
            import traceback

            traceback.print_exc()
        return EXIT_INTERNAL


def _exit_code(code: object) -> int:
    if code is None:
        return EXIT_OK
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return EXIT_USAGE


def run(argv: Sequence[str]) -> int:
    """The grading command itself."""
    args = build_parser().parse_args(argv)
    setup = make_setup(args.root, args.target, args.tests_from)
    exercises = select_exercises(setup, args.exercise)
    if args.classroom and not os.environ.get("GITHUB_OUTPUT"):
        raise UsageError("--classroom writes step outputs: it runs in a GitHub Actions step "
                         "($GITHUB_OUTPUT is not set)")
    paint = Painter(use_colour(args.color, sys.stdout))

    from grader.grading import state

    if args.list:
        statuses = state.statuses(setup.root, setup.target, setup.target_label, exercises)
        sys.stdout.write(render_list(exercises, statuses, paint))
        return EXIT_OK

    progress = None
    if not args.quiet:
        live = bool(getattr(sys.stderr, "isatty", lambda: False)())
        progress = TerminalProgress(sys.stderr, live, Painter(use_colour(args.color, sys.stderr)))
    in_workflow = os.environ.get("GITHUB_ACTIONS") == "true"
    # In a workflow, tampered tests cost their exercises' points; an instructor's --tests-from
    # grades with pristine tests anyway.
    # The release's grading step (--classroom) also needs the manifest: deleting it is tampering.
    report = grade(setup, exercises, progress,
                   enforce_integrity=in_workflow and not args.tests_from,
                   require_manifest=args.classroom)
    if not args.tests_from:  # an instructor grading a checkout leaves it as it was
        state.save(setup.root, setup.target, report, exercises)

    if args.json:
        write_json(report, args.json)
    if args.gradescope:
        write_gradescope(report, args.gradescope)
    tty = bool(getattr(sys.stdout, "isatty", lambda: False)())
    width = shutil.get_terminal_size().columns if tty else PLAIN_WIDTH
    sys.stdout.write(render_table(report, paint, width))
    if in_workflow:
        sys.stdout.write(workflow_commands(report, with_notices=not args.classroom))
        summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if summary:
            append_step_summary(report, Path(summary))
    if not args.no_report and not args.tests_from:
        from grader.formats.html_report import report_and_say_where

        report_and_say_where(report, setup.root)
    if args.classroom:
        write_classroom_outputs(report, exercises, Path(os.environ["GITHUB_OUTPUT"]))
        sys.stdout.flush()
        return EXIT_OK  # the reporter, reading the outputs, passes or fails the job
    sys.stdout.flush()
    return EXIT_OK if report.full_marks else EXIT_POINTS_LOST

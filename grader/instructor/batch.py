"""`python -m grader batch DIR...`: grade a whole class, one student checkout after another.

Each student is graded by this repository's grader (never the copy in their checkout), with
the instructor's tests (`--tests-from`, by default this repository), in a process of its own:
its own session and process group, its own time budget, its output in a log file. When the
budget runs out, or after a normal exit, everything that process started is killed, so a hung,
crashing or fork-happy submission costs its own grade and nothing else. The results are one
CSV row per student and each student's JSON (the grader's `--json`, plus a `batch` section).

Grades here are final, so tampering costs points: an exercise that a changed protected file or
an added loadable file (grader.grading.release_manifest) could affect is not graded and scores 0, with the files
named. Anything that goes wrong with one checkout (a symbolic link out of it, a manifest of the
wrong shape, an unreadable file) becomes that student's row with status `error`; the CSV and
every other student's JSON are always written.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.formats.json_results import exercise_to_json
from grader.grading.release_manifest import MANIFEST_NAME, changed_files
from grader.grading.tampered_exercises import INSTRUCTOR, files_touching, tampered_result
from grader.inert import inert_text
from grader.metadata import REPO_ROOT, Exercise, load_exercises
from grader.process_tree import ProcessTree, become_subreaper, reap_adopted
from grader.sandbox import private_tmp

GRACE_SECONDS = 30.0  # start-up and scoring on top of the exercises' own budgets
POLL_SECONDS = 0.2
CSV_NAME = "grades.csv"

# Outcomes of one student's grading run.
GRADED = "graded"  # the grader finished and wrote its JSON (exit 0 or 1)
TIMEOUT = "timeout"  # the student's time budget ran out; everything was killed
CRASHED = "crashed"  # the grader died (a signal, or no results)
ERROR = "error"  # the checkout could not be graded (not a checkout, usage or internal error)


@dataclass
class Outcome:
    """One student's row: points per exercise, total, and how the run ended."""

    student: str
    path: Path
    status: str
    points: dict[str, float] = field(default_factory=dict)
    total: float = 0.0
    tampered: list[str] | None = None
    returncode: int | None = None
    duration: float = 0.0
    detail: str = ""


# -- one student ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What every student's run shares."""

    exercises: tuple[Exercise, ...]
    tests_from: Path
    manifest: Path | None
    budget: float
    out: Path
    selected: tuple[str, ...] = ()
    every: tuple[Exercise, ...] = ()  # the whole set (info.toml), for what tampering touches

    @property
    def all_exercises(self) -> tuple[Exercise, ...]:
        return self.every or self.exercises


def grader_command(student: Path, results: Path, plan: Plan,
                   names: Sequence[str] | None = None) -> list[str]:
    """This repository's grader, judging the student's exercises/ with the instructor's tests.
    Its working directory is this repository (never the checkout), and its paths are given as
    one argument each."""
    command = [
        sys.executable, "-m", "grader",
        f"--root={student}",
        f"--tests-from={plan.tests_from}",
        f"--json={results}",
        "--quiet", "--color", "never",
    ]  # fmt: skip
    for name in plan.selected if names is None else names:
        command += ["--exercise", name]
    return command


def grader_environment() -> dict[str, str]:
    """Ours, minus what would make the grader act as if on GitHub or load the student's code."""
    env = dict(os.environ)
    for name in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "PYTEST_ADDOPTS", "PYTEST_PLUGINS",
                 "PYTHONSTARTUP"):
        env.pop(name, None)
    env["PYTHONPATH"] = str(REPO_ROOT)
    env["PYTHONIOENCODING"] = "utf-8"
    env["NO_COLOR"] = "1"
    return env


def run_grader(
    command: list[str], log: Path, budget: float, stop: threading.Event
) -> tuple[int | None, bool, float]:
    """Run one grader process in its own session within `budget` seconds, then kill all it
    started. Returns (exit code or None when killed, whether the budget ran out, seconds)."""
    started = time.monotonic()
    flags = subprocess.CREATE_NEW_PROCESS_GROUP if os.name == "nt" else 0  # type: ignore[attr-defined]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,  # so `-m grader` is this grader, never a student's copy
            env=grader_environment(),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=os.name != "nt",
            creationflags=flags,
        )
    tree = ProcessTree(process.pid)
    deadline = started + budget
    timed_out = False
    try:
        while not _exited(process):
            if time.monotonic() >= deadline or stop.is_set():
                timed_out = not stop.is_set()
                break
            tree.observe()
            time.sleep(POLL_SECONDS)
    finally:
        tree.kill()  # before reaping the leader, so its id cannot be reused meanwhile
        process.wait()
    return (None if timed_out else process.returncode), timed_out, time.monotonic() - started


def _exited(process: subprocess.Popen[bytes]) -> bool:
    """Whether the process has ended, without reaping it where the platform allows."""
    if hasattr(os, "waitid"):
        try:
            return (
                os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
            )
        except ChildProcessError:
            return True
    return process.poll() is not None


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("exercises"), list) else None


def _log_tail(log: Path, lines: int = 5) -> str:
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return inert_text(" | ".join(line.strip() for line in text.strip().splitlines()[-lines:]))


def grade_student(name: str, checkout: Path, plan: Plan, stop: threading.Event) -> Outcome:
    """Grade one checkout; never raises for anything the submission does: whatever goes wrong
    with this checkout is its row (status `error`, the reason in words)."""
    outcome = Outcome(name, checkout, ERROR, points={e.name: 0.0 for e in plan.exercises})
    results = plan.out / f"{name}.json"
    log = plan.out / "logs" / f"{name}.log"
    withheld: dict[str, list[str]] = {}
    try:
        results.unlink(missing_ok=True)
        withheld = _grade_checkout(outcome, checkout, plan, results, log, stop)
    except Exception as error:  # noqa: BLE001 - one checkout's trouble is its own row
        outcome.status = ERROR
        outcome.detail = inert_text(f"could not be graded: {type(error).__name__}: {error}")
    if outcome.status != GRADED:
        outcome.points = {e.name: 0.0 for e in plan.exercises}
    outcome.total = round(sum(outcome.points.values()), 2)
    try:
        _write_student_json(results, outcome, plan, withheld)
    except (OSError, TypeError, ValueError) as error:
        outcome.detail = f"{outcome.detail}; its JSON could not be written ({error})".lstrip("; ")
    return outcome


def _grade_checkout(outcome: Outcome, checkout: Path, plan: Plan, results: Path, log: Path,
                    stop: threading.Event) -> dict[str, list[str]]:
    """Check the checkout, grade the exercises no tampering touches; returns the withheld ones
    (exercise name -> the files that cost it its points)."""
    exercises_dir = checkout / "exercises"
    linked = exercises_dir.is_symlink()  # a link out of the checkout: tampering, never followed
    if not linked and not exercises_dir.is_dir():
        outcome.detail = "not a student checkout (no exercises/ folder)"
        return {}
    stubs = [e.stub_file for e in plan.all_exercises]
    outcome.tampered = changed_files(checkout, plan.manifest, stubs)
    if linked:
        outcome.tampered = sorted({*(outcome.tampered or []), "exercises (symbolic link)"})
    withheld = {}
    for exercise in plan.exercises:
        touching = files_touching(exercise, outcome.tampered or [], plan.all_exercises)
        touching += [f"{exercise.stub_file} (not a regular file)"
                     for path in [checkout / exercise.stub_file]
                     if path.is_symlink() or (path.exists() and not path.is_file())]
        if touching:
            withheld[exercise.name] = touching
    if withheld:  # a linked exercise module is tampering even without a manifest
        outcome.tampered = sorted({*(outcome.tampered or []),
                                   *(f for fs in withheld.values() for f in fs)})
    graded = [e.name for e in plan.exercises if e.name not in withheld]
    if not graded:  # nothing left to grade: every exercise is withheld
        outcome.status = GRADED
        return withheld
    code, timed_out, outcome.duration = run_grader(
        grader_command(checkout, results, plan, graded), log, plan.budget, stop
    )
    outcome.returncode = code
    data = _read_json(results)
    if timed_out:
        outcome.status = TIMEOUT
        outcome.detail = f"stopped after its {plan.budget:g} s budget; all its processes killed"
    elif code in (0, 1) and data is not None:
        outcome.status = GRADED
        for exercise in data["exercises"]:
            if exercise.get("name") in outcome.points and exercise["name"] not in withheld:
                outcome.points[exercise["name"]] = float(exercise.get("score") or 0.0)
    elif code in (2, 3):
        outcome.detail = f"grader exit code {code}: {_log_tail(log)}"
    else:
        outcome.status = CRASHED
        outcome.detail = f"grader ended with code {code} and no results: {_log_tail(log)}"
    return withheld


def _write_student_json(path: Path, outcome: Outcome, plan: Plan,
                        withheld: dict[str, list[str]] | None = None) -> None:
    """The grader's JSON as it wrote it (or a stand-in of the same shape), with the exercises
    withheld for tampering in their places, plus `batch`."""
    withheld = withheld or {}
    data = _read_json(path) if outcome.status == GRADED else None
    if data is None and outcome.status == GRADED:  # every exercise withheld: nothing was run
        data = {"version": 1, "target": "exercises", "exercises": []}
    if data is not None:
        graded = {e.get("name"): e for e in data["exercises"] if e.get("name") not in withheld}
        data["exercises"] = [
            exercise_to_json(tampered_result(e, withheld[e.name], INSTRUCTOR))
            if e.name in withheld else graded[e.name]
            for e in plan.exercises if e.name in withheld or e.name in graded
        ]
        data["score"] = round(sum(float(e.get("score") or 0.0) for e in data["exercises"]), 2)
        data["max_score"] = float(sum(e.points for e in plan.exercises))
        data["full_marks"] = data["score"] == data["max_score"]
        data["tampered"] = outcome.tampered
    if data is None:
        data = {
            "version": 1,
            "target": "exercises",
            "score": 0.0,
            "max_score": float(sum(e.points for e in plan.exercises)),
            "full_marks": False,
            "next_exercise": plan.exercises[0].name if plan.exercises else None,
            "tampered": outcome.tampered,
            "exercises": [
                {"name": e.name, "title": e.title, "status": outcome.status, "score": 0.0,
                 "max_score": float(e.points), "message": outcome.detail, "tests": []}
                for e in plan.exercises
            ],
        }  # fmt: skip
    data["batch"] = {
        "student": outcome.student,
        "checkout": str(outcome.path),
        "status": outcome.status,
        "returncode": outcome.returncode,
        "duration": round(outcome.duration, 3),
        "budget": plan.budget,
        "tampered": outcome.tampered,
        "manifest": str(plan.manifest) if plan.manifest else MANIFEST_NAME,
        "tests_from": str(plan.tests_from),
        "detail": outcome.detail,
    }
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


# -- the class --------------------------------------------------------------------------------


def student_names(checkouts: Sequence[Path]) -> list[str]:
    """A file-safe, unique name per checkout: its folder name, numbered when two share one."""
    names: list[str] = []
    for checkout in checkouts:
        folder = Path(os.path.abspath(checkout)).name  # not resolved: a link loop is a row too
        base = re.sub(r"[^A-Za-z0-9._-]+", "_", folder).strip("._") or "student"
        name, number = base, 2
        while name in names:
            name, number = f"{base}-{number}", number + 1
        names.append(name)
    return names


def _points(value: float) -> str:
    return f"{round(value, 2):g}"


def write_csv(path: Path, outcomes: Sequence[Outcome], exercises: Sequence[Exercise]) -> None:
    """student, one column per exercise, total, tampered (yes/no/no manifest), status."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", *(e.name for e in exercises), "total", "tampered", "status"])
        for o in outcomes:
            tampered = "no manifest" if o.tampered is None else ("yes" if o.tampered else "no")
            writer.writerow([
                o.student, *(_points(o.points.get(e.name, 0.0)) for e in exercises),
                _points(o.total), tampered, o.status,
            ])  # fmt: skip


def grade_class(
    checkouts: Sequence[Path], plan: Plan, jobs: int, report: Any = None
) -> list[Outcome]:
    """Grade every checkout, `jobs` at a time; the rows come back in the order given."""
    names = student_names(checkouts)
    (plan.out / "logs").mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    outcomes: list[Outcome | None] = [None] * len(checkouts)
    done = 0
    lock = threading.Lock()

    def one(index: int) -> None:
        nonlocal done
        try:
            path = Path(checkouts[index]).absolute()
        except OSError as error:
            path = Path(checkouts[index])
            outcome = Outcome(names[index], path, ERROR, detail=inert_text(f"could not be graded: {error}"),
                              points={e.name: 0.0 for e in plan.exercises})
        else:
            outcome = grade_student(names[index], path, plan, stop)
        outcomes[index] = outcome
        with lock:
            done += 1
            if report is not None:
                report(done, len(checkouts), outcome)

    executor = ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="grade")
    try:
        futures = [executor.submit(one, i) for i in range(len(checkouts))]
        for future in futures:
            future.result()
    finally:
        stop.set()  # on Ctrl-C: every running grader is killed with its whole family
        executor.shutdown(wait=True, cancel_futures=True)
    return [o for o in outcomes if o is not None]


def _print_progress(done: int, total: int, outcome: Outcome) -> None:
    extra = f" [{outcome.status}]" if outcome.status != GRADED else ""
    flag = " TAMPERED" if outcome.tampered else ""
    print(
        f"[{done}/{total}] {outcome.student}: {_points(outcome.total)} points"
        f"{extra}{flag} ({outcome.duration:.1f} s)",
        file=sys.stderr,
        flush=True,
    )


def parser() -> argparse.ArgumentParser:
    """`python -m grader batch`'s arguments: main()'s keywords, with its defaults."""
    parser = argparse.ArgumentParser(
        prog="python -m grader batch",
        description="Grade many student checkouts; write a CSV and each student's JSON.",
        argument_default=argparse.SUPPRESS,
    )
    parser.add_argument("checkouts", nargs="+", type=Path, metavar="DIR")
    parser.add_argument("--jobs", "-j", type=int, help="students graded at once (1)")
    parser.add_argument("--out", type=Path, help="where to write (grading-results)")
    parser.add_argument(
        "--tests-from", type=Path,
        help="the pristine repository whose tests and info.toml grade (default: this one)",
    )  # fmt: skip
    parser.add_argument(
        "--manifest", type=Path,
        help=f"the release's {MANIFEST_NAME} to check checkouts against (default: the one in "
        "--tests-from if it has one, else each checkout's own)",
    )  # fmt: skip
    parser.add_argument(
        "--budget", type=float,
        help="seconds per student (default: the exercises' budgets plus a margin)",
    )  # fmt: skip
    parser.add_argument("--exercise", action="append", metavar="NAME", help="grade only these")
    return parser


def main(*, checkouts: Sequence[Path], jobs: int = 1, out: Path = Path("grading-results"),
         tests_from: Path = REPO_ROOT, manifest: Path | None = None, budget: float | None = None,
         exercise: Sequence[str] = ()) -> int:
    """Grade the student `checkouts`, `jobs` at a time, into `out` (the CSV and each student's
    JSON), with the tests and info.toml of `tests_from`, checking each checkout against the
    release's `manifest` (default: the one in `tests_from`, else each checkout's own), within
    `budget` seconds per student (default: the exercises' budgets plus a margin), grading only
    the exercises named in `exercise` if any; 0 when every checkout got a row, 2 on a usage error."""
    tests_from = tests_from.resolve()
    try:
        exercises = load_exercises(tests_from / "info.toml")
    except (OSError, KeyError, ValueError) as error:
        print(f"grader batch: --tests-from {tests_from}: {error}", file=sys.stderr)
        return 2
    if exercise:
        unknown = [n for n in exercise if n not in {e.name for e in exercises}]
        if unknown:
            print(f"grader batch: no exercise called {', '.join(unknown)}", file=sys.stderr)
            return 2
        exercises = [e for e in exercises if e.name in exercise]
    if jobs < 1 or (budget is not None and budget <= 0):
        print("grader batch: --jobs and --budget must be positive", file=sys.stderr)
        return 2
    if manifest is None and (tests_from / MANIFEST_NAME).is_file():
        manifest = tests_from / MANIFEST_NAME
    if manifest is not None and not manifest.is_file():
        print(f"grader batch: --manifest {manifest}: no such file", file=sys.stderr)
        return 2
    budget = budget or GRACE_SECONDS + 1.25 * sum(e.timeout for e in exercises)
    out = out.resolve()
    plan = Plan(
        tuple(exercises), tests_from, manifest.resolve() if manifest else None, budget, out,
        tuple(exercise), tuple(load_exercises(tests_from / "info.toml")),
    )  # fmt: skip

    warning = private_tmp.concurrency_warning(jobs)
    if warning:
        print(warning, file=sys.stderr)
    subreaper = become_subreaper()
    try:
        outcomes = grade_class(checkouts, plan, jobs, _print_progress)
    except KeyboardInterrupt:
        print("grader batch: interrupted; every grading process was stopped", file=sys.stderr)
        return 130
    finally:
        if subreaper:
            reap_adopted(running=set())
    csv_path = out / CSV_NAME
    write_csv(csv_path, outcomes, exercises)
    print(f"wrote {csv_path} ({len(outcomes)} students) and each student's JSON in {out}")
    return 0

"""The cheat corpus (selfcheck/cheats): no technique earns a point, on either grading path.

Each cheat is added to the stub of its exercise in a student's checkout of the release. The
checkout is graded as the student would grade it (`python -m grader --exercise NAME`, whose
exit code a workflow step reads) and as the instructor grades a class (`grader batch
--tests-from PRISTINE`, the authoritative CSV). Both must give the exercise 0 points; where the
judge can tell, the report must say the submission interfered.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import signal
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader.metadata import REPO_ROOT, load_exercises
from grader.release import build_release
from selfcheck.release.conftest import run_python

CHEATS_DIR = Path(__file__).resolve().parent / "cheats"
EXERCISES = {e.name: e for e in load_exercises(REPO_ROOT / "info.toml")}


@dataclass(frozen=True)
class Cheat:
    name: str
    exercise: str
    detected: bool
    code: str


def load_cheats() -> list[Cheat]:
    cheats = []
    for path in sorted(CHEATS_DIR.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        header = dict(line[2:].split(": ", 1) for line in text.splitlines() if line.startswith("# ") and ": " in line[:20])
        cheats.append(Cheat(path.stem, header["exercise"].strip(), header.get("detected", "no").strip() == "yes", text))
    return cheats


CHEATS = load_cheats()


def _digest(root: Path) -> dict[str, str]:
    """Hashes of the judge's own files in a checkout: tests, grader, conftest."""
    files = [root / "conftest.py", *sorted((root / "tests").rglob("*.py")), *sorted((root / "grader").rglob("*.py"))]
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files if p.is_file()}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_release(REPO_ROOT, tmp_path_factory.mktemp("pristine") / "release").root


@pytest.fixture(scope="module")
def marker_dir() -> Path:
    """Where the daemon cheat leaves its pid: a place its sandbox may write to."""
    base = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(os.environ.get("TMPDIR", "/tmp"))
    path = base / f"cheat-markers-{uuid.uuid4().hex[:8]}"
    path.mkdir()
    path.chmod(0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def checkout_with(pristine: Path, where: Path, cheat: Cheat) -> Path:
    shutil.copytree(pristine, where)
    module = EXERCISES[cheat.exercise].module
    stub = where / "exercises" / f"{module}.py"
    stub.write_text(stub.read_text(encoding="utf-8") + "\n\n" + cheat.code, encoding="utf-8")
    return where


def daemon_tag() -> str:
    """A process name for the daemon cheat, unique to one grading (CHEAT_TAG)."""
    return f"cd-{uuid.uuid4().hex[:12]}"


def _named(tag: str) -> set[int]:
    """Processes called `tag`: found where the daemon's marker is out of sight (a host's own
    /dev/shm)."""
    found = set()
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == tag:
                found.add(int(comm.parent.name))
        except (OSError, ValueError):
            pass
    return found


def _no_daemon_left(marker: Path, tag: str) -> None:
    pids = _named(tag)
    if marker.exists():
        pids |= {int(p) for p in marker.read_text().split() if p.isdigit()}
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        state = Path(f"/proc/{pid}/stat")
        if state.exists() and state.read_text().rsplit(")", 1)[1].split()[0] == "Z":
            continue
        os.kill(pid, signal.SIGKILL)
        pytest.fail(f"process {pid} left by the cheat outlived the grading")


@dataclass(frozen=True)
class StudentRun:
    """One cheat graded as the student would: the grader's exit code and JSON, what it did to
    the judge's files, and whether it left a process behind."""

    returncode: int
    output: str
    graded: dict
    files_intact: bool
    marker: Path
    tag: str


def grade_as_the_student(cheat: Cheat, pristine: Path, where: Path, marker_dir: Path) -> StudentRun:
    checkout = checkout_with(pristine, where / "student", cheat)
    before = _digest(checkout)
    marker = marker_dir / f"{cheat.name}-student.pid"
    out = where / "results.json"
    tag = daemon_tag()
    done = run_python(["-m", "grader", "--exercise", cheat.exercise, "--json", str(out), "-q", "--no-report"],
                      cwd=checkout, env={"CHEAT_PID_FILE": str(marker), "CHEAT_TAG": tag})
    graded = json.loads(out.read_text())["exercises"][0] if out.exists() else {}
    return StudentRun(done.returncode, done.stdout + done.stderr, graded, _digest(checkout) == before, marker, tag)


@pytest.fixture(scope="module")
def student_runs(pristine: Path, tmp_path_factory: pytest.TempPathFactory, marker_dir: Path) -> dict[str, StudentRun]:
    """Every cheat graded the student's way, two at a time (this machine has two cores)."""
    root = tmp_path_factory.mktemp("cheats")
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = pool.map(lambda c: grade_as_the_student(c, pristine, root / c.name, marker_dir), CHEATS)
        return dict(zip((c.name for c in CHEATS), runs, strict=True))


@pytest.mark.timeout(1800)  # the whole corpus is graded in the first test's setup
@pytest.mark.parametrize("cheat", CHEATS, ids=lambda c: c.name)
def test_cheat_scores_nothing_when_the_student_grades(cheat: Cheat, student_runs: dict[str, StudentRun]) -> None:
    run = student_runs[cheat.name]
    assert run.returncode == 1, run.output  # points were lost: a workflow step fails
    assert run.graded and run.graded["score"] == 0, json.dumps(run.graded, indent=1)[:3000]
    if cheat.detected:
        messages = " ".join(str(t.get("message")) for t in run.graded["tests"])
        assert "interfered" in messages, json.dumps(run.graded, indent=1)[:3000]
    assert run.files_intact, "the cheat changed the judge's files"
    _no_daemon_left(run.marker, run.tag)


@pytest.mark.timeout(1800)
def test_no_cheat_scores_in_the_instructors_batch(pristine: Path, tmp_path: Path, marker_dir: Path) -> None:
    checkouts = [checkout_with(pristine, tmp_path / cheat.name, cheat) for cheat in CHEATS]
    marker = marker_dir / "batch.pid"
    tag = daemon_tag()
    out = tmp_path / "out"
    done = run_python(["-m", "grader", "batch", *map(str, checkouts), "--tests-from", str(pristine),
                       "--out", str(out), "--jobs", "2"], cwd=REPO_ROOT, timeout=1700,
                      env={"CHEAT_PID_FILE": str(marker), "CHEAT_TAG": tag})
    assert done.returncode == 0, done.stdout + done.stderr
    with (out / "grades.csv").open(newline="", encoding="utf-8") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    scored = {c.name: rows[c.name][c.exercise] for c in CHEATS if float(rows[c.name][c.exercise]) != 0}
    assert not scored, f"cheats that earned points: {scored}"
    _no_daemon_left(marker, tag)

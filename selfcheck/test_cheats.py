"""The cheat corpus (selfcheck/cheats): no technique earns a point, on either grading path.

Each cheat is added to the stub of its exercise in a student's checkout of the release: a
`<name>.py` is appended to the stub; a `<name>.toml` may also add files, links, or delete files
anywhere in the checkout (see cheats/README.md). The checkout is graded as the student would
grade it (`python -m grader --exercise NAME`, whose exit code a workflow step reads; in a
workflow's grading step for `workflow = true`) and as the instructor grades a class (`grader
batch --tests-from PRISTINE`, the authoritative CSV; one batch per exercise, `--exercise NAME`, over
the cheats that attack it). Both must give the exercise 0 points;
where the judge can tell, the report must say the submission interfered, or name the files it
added or changed.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
import os
import py_compile
import shutil
import signal
import sys
import tomllib
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from grader.instructor.release import build_release
from grader.instructor.workflow import GRADE_INTERPRETER_OPTIONS
from grader.metadata import REPO_ROOT, load_exercises
from selfcheck.release.conftest import run_python

CHEATS_DIR = Path(__file__).resolve().parent / "cheats"
EXERCISES = {e.name: e for e in load_exercises(REPO_ROOT / "info.toml")}


@dataclass(frozen=True)
class Cheat:
    name: str
    exercise: str
    detected: bool
    code: str
    files: dict[str, str] = field(default_factory=dict)  # path in the checkout -> its new text
    symlinks: dict[str, str] = field(default_factory=dict)  # path in the checkout -> link target
    delete: tuple[str, ...] = ()
    reported: tuple[str, ...] = ()  # names the student's report must carry (tampered files)
    workflow: bool = False  # graded as a workflow's grading step (GITHUB_ACTIONS, --classroom)
    batch_reported: tuple[str, ...] = ()  # names the batch's message must carry (default: reported)
    # path of a source in the checkout -> text compiled into that source's cache file, as
    # bytecode Python loads without checking it against the source
    compiled: dict[str, str] = field(default_factory=dict)

    @property
    def adds_files(self) -> bool:
        return bool(self.files or self.symlinks or self.delete or self.compiled)


def load_cheats() -> list[Cheat]:
    cheats = []
    for path in sorted(CHEATS_DIR.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        header = dict(line[2:].split(": ", 1) for line in text.splitlines() if line.startswith("# ") and ": " in line[:20])
        cheats.append(Cheat(path.stem, header["exercise"].strip(), header.get("detected", "no").strip() == "yes", text))
    for path in sorted(CHEATS_DIR.glob("*.toml")):
        # "{cache_tag}" in a reported name: this interpreter's, as in a cache file's name.
        text = path.read_text(encoding="utf-8").replace("{cache_tag}", sys.implementation.cache_tag)
        data = tomllib.loads(text)
        cheats.append(Cheat(path.stem, data["exercise"], data.get("detected", False), data.get("code", ""),
                            dict(data.get("files", {})), dict(data.get("symlinks", {})),
                            tuple(data.get("delete", ())), tuple(data.get("reported", ())),
                            data.get("workflow", False),
                            tuple(data.get("batch_reported", data.get("reported", ()))),
                            dict(data.get("compiled", {}))))
    return cheats


CHEATS = load_cheats()


def _digest(root: Path) -> dict[str, str]:
    """Hashes of the judge's own files in a checkout: tests, grader, conftest (a link by where
    it points: it is never read through)."""
    files = [root / "conftest.py", *sorted((root / "tests").rglob("*.py")), *sorted((root / "grader").rglob("*.py"))]
    return {str(p.relative_to(root)): os.readlink(p) if p.is_symlink() else hashlib.sha256(p.read_bytes()).hexdigest()
            for p in files if p.is_symlink() or p.is_file()}


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
    if cheat.code:
        stub.write_text(stub.read_text(encoding="utf-8") + "\n\n" + cheat.code, encoding="utf-8")
    for name in cheat.delete:
        (where / name).unlink()
    for name, text in cheat.files.items():
        (where / name).parent.mkdir(parents=True, exist_ok=True)
        (where / name).write_text(text, encoding="utf-8")
    for name, target in cheat.symlinks.items():
        (where / name).parent.mkdir(parents=True, exist_ok=True)
        (where / name).symlink_to(target)
    for name, text in cheat.compiled.items():
        forged = where.parent / f"{where.name}-forged.py"
        forged.write_text(text, encoding="utf-8")
        cache = importlib.util.cache_from_source(str(where / name))
        py_compile.compile(str(forged), cfile=cache, dfile=str(where / name), doraise=True,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
        forged.unlink()
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
    tampered: list[str] | None = None


def grade_as_the_student(cheat: Cheat, pristine: Path, where: Path, marker_dir: Path) -> StudentRun:
    checkout = checkout_with(pristine, where / "student", cheat)
    before = _digest(checkout)
    marker = marker_dir / f"{cheat.name}-student.pid"
    out = where / "results.json"
    tag = daemon_tag()
    env = {"CHEAT_PID_FILE": str(marker), "CHEAT_TAG": tag}
    extra = []
    if cheat.workflow:  # the release's grading step: `python -m grader --classroom` on GitHub
        env.update(GITHUB_ACTIONS="true", GITHUB_OUTPUT=str(where / "github-output"))
        extra = ["--classroom"]
    # With the interpreter's options of the release's grading step.
    done = run_python([*GRADE_INTERPRETER_OPTIONS, "-m", "grader", "--exercise", cheat.exercise, "--json",
                       str(out), "-q", "--no-report", *extra], cwd=checkout, env=env)
    data = json.loads(out.read_text()) if out.exists() else {}
    graded = data["exercises"][0] if data else {}
    return StudentRun(done.returncode, done.stdout + done.stderr, graded, _digest(checkout) == before, marker,
                      tag, data.get("tampered"))


@pytest.fixture(scope="module")
def student_runs(request: pytest.FixtureRequest, pristine: Path, tmp_path_factory: pytest.TempPathFactory,
                 marker_dir: Path) -> dict[str, StudentRun]:
    """Every selected cheat graded the student's way, two at a time (this machine has two cores)."""
    root = tmp_path_factory.mktemp("cheats")
    selected = {item.callspec.params["cheat"].name for item in request.session.items
                if hasattr(item, "callspec") and "cheat" in item.callspec.params}
    cheats = [c for c in CHEATS if c.name in selected]
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = pool.map(lambda c: grade_as_the_student(c, pristine, root / c.name, marker_dir), cheats)
        return dict(zip((c.name for c in cheats), runs, strict=True))


@pytest.mark.timeout(1800)  # the whole corpus is graded in the first test's setup
@pytest.mark.parametrize("cheat", CHEATS, ids=lambda c: c.name)
def test_cheat_scores_nothing_when_the_student_grades(cheat: Cheat, student_runs: dict[str, StudentRun]) -> None:
    run = student_runs[cheat.name]
    # Points were lost: a workflow step fails (the grading step's reporter reads the outputs).
    assert run.returncode == (0 if cheat.workflow else 1), run.output
    assert run.graded and run.graded["score"] == 0, json.dumps(run.graded, indent=1)[:3000]
    if cheat.detected:
        messages = " ".join(str(t.get("message")) for t in run.graded["tests"])
        assert "interfered" in messages, json.dumps(run.graded, indent=1)[:3000]
    for name in cheat.reported:  # named as tampering, in the report and (workflow) the message
        assert name in (run.tampered or []), (run.tampered, run.output[-2000:])
        if cheat.workflow:
            assert name in run.graded["message"], run.graded["message"]
    assert run.files_intact, "the cheat changed the judge's files"
    _no_daemon_left(run.marker, run.tag)


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("family", ["in_the_stub", "added_files"])
def test_no_cheat_scores_in_the_instructors_batch(family: str, pristine: Path, tmp_path: Path,
                                                  marker_dir: Path) -> None:
    """One batch per family and exercise: code appended to a stub (`.py`), and files added to
    the checkout (`.toml`), which the batch withholds as tampering without running them. Each
    batch grades only the exercise its cheats attack (`--exercise`): the other exercises of a
    checkout are untouched stubs, whose failing is the suites' business (test_suites_judge.py)."""
    cheats = [c for c in CHEATS if (family == "added_files") == c.adds_files]
    assert cheats
    rows: dict[str, dict[str, str]] = {}
    outs: dict[str, Path] = {}
    for exercise in sorted({c.exercise for c in cheats}):
        attacking = [c for c in cheats if c.exercise == exercise]
        checkouts = [checkout_with(pristine, tmp_path / cheat.name, cheat) for cheat in attacking]
        marker = marker_dir / f"batch-{exercise}.pid"
        tag = daemon_tag()
        out = tmp_path / f"out-{exercise}"
        done = run_python(["-m", "grader", "batch", *map(str, checkouts), "--tests-from", str(pristine),
                           "--out", str(out), "--jobs", "2", "--exercise", exercise], cwd=REPO_ROOT,
                          timeout=1700, env={"CHEAT_PID_FILE": str(marker), "CHEAT_TAG": tag})
        assert done.returncode == 0, done.stdout + done.stderr
        with (out / "grades.csv").open(newline="", encoding="utf-8") as handle:
            graded = {row["student"]: row for row in csv.DictReader(handle)}
        assert set(graded) == {c.name for c in attacking}, graded
        rows.update(graded)
        outs.update({c.name: out for c in attacking})
        _no_daemon_left(marker, tag)
    scored = {c.name: rows[c.name][c.exercise] for c in cheats if float(rows[c.name][c.exercise]) != 0}
    assert not scored, f"cheats that earned points: {scored}"
    for cheat in cheats:
        if cheat.batch_reported:  # withheld as tampering, the files named
            row = json.loads((outs[cheat.name] / f"{cheat.name}.json").read_text(encoding="utf-8"))
            (graded,) = [e for e in row["exercises"] if e["name"] == cheat.exercise]
            assert rows[cheat.name]["tampered"] == "yes", rows[cheat.name]
            for name in cheat.batch_reported:
                assert name in graded["message"], graded["message"]

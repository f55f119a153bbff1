"""`python -m grader batch`: a class of checkouts in, the right CSV out, nothing left running.

Every check runs the batch as a separate process, as an instructor would. The class is made
from a release: stubs, solutions, a half-done submission, one with edited tests, one that kills
its grader, one that is not a checkout at all, and one that hangs with a child process and a
daemon that left its session.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import pytest

from grader import cli
from grader.grading.release_manifest import MANIFEST_NAME
from grader.instructor import batch
from grader.instructor.release import build_release
from grader.metadata import REPO_ROOT, load_exercises
from grader.sandbox import landlock
from selfcheck.suite_runs import Variant, load_variants

from .conftest import real_repo_complete, run_python

POSIX = os.name == "posix"
KILL_REFUSED = landlock.abi_version() >= 6  # signals beyond a student host's sandbox


@pytest.fixture(scope="module")
def pristine(fixture_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The instructor's pristine release: its tests grade, its manifest is the reference."""
    return build_release(fixture_repo, tmp_path_factory.mktemp("pristine") / "release").root


def checkout(pristine: Path, where: Path, **modules: str) -> Path:
    """A student's checkout: the release with some exercise files replaced."""
    shutil.copytree(pristine, where)
    for module, text in modules.items():
        (where / "exercises" / f"{module}.py").write_text(textwrap.dedent(text), encoding="utf-8")
    return where


def run_batch(args: list[str], cwd: Path, timeout: float = 240) -> tuple[int, float, str]:
    started = time.monotonic()
    done = run_python(["-m", "grader", "batch", *args], cwd=cwd, timeout=timeout)
    return done.returncode, time.monotonic() - started, done.stdout + done.stderr


def read_csv(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


def processes_named(tag: str) -> dict[str, int]:
    """Kind -> pid of the live processes called "<tag>-<kind>" (Linux)."""
    found = {}
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            name = comm.read_text().strip()
        except OSError:
            continue
        if name.startswith(f"{tag}-"):
            found[name.split("-", 1)[1]] = int(comm.parent.name)
    return found


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent counts as gone)."""
    if Path("/proc/self/stat").exists():
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            return state not in ("Z", "X")
        except (OSError, IndexError):
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


SOLVED_ADDER = """\
    def add(a, b):
        return a + b
    """

SOLVED_TOTAL = """\
    from multiprocessing import Lock, Process, RawValue


    def work(total, lock, n):
        with lock:
            total.value += n


    def run(values):
        total = RawValue("q", 0)
        lock = Lock()
        processes = [Process(target=work, args=(total, lock, v)) for v in values]
        for p in processes:
            p.start()
        for p in processes:
            p.join()
        return total.value
    """

KILLS_ITS_GRADER = """\
    import os
    import signal

    # At import: kill the process above it (its student host's parent, the judge; Landlock
    # refuses where the kernel has it). Either way it costs this student their own points only.
    try:
        os.kill(os.getppid(), getattr(signal, "SIGKILL", signal.SIGTERM))
    except OSError:
        pass


    def add(a, b):
        return a + b
    """

HANGS = """\
    import ctypes
    import os
    import time
    from multiprocessing import Process

    PIDS = {pids!r}
    TAG = {tag!r}


    def _record(kind):
        # Named for the self-check, which cannot see this host's own /dev/shm where it has one.
        try:
            ctypes.CDLL(None).prctl(15, f"{{TAG}}-{{kind}}".encode(), 0, 0, 0)  # PR_SET_NAME
        except AttributeError:  # no prctl: not Linux, whose /dev/shm is shared anyway
            pass
        try:
            open(os.path.join(PIDS, f"{{kind}}-{{os.getpid()}}"), "w").close()
        except OSError:  # out of this host's sight: its /dev/shm is its own
            pass


    def _forever(kind):
        _record(kind)
        while True:
            time.sleep(0.5)


    def _escape():
        # Double fork and a new session: out of the grader's session and process group.
        first = os.fork()
        if first == 0:
            os.setsid()
            if os.fork() == 0:
                _forever("daemon")
            os._exit(0)
        os.waitpid(first, 0)


    def add(a, b):
        _record("suite")
        _escape()
        child = Process(target=_forever, args=("child",))
        child.start()
        child.join()
        return a + b
    """


@pytest.mark.slow
def test_batch_over_a_class_writes_the_right_csv(pristine: Path, tmp_path: Path) -> None:
    students = tmp_path / "class"
    stubs = checkout(pristine, students / "stubs")
    solved = checkout(pristine, students / "solved", adder=SOLVED_ADDER, shared_total=SOLVED_TOTAL)
    half = checkout(pristine, students / "half", adder=SOLVED_ADDER)
    cheat = checkout(pristine, students / "cheat")
    (cheat / "tests/test_adder.py").write_text("def test_adds():\n    pass\n", encoding="utf-8")
    (cheat / MANIFEST_NAME).unlink()  # covering their tracks does not help
    crash = checkout(pristine, students / "crash", adder=KILLS_ITS_GRADER)
    empty = students / "empty"
    empty.mkdir()
    out = tmp_path / "results"

    order = [stubs, solved, half, cheat, crash, empty]
    code, seconds, output = run_batch(
        [*map(str, order), "--jobs", "2", "--out", str(out), "--tests-from", str(pristine),
         "--budget", "90"],
        cwd=tmp_path,
    )  # fmt: skip
    assert code == 0, output
    rows = read_csv(out / batch.CSV_NAME)
    assert list(rows) == ["stubs", "solved", "half", "cheat", "crash", "empty"]
    table = {
        name: (row["adder"], row["shared_total"], row["total"], row["tampered"], row["status"])
        for name, row in rows.items()
    }
    assert table == {
        "stubs": ("0", "0", "0", "no", "graded"),
        "solved": ("6", "4", "10", "no", "graded"),
        "half": ("6", "0", "6", "no", "graded"),
        "cheat": ("0", "0", "0", "yes", "graded"),
        # Its add() is right: where the kernel refuses the kill (Landlock), it earns those points;
        # elsewhere the judge dies and the exercise scores 0. The batch goes on either way.
        "crash": ("6", "0", "6", "no", "graded") if KILL_REFUSED else ("0", "0", "0", "no", "graded"),
        "empty": ("0", "0", "0", "no manifest", "error"),
    }, output

    for name in rows:
        data = json.loads((out / f"{name}.json").read_text(encoding="utf-8"))
        assert data["version"] == 1 and data["batch"]["student"] == name
        assert sum(e["score"] for e in data["exercises"]) == float(rows[name]["total"])
    cheat_json = json.loads((out / "cheat.json").read_text(encoding="utf-8"))
    assert cheat_json["batch"]["tampered"] == ["tests/test_adder.py"]
    solved_json = json.loads((out / "solved.json").read_text(encoding="utf-8"))
    assert solved_json["full_marks"] is True and solved_json["score"] == 10
    print(f"batch of {len(order)} students took {seconds:.1f} s")


@pytest.mark.slow
@pytest.mark.skipif(not POSIX, reason="the hanging submission forks by hand")
def test_a_hung_submission_is_killed_with_everything_it_started(
    pristine: Path, tmp_path: Path
) -> None:
    # Where the hung submission records its processes: a place its sandbox may write to.
    shm = Path("/dev/shm")
    pids = Path(tempfile.mkdtemp(prefix="batch-pids-", dir=shm if shm.is_dir() else tmp_path))
    pids.chmod(0o777)
    tag = f"h{os.getpid() % 100000}"  # the processes' names: "<tag>-suite", "<tag>-child", ...
    hung = checkout(pristine, tmp_path / "hung", adder=HANGS.format(pids=str(pids), tag=tag))
    solved = checkout(pristine, tmp_path / "after", adder=SOLVED_ADDER, shared_total=SOLVED_TOTAL)
    out = tmp_path / "results"
    budget = 15.0  # shorter than the exercise's own 20 s: the batch, not the grader, stops it

    named: dict[str, int] = {}
    result: list[tuple[int, float, str]] = []
    batch_run = threading.Thread(target=lambda: result.append(run_batch(
        [str(hung), str(solved), "--out", str(out), "--tests-from", str(pristine),
         "--budget", str(budget)],
        cwd=tmp_path,
    )))  # fmt: skip
    batch_run.start()
    while batch_run.is_alive():  # the hung processes live until the budget ends: seen here
        named.update(processes_named(tag))
        time.sleep(0.1)
    batch_run.join()
    code, seconds, output = result[0]
    assert code == 0, output
    rows = read_csv(out / batch.CSV_NAME)
    assert (rows["hung"]["status"], rows["hung"]["total"]) == ("timeout", "0")
    assert (rows["after"]["status"], rows["after"]["total"]) == ("graded", "10"), output
    assert seconds < 2 * budget + 30, "the hung student held up the batch"

    started = {p.name.split("-")[0]: int(p.name.split("-")[1]) for p in pids.iterdir()} | named
    assert {"suite", "child", "daemon"} <= started.keys(), started
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(alive(pid) for pid in started.values()):
        time.sleep(0.1)
    survivors = {kind: pid for kind, pid in started.items() if alive(pid)}
    for pid in survivors.values():  # never leave them behind, even when the check fails
        os.kill(pid, signal.SIGKILL)
    shutil.rmtree(pids, ignore_errors=True)
    if not sys.platform.startswith("linux"):
        survivors.pop("daemon", None)  # only Linux lets the batch adopt one that left its session
    assert survivors == {}


@pytest.mark.skipif(not POSIX, reason="symbolic links")
def test_broken_checkouts_are_their_own_rows_and_harmless_files_cost_nothing(
        pristine: Path, tmp_path: Path) -> None:
    """Each checkout's own manifest is the reference (the instructor's has none): a link out of
    the checkout, a manifest of the wrong shape, exercises/ as a link, and loadable files added
    each cost that student alone; the CSV has every row, and notes cost nothing."""
    reference = tmp_path / "reference"
    shutil.copytree(pristine, reference)
    (reference / MANIFEST_NAME).unlink()  # so that each checkout's own manifest is read
    students = tmp_path / "class"
    solved = checkout(pristine, students / "solved", adder=SOLVED_ADDER, shared_total=SOLVED_TOTAL)
    (solved / "notes.txt").write_text("what I learnt\n", encoding="utf-8")
    (solved / "exercises" / "scratch.md").write_text("# scratch\n", encoding="utf-8")
    linked = checkout(pristine, students / "linked", adder=SOLVED_ADDER)
    (linked / "tests" / "zz_data.py").symlink_to("/proc/self/mem")
    listed = checkout(pristine, students / "listed", adder=SOLVED_ADDER)
    (listed / MANIFEST_NAME).write_text("[]", encoding="utf-8")
    elsewhere = checkout(pristine, students / "elsewhere")
    shutil.rmtree(elsewhere / "exercises")
    (elsewhere / "exercises").symlink_to(solved / "exercises", target_is_directory=True)
    added = checkout(pristine, students / "added", adder=SOLVED_ADDER, shared_total=SOLVED_TOTAL)
    (added / "tests" / "test_shared_total.py").write_text("def test_x():\n    pass\n")
    (added / "exercises" / "helper.py").write_text("X = 1\n", encoding="utf-8")
    out = tmp_path / "results"
    order = [solved, linked, listed, elsewhere, added]
    code, _, output = run_batch(
        [*map(str, order), "--jobs", "2", "--out", str(out), "--tests-from", str(reference)],
        cwd=tmp_path)
    assert code == 0, output
    rows = read_csv(out / batch.CSV_NAME)
    table = {name: (row["adder"], row["shared_total"], row["tampered"], row["status"])
             for name, row in rows.items()}
    assert table == {
        "solved": ("6", "4", "no", "graded"),
        "linked": ("0", "0", "yes", "graded"),
        "listed": ("0", "0", "yes", "graded"),
        "elsewhere": ("0", "0", "yes", "graded"),
        # exercises/helper.py could be imported by either exercise; the edited suite is adder's
        # neighbour's: both exercises are withheld.
        "added": ("0", "0", "yes", "graded"),
    }, output
    messages = {name: " ".join(e["message"] for e in json.loads(
        (out / f"{name}.json").read_text(encoding="utf-8"))["exercises"]) for name in rows}
    assert "tests/zz_data.py (symbolic link)" in messages["linked"]
    assert MANIFEST_NAME in messages["listed"]
    assert "exercises (symbolic link)" in messages["elsewhere"]
    assert "exercises/helper.py" in messages["added"]
    assert "tests/test_shared_total.py" in messages["added"]
    assert not (out / "logs" / "linked.log").exists(), "a withheld checkout is not run at all"


def test_anything_that_goes_wrong_with_one_checkout_is_its_row(
        pristine: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> list[str]:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(batch, "changed_files", broken)
    exercises = tuple(load_exercises(pristine / "info.toml"))
    (tmp_path / "out").mkdir()
    plan = batch.Plan(exercises, pristine, None, 10.0, tmp_path / "out")
    student = checkout(pristine, tmp_path / "bob")
    outcome = batch.grade_student("bob", student, plan, batch.threading.Event())
    assert (outcome.status, outcome.total) == (batch.ERROR, 0.0)
    assert "Input/output error" in outcome.detail
    data = json.loads((tmp_path / "out" / "bob.json").read_text(encoding="utf-8"))
    assert data["batch"]["status"] == "error" and "Input/output error" in data["batch"]["detail"]


def test_unknown_exercise_and_bad_options_are_usage_errors(pristine: Path, tmp_path: Path) -> None:
    for args in (
        ["--exercise", "nope", "--tests-from", str(pristine)],
        ["--jobs", "0"],
        ["--tests-from", str(tmp_path)],
        ["--manifest", str(tmp_path / "missing.json")],
    ):
        assert cli.main(["batch", str(tmp_path), "--out", str(tmp_path / "o"), *args]) == 2
    assert not (tmp_path / "o").exists()


def test_student_names_are_unique_and_file_safe(tmp_path: Path) -> None:
    paths = [tmp_path / "a" / "alice", tmp_path / "b" / "alice", tmp_path / "bob smith!"]
    assert batch.student_names(paths) == ["alice", "alice-2", "bob_smith"]


def test_grader_command_uses_this_grader_and_the_pristine_tests(tmp_path: Path) -> None:
    exercises = tuple(load_exercises())
    plan = batch.Plan(exercises, REPO_ROOT, None, 10.0, tmp_path, ("shared_value",))
    command = batch.grader_command(tmp_path / "alice", tmp_path / "alice.json", plan)
    assert command[:3] == [sys.executable, "-m", "grader"]
    # Paths as one argument each: a path is never read as an option or a test path.
    assert f"--root={tmp_path / 'alice'}" in command
    assert f"--tests-from={REPO_ROOT}" in command
    assert command[command.index("--exercise") + 1] == "shared_value"
    assert batch.grader_environment()["PYTHONPATH"] == str(REPO_ROOT)


def failing_variants(module: str) -> list[Variant]:
    """The self-check's variants of a module that must lose points."""
    return [v for v in load_variants(REPO_ROOT) if v.module == module and v.expect == "fail"]


@pytest.mark.slow
@pytest.mark.skipif(not real_repo_complete(), reason="the exercise set is not complete yet")
def test_batch_over_the_real_exercise_set(tmp_path: Path) -> None:
    """Stubs lose points, solutions earn them all, a buggy variant loses its exercise's.

    Two exercises (the quickest ones that have failing variants) keep this within seconds; the
    whole set is graded against stubs and solutions by `python -m grader check`.
    """
    release = build_release(REPO_ROOT, tmp_path / "release").root
    every = load_exercises(REPO_ROOT / "info.toml")
    exercises = sorted((e for e in every if failing_variants(e.module)), key=lambda e: e.timeout)
    exercises = [e for e in every if e in exercises[:2]]
    assert exercises, "selfcheck/variants has no failing variant to grade"
    stubs = checkout(release, tmp_path / "class" / "stubs")
    solved = checkout(release, tmp_path / "class" / "solved")
    for e in every:
        shutil.copy2(REPO_ROOT / "solutions" / f"{e.module}.py", solved / e.stub_file)
    variants = []
    for e in exercises:
        variant = failing_variants(e.module)[0]
        student = checkout(solved, tmp_path / "class" / f"{e.module}-{variant.name}")
        (student / e.stub_file).write_text(variant.source(), encoding="utf-8")
        variants.append((student.name, e))
    out = tmp_path / "results"
    selected = [arg for e in exercises for arg in ("--exercise", e.name)]
    code, seconds, output = run_batch(
        [str(stubs), str(solved), *(str(tmp_path / "class" / n) for n, _ in variants),
         "--jobs", "2", "--out", str(out), "--tests-from", str(release), *selected],
        cwd=tmp_path, timeout=900,
    )  # fmt: skip
    assert code == 0, output
    rows = read_csv(out / batch.CSV_NAME)
    assert list(rows["solved"]) == [
        "student",
        *(e.name for e in exercises),
        "total",
        "tampered",
        "status",
    ]
    assert [(r["status"], r["tampered"]) for r in rows.values()] == [("graded", "no")] * 4, rows
    assert float(rows["solved"]["total"]) == sum(e.points for e in exercises), rows["solved"]
    for e in exercises:
        assert float(rows["stubs"][e.name]) < e.points, rows["stubs"]
    for name, buggy in variants:
        assert float(rows[name][buggy.name]) < buggy.points, rows[name]
        assert all(float(rows[name][e.name]) == e.points for e in exercises if e != buggy)
    print(f"batch over {len(rows)} real checkouts took {seconds:.1f} s")


@pytest.mark.parametrize("private", [True, False], ids=["private mounts", "shared /dev/shm"])
def test_jobs_above_one_warn_where_gradings_would_share_dev_shm(
    private: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from grader.sandbox import private_tmp

    monkeypatch.setattr(private_tmp, "supported", lambda: private)
    (tmp_path / "not-a-checkout").mkdir()
    for jobs in (1, 2):
        args = [str(tmp_path / "not-a-checkout"), "--out", str(tmp_path / f"o{jobs}"), "--jobs", str(jobs)]
        assert cli.main(["batch", *args]) == 0
        warned = "warning: --jobs 2 grades students at once in a shared /dev/shm" in capsys.readouterr().err
        assert warned == (jobs == 2 and not private)


def test_a_hostile_message_reaches_no_log_csv_or_json_raw(pristine: Path, tmp_path: Path) -> None:
    hostile = "\x1b]0;pwned\x07\x1b[2J\x1b[32m10/10 passed\x1b[0m\r"
    student = checkout(pristine, tmp_path / "student", adder=f"""\
        def add(a, b):
            raise ValueError({hostile!r})
        """)
    out = tmp_path / "results"
    code, _, output = run_batch([str(student), "--out", str(out), "--tests-from", str(pristine)], cwd=tmp_path)
    assert code == 0, output
    raw = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
    written = [out / batch.CSV_NAME, out / "student.json", out / "logs" / "student.log"]
    for path in written:
        text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
        assert not raw.search(text), f"a raw control character in {path.name}"
    assert "\\x1b[2J" in (out / "student.json").read_text(encoding="utf-8")


HUNTS_SEMAPHORES = """

import _multiprocessing as _mp
import os as _os
import threading as _threading
import time as _time


def _hunt():
    # Open every named semaphore in /dev/shm and take it for good: another grading's locks too,
    # wherever /dev/shm is shared.
    seen, taken = set(), []
    while True:
        try:
            names = _os.listdir("/dev/shm")
        except OSError:
            names = []
        for name in names:
            if name.startswith("sem.mp-") and name not in seen:
                seen.add(name)
                try:
                    semaphore = _mp.SemLock._rebuild(0, 1, 1, "/" + name[4:])
                except OSError:
                    continue
                if semaphore.acquire(False):
                    taken.append(semaphore)
        _time.sleep(0.002)


_threading.Thread(target=_hunt, daemon=True).start()


def run(*args, **kwargs):  # keeps its host, and the hunt, alive for the whole grading
    _time.sleep(1000)
"""


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.skipif(not real_repo_complete(), reason="needs this repository's exercise set")
def test_a_submission_that_takes_every_semaphore_costs_its_neighbour_nothing(tmp_path: Path) -> None:
    from grader.sandbox import private_tmp

    if not private_tmp.supported():
        pytest.skip("without private /dev/shm, --jobs 2 warns that gradings share it")
    release = build_release(REPO_ROOT, tmp_path / "release").root
    honest, hostile = tmp_path / "honest", tmp_path / "hostile"
    for where in (honest, hostile):
        shutil.copytree(release, where)
    shutil.copy2(REPO_ROOT / "solutions" / "locked_increment.py", honest / "exercises")
    stub = hostile / "exercises" / "locked_increment.py"
    stub.write_text(stub.read_text(encoding="utf-8") + HUNTS_SEMAPHORES, encoding="utf-8")
    out = tmp_path / "out"
    code, _, output = run_batch([str(hostile), str(honest), "--out", str(out), "--tests-from", str(REPO_ROOT),
                                 "--exercise", "locked_increment", "--jobs", "2"], cwd=tmp_path, timeout=800)
    assert code == 0, output
    rows = read_csv(out / batch.CSV_NAME)
    assert set(rows) == {"honest", "hostile"}
    assert rows["honest"]["locked_increment"] == "25", json.dumps(
        json.loads((out / "honest.json").read_text(encoding="utf-8"))["exercises"][0]["tests"], indent=1)[:3000]
    assert float(rows["hostile"]["locked_increment"]) == 0

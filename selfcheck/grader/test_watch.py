"""`python -m grader watch`: the loop with stand-ins for every part (what it does on a save, a
result, a key, Ctrl-C), its parts one by one, and the whole thing in a student template with
real saves and real gradings: a wrong fix fails, the right one moves on to the next exercise."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from grader.formats.colour import Painter
from grader.formats.json_results import exercise_to_json
from grader.grading import state
from grader.grading.grade import make_setup, select_exercises
from grader.grading.results import FAILED, PASSED, ExerciseResult, TestResult
from grader.instructor.release import build_release
from grader.metadata import REPO_ROOT, Exercise
from grader.watch.changes import SavePoller
from grader.watch.command import make_watcher
from grader.watch.core import Watcher
from grader.watch.jobs import CANCEL_WAIT, SUITE_STOP_WAIT, result_from_json
from grader.watch.keys import NoKeys, open_keys
from grader.watch.screen import TerminalScreen

ONE = Exercise("one", "one", "The first", 10, 30, hints=("first hint", "second hint"))
TWO = Exercise("two", "two", "The second", 10, 30)
THREE = Exercise("three", "three", "The third", 10, 30)


def result(exercise: Exercise, passed: bool) -> ExerciseResult:
    return ExerciseResult(
        exercise.name, exercise.title, PASSED if passed else FAILED, 10.0 if passed else 0.0,
        10.0, message="" if passed else "run(4, 10) returned 31, not 40.\nRule S1 (x.md): It adds.",
        file=None if passed else f"exercises/{exercise.module}.py", line=None if passed else 12)


class FakeJob:
    def __init__(self, exercise: Exercise) -> None:
        self.exercise = exercise
        self.outcome: ExerciseResult | None = None
        self.stopping = False  # stop() was called
        self.over = False  # what stopped() answers
        self.cancelled = False  # cancel() was called: stopped and waited for

    def poll(self) -> ExerciseResult | None:
        return self.outcome

    def stop(self) -> None:
        self.stopping = True

    def stopped(self) -> bool:
        return self.over

    def cancel(self) -> None:
        self.stopping = self.cancelled = self.over = True


class FakeSaves:
    def __init__(self) -> None:
        self.pending: list[str] = []

    def poll(self) -> list[str]:
        saved, self.pending = self.pending, []
        return saved


class FakeKeys:
    interactive = True

    def __init__(self) -> None:
        self.pending: list[str | type[BaseException]] = []

    def read(self, timeout: float) -> str | None:
        if not self.pending:
            return None
        key = self.pending.pop(0)
        if isinstance(key, type):
            raise key()
        return key


class RecordingScreen(TerminalScreen):
    """The terminal screen, writing to a string, that also records what it was told."""

    def __init__(self) -> None:
        super().__init__(io.StringIO(), Painter(False), live=False)
        self.events: list[tuple] = []

    def grading(self, exercise: Exercise, why: str) -> None:
        self.events.append(("grading", exercise.name, why))
        super().grading(exercise, why)

    def result(self, exercise: Exercise, result: ExerciseResult, position: int, total: int,
               interactive: bool) -> None:
        self.events.append(("result", exercise.name, result))
        super().result(exercise, result, position, total, interactive)

    def hints(self, exercise: Exercise, shown: Sequence[str], more: bool) -> None:
        self.events.append(("hints", exercise.name, tuple(shown)))
        super().hints(exercise, shown, more)

    def moved(self, done: Exercise, nxt: Exercise) -> None:
        self.events.append(("moved", done.name, nxt.name))
        super().moved(done, nxt)

    def all_done(self, total: int) -> None:
        self.events.append(("all done",))
        super().all_done(total)

    def note(self, text: str) -> None:
        self.events.append(("note", text))
        super().note(text)

    @property
    def text(self) -> str:
        return self.stream.getvalue()  # type: ignore[attr-defined]

    def results(self) -> list[ExerciseResult]:
        return [event[2] for event in self.events if event[0] == "result"]


def fake_watcher(passed: set[str] | None = None) -> tuple[Watcher, list[FakeJob], FakeSaves,
                                                          FakeKeys, RecordingScreen]:
    jobs: list[FakeJob] = []

    def start(exercise: Exercise) -> FakeJob:
        jobs.append(FakeJob(exercise))
        return jobs[-1]

    saves, keys, screen = FakeSaves(), FakeKeys(), RecordingScreen()
    return Watcher([ONE, TWO, THREE], start, saves, keys, screen, passed=passed), jobs, saves, keys, screen


# -- the loop, with stand-ins -------------------------------------------------------------------

def test_it_starts_with_the_first_exercise_not_at_full_marks() -> None:
    watcher, jobs, *_ = fake_watcher(passed={"one"})
    watcher.begin()
    assert [job.exercise for job in jobs] == [TWO] and watcher.current == TWO


def test_a_save_while_grading_cancels_the_grading_and_grades_the_saved_exercise() -> None:
    watcher, jobs, saves, _, screen = fake_watcher()
    watcher.begin()
    saves.pending = ["three"]
    watcher.step()
    assert [(job.exercise, job.stopping) for job in jobs] == [(ONE, True), (THREE, False)]
    assert watcher.current == THREE and watcher.job is jobs[1]
    assert screen.events[-1] == ("grading", "three", "exercises/three.py was saved")
    assert watcher.stopping == [jobs[0]]  # tearing down while the new grading runs
    jobs[0].over = True
    watcher.step()
    assert watcher.stopping == [] and not jobs[0].cancelled  # nobody waited for it
    saves.pending = ["not_an_exercise"]
    watcher.step()
    assert len(jobs) == 2  # other files in exercises/ are not graded


def test_a_failure_shows_its_line_and_rule_and_full_marks_moves_on() -> None:
    watcher, jobs, _, _, screen = fake_watcher()
    watcher.begin()
    jobs[0].outcome = result(ONE, passed=False)
    watcher.step()
    assert watcher.job is None and watcher.current == ONE
    assert "First thing to fix: exercises/one.py:12" in screen.text
    assert "Rule S1 (x.md): It adds." in screen.text and "0/10 points  failed" in screen.text
    watcher.on_saved("one")
    jobs[1].outcome = result(ONE, passed=True)
    watcher.step()
    assert ("moved", "one", "two") in screen.events and watcher.current == TWO
    assert jobs[-1].exercise == TWO and not jobs[-1].cancelled  # the next one is being graded
    jobs[-1].outcome = result(TWO, passed=True)
    watcher.step()
    assert ("moved", "two", "three") in screen.events
    jobs[-1].outcome = result(THREE, passed=True)
    watcher.step()
    assert screen.events[-1] == ("all done",) and watcher.job is None


def test_keys_hint_one_at_a_time_rerun_next_and_quit() -> None:
    watcher, jobs, _, keys, screen = fake_watcher()
    watcher.begin()
    keys.pending = ["h"]
    watcher.step()
    keys.pending = ["h"]
    watcher.step()
    keys.pending = ["h"]
    watcher.step()
    hints = [event for event in screen.events if event[0] == "hints"]
    assert [event[2] for event in hints] == [("first hint",), ("first hint", "second hint"),
                                             ("first hint", "second hint")]
    keys.pending = ["r"]
    watcher.step()
    assert [job.exercise for job in jobs] == [ONE, ONE] and jobs[0].stopping
    keys.pending = ["n"]
    watcher.step()
    assert jobs[-1].exercise == TWO and watcher.current == TWO
    keys.pending = ["x"]
    watcher.step()
    assert screen.events[-1] == ("note", "Keys: h hint, r grade again, n next exercise, q quit.")
    keys.pending = ["\x1b"]  # the start of an arrow key: nothing to say
    watcher.step()
    assert len([event for event in screen.events if event[0] == "note"]) == 1
    keys.pending = ["q"]
    watcher.run()  # begins again, then reads q
    assert watcher.finished and watcher.job is None and watcher.stopping == []
    assert all(job.cancelled for job in jobs)  # quitting waits for every grading, stopping ones too


def test_ctrl_c_stops_the_running_grading_before_it_leaves() -> None:
    watcher, jobs, _, keys, _ = fake_watcher()
    keys.pending = [KeyboardInterrupt]
    with pytest.raises(KeyboardInterrupt):
        watcher.run()
    assert len(jobs) == 1 and jobs[0].cancelled and watcher.job is None


# -- the parts --------------------------------------------------------------------------------

def test_a_save_is_reported_once_when_the_file_has_settled(tmp_path: Path) -> None:
    stub = tmp_path / "one.py"
    stub.write_text("x = 1\n")
    os.utime(stub, ns=(1_000_000_000, 1_000_000_000))
    poller = SavePoller(tmp_path, ["one", "two"])
    assert poller.poll() == []  # nothing saved yet
    stub.write_text("")  # an editor that truncates first...
    os.utime(stub, ns=(2_000_000_000, 2_000_000_000))
    assert poller.poll() == []
    stub.write_text("x = 2\n")  # ...and writes next
    os.utime(stub, ns=(3_000_000_000, 3_000_000_000))
    assert poller.poll() == []  # still changing
    assert poller.poll() == ["one"]  # settled: one grading
    assert poller.poll() == []
    (tmp_path / "two.py").write_text("y = 1\n")  # a file that appears is a save too
    assert poller.poll() == [] and poller.poll() == ["two"]


def test_no_keys_are_read_when_stdin_is_not_a_terminal() -> None:
    keys = open_keys(io.StringIO("hq"))
    assert isinstance(keys, NoKeys) and not keys.interactive
    assert keys.read(0) is None


def test_no_colour_where_no_color_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    from grader.formats.colour import use_colour

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setenv("NO_COLOR", "1")
    stream = Terminal()
    screen = TerminalScreen(stream, Painter(use_colour("auto", stream)), live=False)
    screen.result(ONE, result(ONE, passed=False), 1, 3, interactive=True)
    assert "\033[" not in stream.getvalue() and "exercises/one.py:12" in stream.getvalue()
    monkeypatch.delenv("NO_COLOR")
    screen = TerminalScreen(stream, Painter(use_colour("auto", stream)), live=False)
    screen.result(ONE, result(ONE, passed=False), 1, 3, interactive=True)
    assert "\033[" in stream.getvalue()


def test_a_result_comes_back_from_the_grader_json_as_it_went() -> None:
    original = result(ONE, passed=False)
    original.tests = [TestResult("test_x[fork]", FAILED, 0.0, 5.0, "lost", "exercises/one.py", 3,
                                 "lost update", 0.5, {"steps": []})]
    assert result_from_json(exercise_to_json(original)) == original


def test_where_to_start_is_read_from_the_last_grading_of_the_file_as_it_is(tmp_path: Path) -> None:
    from grader.grading.results import GradeReport

    (tmp_path / "one.py").write_text("x = 1\n")
    (tmp_path / "two.py").write_text("y = 1\n")
    report = GradeReport("exercises", [result(ONE, passed=True), result(TWO, passed=False)])
    state.save(tmp_path, tmp_path, report, [ONE, TWO])
    assert state.passed_unchanged(tmp_path, tmp_path, "exercises", [ONE, TWO]) == {"one"}
    (tmp_path / "one.py").write_text("x = 2\n")  # changed since: grade it again
    assert state.passed_unchanged(tmp_path, tmp_path, "exercises", [ONE, TWO]) == set()


@pytest.mark.parametrize("command, module", [("watch", "grader.watch.command"),
                                             ("new", "grader.instructor.new.scaffold")])
def test_watch_and_new_are_dispatched_with_their_arguments(
        command: str, module: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse
    import sys
    import types

    from grader import cli

    seen: list[dict[str, str]] = []
    fake = types.ModuleType(module)
    parser = argparse.ArgumentParser(argument_default=argparse.SUPPRESS)
    parser.add_argument("--exercise")
    fake.parser = lambda: parser  # type: ignore[attr-defined]
    fake.main = lambda **given: seen.append(given) or 7  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module, fake)
    assert cli.main([command, "--exercise", "x"]) == 7
    assert seen == [{"exercise": "x"}]


def test_watch_refuses_an_unknown_exercise(capsys: pytest.CaptureFixture[str]) -> None:
    from grader import cli

    assert cli.main(["watch", "--exercise", "nope"]) == 2
    assert "no exercise called 'nope'" in capsys.readouterr().err


# -- the whole thing, in a student template ------------------------------------------------------

@pytest.fixture(scope="module")
def student_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_release(REPO_ROOT, tmp_path_factory.mktemp("watch") / "release").root


def next_result(watcher: Watcher, screen: RecordingScreen) -> ExerciseResult:
    """Step until the next grading has finished (each grading has its own time budget)."""
    seen = len(screen.results())
    while len(screen.results()) == seen:
        watcher.step()
    return screen.results()[-1]


def processes_mentioning(text: str) -> list[str]:
    listing = subprocess.run(["ps", "-A", "-ww", "-o", "pid=,args="], capture_output=True,
                             text=True, check=True).stdout
    return [line for line in listing.splitlines() if text in line and "ps -A" not in line]


def test_watch_in_a_student_template_wrong_fix_right_fix_next_exercise(
        student_template: Path) -> None:
    root = student_template
    setup = make_setup(root, "exercises")
    exercises = select_exercises(setup, None)
    lesson = next(e for e in exercises if e.name == "lesson_questions")
    stub = root / lesson.stub_file
    screen = RecordingScreen()
    watcher = make_watcher(root, exercises, screen, NoKeys(), setup)
    try:
        watcher.begin(lesson)
        first = next_result(watcher, screen)
        assert first.name == "lesson_questions" and not first.full_marks

        original = stub.read_text()
        stub.write_text(original + "\nQUESTION_2 = (\n")  # a syntax error is a failure like any
        broken = next_result(watcher, screen)
        assert not broken.full_marks and "Python cannot read lesson_questions.py" in broken.message
        assert watcher.current == lesson and not watcher.finished

        stub.write_text(original.replace('QUESTION_1: str | None = None',
                                         'QUESTION_1: str | None = "A"'))
        wrong = next_result(watcher, screen)
        assert ("grading", "lesson_questions", "exercises/lesson_questions.py was saved") \
            in screen.events
        assert wrong.name == "lesson_questions" and not wrong.full_marks
        assert wrong.location.startswith("exercises/lesson_questions.py:")
        assert "QUESTION_1" in wrong.message and "Rule Q2 (exercises/lesson_questions.md)" \
            in screen.text.split("exercises/lesson_questions.py was saved")[-1]

        shutil.copyfile(REPO_ROOT / "solutions" / "lesson_questions.py", stub)
        right = next_result(watcher, screen)
        # A save while the next exercise is being graded restarts its grading: saved at once,
        # while that grading (a pytest start at least) surely still runs.
        running = watcher.job
        shared = root / "exercises" / "shared_value.py"
        events_then = list(screen.events)
        shared.write_text(shared.read_text() + "\n# saved again\n")
        while watcher.job is running:
            watcher.step()
        assert screen.events[-1] == ("grading", "shared_value", "exercises/shared_value.py was saved")
        assert right.full_marks and "10/10 points  passed" in screen.text
        assert events_then[-2:] == [("moved", "lesson_questions", "shared_value"),
                                    ("grading", "shared_value", "next exercise")]
        assert "lesson_questions is done. Next: shared_value" in screen.text
        report = (root / "grading-results" / "report.html").read_text(encoding="utf-8")
        assert "lesson_questions" in report
        assert state.passed_unchanged(root, setup.target, "exercises", exercises) == {
            "lesson_questions"}  # what --list shows and where the next watch starts
        while watcher.stopping:  # the stopped grading tears down while the new one runs
            watcher.step()
        assert running is not None and running.process.returncode is not None  # type: ignore[attr-defined]
        # The stopped grading showed no result: whatever came after the save is the new
        # grading's (on a busy machine it may finish before the stopped one has torn down).
        since = screen.events[len(events_then):]
        assert since[0] == ("grading", "shared_value", "exercises/shared_value.py was saved"), since
        assert [event[1] for event in since if event[0] == "result"] in ([], ["shared_value"]), since
        assert len(screen.results()) == 4 + (watcher.job is None)
    finally:
        watcher.stop()  # what q and Ctrl-C do
    assert processes_mentioning(str(root)) == []


@pytest.mark.skipif(os.name == "nt", reason="a pseudo-terminal is POSIX's; Windows is msvcrt's")
def test_ctrl_c_in_a_terminal_leaves_no_process_behind(student_template: Path) -> None:
    import pty
    import select
    import signal
    import sys

    pid, terminal = pty.fork()
    if pid == 0:  # the child: `python -m grader watch` in the student template, on a terminal
        os.chdir(student_template)
        os.environ.pop("NO_COLOR", None)
        # Started as a shell without job control starts a command in the background (`cmd &`,
        # as a CI script may run the self-check): with SIGINT ignored, which Python then
        # leaves ignored. The watcher must still stop at Ctrl-C.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        # -X faulthandler: should it hang, SIGABRT makes it print where (see below).
        os.execv(sys.executable, [sys.executable, "-X", "faulthandler", "-m", "grader", "watch",
                                  "--exercise", "shared_value", "--root", str(student_template)])
    seen = b""

    def read_until(marker: bytes, wait: float | None = None) -> bool:
        nonlocal seen
        while marker not in seen:
            if not select.select([terminal], [], [], wait)[0]:
                return False
            try:
                chunk = os.read(terminal, 65536)
            except OSError:  # the terminal closed: the watcher is gone
                break
            seen += chunk
            if not chunk:
                break
        return marker in seen

    try:
        read_until(b"Grading shared_value (starting)")
        suite = f"--target={student_template / 'exercises'}"
        while not processes_mentioning(suite) and b"points" not in seen:
            read_until(b"points", wait=0.05)  # until the suite runs (pytest-timeout backstops)
        assert b"points" not in seen, "the grading ended before the test saw it run"
        os.write(terminal, b"\x03")  # Ctrl-C, as typed: the terminal sends SIGINT to the watcher
        # Stopping takes at most SUITE_STOP_WAIT + CANCEL_WAIT, then SIGKILL: a watcher still
        # silent well after that is stuck, and its stack (faulthandler, on SIGABRT) says where.
        if not read_until(b"Stopped watching.", wait=3 * (SUITE_STOP_WAIT + CANCEL_WAIT)):
            os.kill(pid, signal.SIGABRT)
            read_until(b"\x00", wait=5)
            pytest.fail("the watcher did not stop after Ctrl-C; it said:\n"
                        + seen.decode(errors="replace")[-6000:])
        _, status = os.waitpid(pid, 0)
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.close(terminal)
    assert os.waitstatus_to_exitcode(status) == 0, seen
    assert b"Stopped watching." in seen
    assert processes_mentioning(str(student_template)) == []

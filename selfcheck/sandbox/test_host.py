"""The student host end to end: confinement, the protocol, and what comes back to the judge."""

from __future__ import annotations

import os
import signal
import sys
import textwrap
import time
from pathlib import Path

import pytest

from grader.feedback import StudentFailure
from grader.judge.host_session import HostSession
from grader.judge.remote_harness import RemoteHarness
from grader.judge.student_objects import StudentError
from grader.sandbox import landlock

LINUX_SANDBOX = sys.platform.startswith("linux") and landlock.abi_version() >= 1


def host_for(tmp_path: Path, source: str) -> HostSession:
    target = tmp_path / "exercises"
    target.mkdir()
    (target / "student.py").write_text(textwrap.dedent(source), encoding="utf-8")
    return HostSession(target, call_timeout=20)


def test_calls_return_plain_data_and_exceptions_keep_their_kind(tmp_path: Path) -> None:
    host = host_for(tmp_path, """
        def add(a, b):
            return a + b

        def refuse(x):
            raise ValueError(f"no {x}")
    """)
    try:
        mod = host.module("student")
        assert mod.add(2, 3) == 5 and mod.add([1], [2]) == [1, 2]
        with pytest.raises(ValueError, match="no 7") as raised:
            mod.refuse(7)
        assert isinstance(raised.value, StudentError) and raised.value.site.line == 6
    finally:
        host.close()


def test_what_the_judges_printer_looks_up_is_never_asked_of_the_host(tmp_path: Path) -> None:
    """Hypothesis's printer asks each object it prints for `_repr_pretty_` and calls what it
    gets with itself. A module `__getattr__` that answers every name must not get that call
    (it sent the printer to the host, and the report became a pickling error); the student's
    own names still resolve in the host."""
    from hypothesis.vendor.pretty import pretty

    host = host_for(tmp_path, """
        asked = []

        def __getattr__(name):
            asked.append(name)
            return lambda *args, **kwargs: "from the student"
    """)
    try:
        mod = host.module("student")
        assert pretty(mod) == repr(mod) == "<in the student host: student>"
        assert not hasattr(mod, "_repr_pretty_") and not hasattr(mod, "hypothesis_internal_is_this_a_mock_check")
        assert mod.anything() == "from the student"
        assert list(mod.asked) == ["anything"]
    finally:
        host.close()


def test_the_host_holds_no_descriptor_of_the_judge(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()  # stands for the results pipe
    host = host_for(tmp_path, """
        import os

        def descriptors():
            return sorted(int(fd) for fd in os.listdir("/dev/fd"))
    """)
    try:
        fds = host.module("student").descriptors()
        assert write_end not in fds or os.name != "posix", fds
        assert len(fds) <= 6, fds  # stdin, stdout, stderr, the request pipe, the listing itself
    finally:
        host.close()
        os.close(read_end)
        os.close(write_end)


@pytest.mark.skipif(not LINUX_SANDBOX, reason="Landlock is a Linux kernel feature")
def test_the_host_may_write_only_in_its_sandbox(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    host = host_for(tmp_path, """
        import os, tempfile

        def write(path):
            try:
                with open(path, "w") as out:
                    out.write("x")
                return "written"
            except OSError as error:
                return type(error).__name__

        def scratch():
            return write(os.path.join(tempfile.gettempdir(), "mine.txt"))
    """)
    try:
        mod = host.module("student")
        assert mod.write(str(outside)) == "PermissionError" and not outside.exists()
        assert mod.scratch() == "written"
    finally:
        host.close()


@pytest.mark.skipif(not LINUX_SANDBOX or landlock.abi_version() < 6, reason="Landlock signal scoping: Linux 6.12+")
def test_the_host_cannot_signal_the_judge(tmp_path: Path) -> None:
    host = host_for(tmp_path, f"""
        import os, signal

        def poke():
            try:
                os.kill({os.getpid()}, signal.SIGUSR2)
                return "sent"
            except OSError as error:
                return type(error).__name__
    """)
    try:
        assert host.module("student").poke() == "PermissionError"
    finally:
        host.close()


def writes_to_every_descriptor(forged: str) -> str:
    """A student module that, at import, writes `forged` (a Python bytes literal) framed as
    multiprocessing frames a message to every descriptor the host holds: one of them is its
    channel to the judge."""
    return f"""
        import os
        import struct

        forged = {forged}
        for name in os.listdir("/proc/self/fd"):
            if int(name) > 2:
                try:
                    os.write(int(name), struct.pack("!i", len(forged)) + forged)
                except OSError:
                    pass
    """


def test_a_host_that_breaks_the_protocol_is_judged_as_interference(tmp_path: Path) -> None:
    host = host_for(tmp_path, writes_to_every_descriptor("""b'{"value": {"forged": true}}'"""))
    assert_import_is_judged_as_interference(host)


def test_a_host_that_answers_a_request_not_sent_yet_is_judged_as_interference(tmp_path: Path) -> None:
    # A well-formed reply, numbered for a request the judge will send later.
    host = host_for(tmp_path, writes_to_every_descriptor("""b'999\\n{"value": 1}'"""))
    try:
        with pytest.raises(StudentFailure) as failure:
            host.module("student")
        assert failure.value.concept == "interference"
        assert "answered a request it was never sent" in failure.value.message
    finally:
        host.close()


def assert_import_is_judged_as_interference(host: HostSession) -> None:
    try:
        with pytest.raises(StudentFailure) as failure:
            host.module("student")
        assert failure.value.concept == "interference"
    finally:
        host.close()


class _CutShort(Exception):
    """Raised from a timer signal while the judge waits for the host, as pytest-timeout's stop is."""


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs a POSIX interval timer")
def test_a_reply_whose_wait_was_cut_short_is_not_the_next_requests_answer(tmp_path: Path) -> None:
    host = host_for(tmp_path, """
        import time

        def slow():
            time.sleep(1.0)
            return "slow"

        def quick():
            return "quick"
    """)

    def cut_short(signum, frame):
        raise _CutShort

    previous = signal.signal(signal.SIGALRM, cut_short)
    try:
        mod = host.module("student")
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        with pytest.raises(_CutShort):
            mod.slow()
        assert mod.quick() == "quick"  # not "slow", the answer left waiting in the channel
        assert mod.quick() == "quick"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        host.close()


def test_a_host_that_exits_fails_the_call(tmp_path: Path) -> None:
    host = host_for(tmp_path, """
        import os

        def leave():
            os._exit(0)
    """)
    try:
        with pytest.raises(StudentFailure, match="ended .exit code 0."):
            host.module("student").leave()
    finally:
        host.close()


def test_a_host_that_hangs_is_stopped_with_the_line_it_was_at(tmp_path: Path) -> None:
    host = host_for(tmp_path, """
        def hang():
            while True: pass
    """)
    host.client.call_timeout = 2
    try:
        with pytest.raises(StudentFailure) as failure:
            host.module("student").hang()
        assert failure.value.concept == "did not finish"
        assert "the main process was at exercises/student.py:3" in failure.value.message
    finally:
        host.close()


def host_shm(host: HostSession) -> str:
    """The /dev/shm the host sees: its private one (through /proc) where it has one."""
    if "/dev/shm" in host.client.confinement.get("private", []):
        return f"/proc/{host.client.process.pid}/root/dev/shm"
    return "/dev/shm"


def mount_namespace(pid: int) -> int:
    return os.stat(f"/proc/{pid}/ns/mnt").st_ino


def processes_in_namespace(namespace: int) -> list[int]:
    """Live processes in a mount namespace: none left means its private tmpfs is gone."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.stat(f"/proc/{name}/ns/mnt").st_ino == namespace:
                    found.append(int(name))
            except OSError:
                pass
    return found


def processes_left_in_namespace(namespace: int, within: float = 10.0) -> list[int]:
    """The processes still in `namespace` after up to `within` seconds.

    The judge is a child subreaper and kills a resource tracker that outlives the host by a
    second; a selfcheck process is not, so the host's orphaned tracker ends on its own once it
    has unlinked the host's semaphores: give it those moments (a tracker that stays is returned).
    """
    deadline = time.monotonic() + within
    while processes_in_namespace(namespace) and time.monotonic() < deadline:
        time.sleep(0.05)
    return processes_in_namespace(namespace)


@pytest.mark.skipif(not os.path.isdir("/dev/shm"), reason="named semaphores live in /dev/shm here")
def test_a_host_stopped_at_its_deadline_leaves_no_semaphore(tmp_path: Path) -> None:
    from grader.judge.remote_harness import RemoteHarness

    host = host_for(tmp_path, """
        import time

        def hang():
            while True: time.sleep(0.01)
    """)
    host.client.call_timeout = 2
    try:
        mod = host.module("student")
        shm = host_shm(host)
        namespace = mount_namespace(host.client.process.pid)
        harness = RemoteHarness(host, "spawn", {})  # spawn: named, tracked semaphores
        # The locks are the referee's; the host's start gate is made of named semaphores.
        names = [harness._ref._arrivals._semlock.name, harness._ref._gate._cond._lock._semlock.name]
        referee = harness._referee
        assert all(isinstance(name, str) and name for name in names)
        assert all(os.path.exists(f"{shm}/sem.{name.lstrip('/')}") for name in names)
        with pytest.raises(StudentFailure):
            mod.hang()  # stopped at the judge's deadline: the host's whole tree is killed
    finally:
        host.close()
    assert not [n for n in names if os.path.exists(f"/dev/shm/sem.{n.lstrip('/')}")]
    assert not os.path.exists(f"/proc/{referee.pid}") and not os.path.exists(referee.directory)
    if shm != "/dev/shm":  # its private /dev/shm ended with the last process that could see it
        assert processes_left_in_namespace(namespace) == []


@pytest.mark.parametrize("swap", [
    "integrity.set_baseline(integrity.fingerprint())",
    "object.__setattr__(integrity._BASELINE[0], 'entries', integrity.fingerprint().entries)",
], ids=["new baseline", "new entries"])
def test_a_host_that_swaps_the_childrens_baseline_is_judged_as_interference(tmp_path: Path, swap: str) -> None:
    # Forked children are checked against the host's fingerprint; a submission that puts one
    # of its own in its place (taken after its patches) must not pass that check unnoticed.
    host = host_for(tmp_path, f"""
        from grader.harness import instrument_fingerprint as integrity

        {swap}
    """)
    assert_import_is_judged_as_interference(host)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="a forked child inherits the host's fingerprint")
def test_a_child_that_patches_the_harness_is_judged_as_interference(tmp_path: Path) -> None:
    # Patched inside the forked child only, after the host's last check: the child's own check
    # against the inherited fingerprint must see it.
    host = host_for(tmp_path, """
        def work(counter, lock):
            from grader.harness import guarded

            guarded._Guarded._write = lambda self, indices, values: None
            with lock:
                counter.value += 1
    """)
    try:
        harness = RemoteHarness(host, "fork", {})
        counter, lock = harness.RawValue("i", 0), harness.Lock()
        process = harness.Process(target=host.module("student").work, args=(counter, lock))
        process.start()
        process.join()
        with pytest.raises(StudentFailure) as failure:
            harness.check()
        assert failure.value.concept == "interference"
        assert "_Guarded._write" in str(failure.value)
    finally:
        host.close()


def test_a_call_stopped_at_the_judges_deadline_is_not_blamed_for_joins_it_never_reached(tmp_path: Path) -> None:
    # Under load a correct run may outlast the judge's deadline while it waits in join(): the
    # journal then shows processes not yet joined, which the program would have joined (issue 18).
    host = host_for(tmp_path, """
        import time
        from multiprocessing import Process

        def nap():
            time.sleep(30)

        def run():
            processes = [Process(target=nap) for _ in range(2)]
            for process in processes:
                process.start()
            for process in processes:
                process.join()
    """)
    host.client.call_timeout = 3
    try:
        mod = host.module("student")
        harness = RemoteHarness(host, None, {"deadline": 60})
        harness.substitute(mod)
        with pytest.raises(StudentFailure) as failure:
            mod.run()
        assert failure.value.concept == "did not finish", failure.value.message
        assert "never joined" not in failure.value.message
    finally:
        host.close()


@pytest.mark.parametrize("edit", [
    "guarded._stored.__code__ = (lambda ctype, value: value).__code__",
    "runtime.Pauses.__init__.__defaults__ = (0.0, 0.0, 0.0)",
    "guarded.GuardedValue.value.fget.__code__ = (lambda self: 0).__code__",
], ids=["code", "defaults", "property"])
def test_a_host_that_edits_an_instrument_in_place_is_judged_as_interference(tmp_path: Path, edit: str) -> None:
    # The function objects stay the same (identity unchanged): what they run is not.
    host = host_for(tmp_path, f"""
        from grader.harness import guarded, runtime

        {edit}
    """)
    assert_import_is_judged_as_interference(host)


def test_a_host_that_retakes_its_fingerprint_through_the_stack_is_judged_as_interference(tmp_path: Path) -> None:
    # After its patch, the submission looks for the host's fingerprint in every object its
    # frames reach and puts a fresh one (taken after the patch) in its place.
    host = host_for(tmp_path, """
        import sys
        from grader.harness import guarded
        from grader.harness import instrument_fingerprint as integrity

        guarded.value_to_wire = lambda value: value
        fresh = integrity.fingerprint()
        frame = sys._getframe()
        while frame is not None:
            for value in list(frame.f_locals.values()):
                for name, attribute in list(getattr(value, "__dict__", {}).items()):
                    if isinstance(attribute, integrity.Fingerprint):
                        setattr(value, name, fresh)
            frame = frame.f_back
        integrity._BASELINE[:] = [fresh]
    """)
    assert_import_is_judged_as_interference(host)


@pytest.mark.parametrize("method", [m for m in ("spawn", "forkserver") if m in __import__("multiprocessing").get_all_start_methods()])
def test_a_child_that_patches_the_harness_at_import_is_judged_as_interference(tmp_path: Path, method: str) -> None:
    # Only a spawned child imports the module again (to unpickle its target): its baseline
    # must be taken before that import, or the patch becomes part of it.
    host = host_for(tmp_path, """
        import multiprocessing

        if getattr(multiprocessing.current_process(), "_inheriting", False):
            from grader.harness import guarded

            guarded.value_to_wire = lambda value: value

        def work(counter, lock):
            with lock:
                counter.value += 1
    """)
    try:
        harness = RemoteHarness(host, method, {})
        counter, lock = harness.RawValue("i", 0), harness.Lock()
        process = harness.Process(target=host.module("student").work, args=(counter, lock))
        process.start()
        process.join()
        with pytest.raises(StudentFailure) as failure:
            harness.check()
        assert failure.value.concept == "interference"
        assert "guarded.value_to_wire" in str(failure.value)
    finally:
        host.close()

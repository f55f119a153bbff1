"""Substitution works for every import style; nothing a harness starts or creates outlives it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from grader.harness import ConcurrencyFailure, Harness
from grader.harness.findings import LOST_UPDATE, MISSING_JOIN, START_JOIN_ORDER
from grader.harness.guarded import GuardedArray, GuardedValue
from grader.harness.tracked_lock import TrackedLock
from selfcheck.harness.examples import styles_module, styles_names, styles_star
from selfcheck.harness.scenarios import join_all, opposite_order_transfers, start_all

REPO = Path(__file__).resolve().parents[2]


def child_pids() -> set[int]:
    """This process's children, zombies included (Linux /proc)."""
    pids: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        pids.update(int(p) for p in (task / "children").read_text().split())
    return pids


def test_star_import_style_gets_tracked_objects_and_passes(make_harness) -> None:
    harness = make_harness()
    harness.substitute(styles_star)
    assert styles_star.run() == 15
    assert harness.finish() == []


def test_named_import_style_is_instrumented_and_its_missing_lock_caught(make_harness) -> None:
    harness = make_harness()
    harness.substitute(styles_names)
    assert isinstance(styles_names.Lock(), TrackedLock)
    assert isinstance(styles_names.RawValue("i", 0), GuardedValue)
    styles_names.run()
    findings = harness.finish()
    assert LOST_UPDATE in [f.concept for f in findings]


def test_module_import_style_is_instrumented_and_its_bugs_named(make_harness) -> None:
    harness = make_harness()
    harness.substitute(styles_module)
    assert isinstance(styles_module.multiprocessing.RawArray("i", 2), GuardedArray)
    assert styles_module.run() == [3, 0]  # one after another: no overlap, so the count is right
    concepts = [f.concept for f in harness.finish()]
    assert START_JOIN_ORDER in concepts  # ...but they never ran at the same time
    assert LOST_UPDATE in concepts  # and each process used a lock of its own


def test_reading_results_before_joining_is_reported(make_harness) -> None:
    harness = make_harness()
    harness.substitute(styles_module)
    styles_module.run_unjoined()
    findings = [f for f in harness.finish() if f.concept == MISSING_JOIN]
    assert findings and "still running" in findings[0].message


def test_substitution_is_undone_when_the_harness_closes(start_method) -> None:
    import multiprocessing

    with Harness(start_method) as harness:
        harness.substitute(styles_names)
        assert styles_names.Lock is not multiprocessing.Lock
    assert styles_names.Lock is multiprocessing.Lock
    assert styles_names.RawValue is multiprocessing.RawValue


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_no_child_zombie_or_semaphore_outlives_a_deadlocked_run(start_method) -> None:
    from multiprocessing import resource_tracker

    from selfcheck.harness.examples import workers

    resource_tracker.ensure_running()  # multiprocessing's helpers for this whole process, not the run's
    if start_method == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()
    before = child_pids()
    with Harness(start_method, [Path(workers.__file__).parent], deadline=5) as harness:
        processes = opposite_order_transfers(harness, ("a", "b"))
        # The locks are the referee's; the harness's own start gate is made of semaphores.
        names = [sem._semlock.name for sem in (harness._gate._cond._lock, harness._arrivals)]
        referee = harness._referee.pid
        start_all(processes)
        with pytest.raises(ConcurrencyFailure):
            join_all(processes)
        del processes
    assert child_pids() - before == set()
    assert referee not in child_pids() and not Path(f"/proc/{referee}").exists()
    for name in filter(None, names):
        assert not Path(f"/dev/shm/sem.{name.lstrip('/')}").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX process groups")
def test_children_end_when_the_test_process_dies_abruptly(tmp_path: Path) -> None:
    """As when pytest-timeout's thread method calls os._exit: no orphan keeps running."""
    script = tmp_path / "dies.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import os, sys, time
            sys.path.insert(0, {str(REPO)!r})
            from grader.harness import Harness
            from selfcheck.harness.examples import workers
            if __name__ == "__main__":
                h = Harness("spawn", [os.path.dirname(workers.__file__)], use_gate=False)
                c, l = h.RawValue("i", 0), h.Lock()
                ps = [h.Process(target=workers.spin_forever, args=(c, l, 1)) for _ in range(2)]
                for p in ps:
                    p.start()
                time.sleep(1.5)
                print(" ".join(str(p.pid) for p in ps), flush=True)
                os._exit(1)
            """
        )
    )
    output = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    pids = [int(p) for p in output.stdout.split()]
    assert len(pids) == 2, output.stderr
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in pids)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat")
    return not (status.exists() and status.read_text().split()[2] == "Z")


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("method", ["signal", "thread"])
def test_nothing_outlives_a_test_that_pytest_timeout_stops(tmp_path: Path, method: str) -> None:
    """pytest-timeout is only the backstop, but when it fires no child may survive it."""
    (tmp_path / "test_hangs.py").write_text(
        textwrap.dedent(
            f"""
            import os, sys
            sys.path.insert(0, {str(REPO)!r})
            from grader.harness import Harness
            from selfcheck.harness.examples import workers

            def test_hangs():
                h = Harness("fork", [os.path.dirname(workers.__file__)], deadline=600, use_gate=False)
                c, l = h.RawValue("i", 0), h.Lock()
                ps = [h.Process(target=workers.spin_forever, args=(c, l, 1)) for _ in range(2)]
                for p in ps:
                    p.start()
                print("PIDS", *[p.pid for p in ps], flush=True)
                for p in ps:
                    p.join()
            """
        )
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-s", "-p", "no:cacheprovider", "--timeout=2",
         f"--timeout-method={method}", str(tmp_path / "test_hangs.py")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # a pytest that waited at exit for the unclosed harness's children would hang here
    found = re.search(r"PIDS (\d+) (\d+)", done.stdout)
    pids = [int(pid) for pid in found.groups()] if found else []
    assert len(pids) == 2, done.stdout + done.stderr
    assert "Timeout" in done.stdout + done.stderr
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in pids)


def test_every_route_to_the_lessons_objects_yields_an_instrument(make_harness) -> None:
    from grader.harness.guarded import SynchronizedArray, SynchronizedValue
    from grader.harness.supervisor import process_class
    from grader.harness.tracked_lock import TrackedRLock
    from selfcheck.harness.examples import styles_routes

    harness = make_harness()
    harness.substitute(styles_routes)
    supervised = process_class(harness.ctx)
    for method in (None, "spawn"):
        lock, rlock, value, array, synced, process = styles_routes.made_in_a_context(method)
        assert (type(lock), type(rlock), type(value), type(array)) == (TrackedLock, TrackedRLock, GuardedValue, GuardedArray)
        assert type(synced) is SynchronizedValue and type(synced.get_lock()) is TrackedRLock
        assert type(process) is supervised  # the judge's start method, whatever the student's context
    raw_value, synced_array, lock, process = styles_routes.made_by_module()
    assert (type(raw_value), type(synced_array), type(lock)) == (GuardedValue, SynchronizedArray, TrackedLock)
    assert type(process) is supervised
    assert type(styles_routes.made_unseen()) is styles_routes.Worker  # a subclass stays real: unseen


def test_the_routes_are_judged_and_give_real_objects_outside_student_code(make_harness) -> None:
    import multiprocessing
    import multiprocessing.synchronize

    from selfcheck.harness.examples import styles_routes

    for run in (styles_routes.run_context, styles_routes.run_own_lock):
        harness = make_harness()
        harness.substitute(styles_routes)
        assert run() == 15
        assert harness.finish() == [] and len(harness.children) == 3
        harness.close()
    harness = make_harness()
    harness.substitute(styles_routes)
    assert type(multiprocessing.get_context().Lock()) is multiprocessing.synchronize.Lock  # the test's own call
    harness.close()
    lock = styles_routes.made_in_a_context()[0]
    assert type(lock) is multiprocessing.synchronize.Lock  # no harness: everything real again


@pytest.mark.parametrize("run", ["run_polling_is_alive", "run_polling_exitcode"])
def test_a_parent_that_sees_its_children_end_has_waited_for_them(make_harness, run: str) -> None:
    """is_alive() false, or an exit code, in the student's own code is a wait, as join() is."""
    from selfcheck.harness.examples import waits

    harness = make_harness()
    harness.substitute(waits)
    assert getattr(waits, run)() == 15
    assert [f.concept for f in harness.finish()] == []


def test_a_parent_that_only_sleeps_has_not_waited(make_harness) -> None:
    from selfcheck.harness.examples import waits

    harness = make_harness()
    harness.substitute(waits)
    waits.run_sleeping()
    assert "missing join" in [f.concept for f in harness.finish()]


def test_a_run_whose_referee_ended_first_still_reaps_every_child_quietly(tmp_path: Path) -> None:
    """A host closes its runs after the judge has ended their referees: nothing is left to
    record the reaping, and closing must neither raise (a traceback the student would read)
    nor stop before every child is reaped."""
    from selfcheck.harness.conftest import EXAMPLES
    from selfcheck.harness.examples import workers

    harness = Harness("fork", [EXAMPLES], deadline=8.0, use_gate=False)
    counter, lock = harness.RawValue("i", 0, name="counter"), harness.Lock("lock")
    processes = [harness.Process(target=workers.with_lock, args=(counter, lock, 1)) for _ in range(2)]
    for process in processes:
        process.start()
    deadline = time.monotonic() + 30
    while any(p.exitcode is None for p in processes) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert harness._referee is not None
    harness._referee.stop()  # as the judge does when its test is over
    harness.close()
    assert all(p.exitcode == 0 for p in processes)
    assert not child_pids() & {p.pid for p in processes}

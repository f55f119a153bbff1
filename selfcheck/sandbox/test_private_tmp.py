"""Concurrent gradings share nothing: each host has its own /dev/shm and /tmp (Linux, as root).

Proven both ways: a host sees its own named semaphores and files (the hunter finds its own
lock), and none of another grading's; the honest grading beside a hostile one keeps full marks;
what a host leaves in its /dev/shm ends with its last process.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from grader.process_tree import adopted_orphans, process_table
from grader.sandbox import private_tmp
from selfcheck.suite_runs import REPO, run_suite

from .test_host import (
    host_for,
    mount_namespace,
    processes_in_namespace,
    processes_left_in_namespace,
)

pytestmark = pytest.mark.skipif(not private_tmp.supported(),
                                reason="private mounts need Linux, root and mount namespaces")

HUNTER = """
    import _multiprocessing
    import multiprocessing
    import os
    import time

    def hunt(stop_file, seconds):
        # Open every named semaphore this host can see and take it, never to release it.
        own = multiprocessing.get_context("spawn").Lock()  # one it must find: its own
        seen, taken = set(), []
        end = time.monotonic() + seconds
        while time.monotonic() < end and not os.path.exists(stop_file):
            for name in os.listdir("/dev/shm"):
                if name.startswith("sem.mp-") and name not in seen:
                    seen.add(name)
                    try:
                        semaphore = _multiprocessing.SemLock._rebuild(0, 1, 1, "/" + name[4:])
                    except OSError:
                        continue
                    if semaphore.acquire(False):
                        taken.append(semaphore)
            time.sleep(0.002)
        return sorted(seen), "sem." + own._semlock.name.lstrip("/"), len(taken)

    def start_helpers():
        # multiprocessing's resource tracker and fork server, started by the host
        ctx = multiprocessing.get_context("forkserver")
        globals()["kept"] = ctx.Lock()
        process = ctx.Process(target=time.sleep, args=(0,))
        process.start()
        process.join()
        return process.exitcode

    def leave(name, size):
        with open(os.path.join("/dev/shm", name), "wb") as handle:
            handle.write(b"x" * size)
        return sorted(os.listdir("/dev/shm"))
"""


def test_a_host_sees_only_its_own_dev_shm_and_tmp(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = host_for(tmp_path / "a", HUNTER), host_for(tmp_path / "b", HUNTER)
    try:
        assert first.module("student").leave("first-file", 10) == ["first-file"]
        assert second.module("student").leave("second-file", 10) == ["second-file"]
        for host in (first, second):
            assert host.client.confinement["private"] == ["/dev/shm", "/tmp"]
        assert not os.path.exists("/dev/shm/first-file") and not os.path.exists("/dev/shm/second-file")
        root = f"/proc/{first.client.process.pid}/root"
        assert os.listdir(f"{root}/tmp") != os.listdir("/tmp")  # not the machine's /tmp
        assert os.path.isdir(root + first.client.sandbox_dir)  # its sandbox is still reachable
    finally:
        first.close()
        second.close()


def test_what_a_host_leaves_in_dev_shm_is_gone_after_its_test(tmp_path: Path) -> None:
    # This test process's own children (an earlier test's resource tracker or fork server):
    # the host's tree counts them as orphans it may have left, but they are none of its own.
    earlier = set(adopted_orphans(process_table() or []))
    host = host_for(tmp_path, HUNTER)
    try:
        mod = host.module("student")
        assert mod.start_helpers() == 0
        listing = mod.leave("leftover", 1 << 20)
        pid = host.client.process.pid
        namespace = mount_namespace(pid)
        assert "leftover" in listing and all(n == "leftover" or n.startswith("sem.mp-") for n in listing)
        helpers = [p for p in host.client.descendants() if p not in earlier]
        assert len(helpers) >= 2 and all(mount_namespace(p) == namespace for p in helpers)
        assert os.path.getsize(f"/proc/{pid}/root/dev/shm/leftover") == 1 << 20
        assert processes_in_namespace(namespace)  # the host and nothing of the judge's
        assert namespace != mount_namespace(os.getpid())
    finally:
        host.close()
    # No process is left in the namespace: its tmpfs, and the file in it, are freed.
    assert processes_left_in_namespace(namespace) == []
    assert not os.path.exists("/dev/shm/leftover")


@pytest.mark.slow
@pytest.mark.timeout(600)  # without isolation the honest suite deadlocks test after test
def test_a_host_that_takes_every_semaphore_it_sees_costs_another_grading_nothing(tmp_path: Path) -> None:
    hunter = host_for(tmp_path, HUNTER)
    hunter.client.call_timeout = 900
    stop = os.path.join(hunter.client.sandbox_dir, "stop")
    found: dict[str, object] = {}
    try:
        mod = hunter.module("student")
        thread = threading.Thread(target=lambda: found.update(result=mod.hunt(stop, 800)))
        thread.start()
        try:
            # The honest grading: the reference solution under spawn (named semaphores).
            run = run_suite(["tests/test_locked_increment.py"], REPO / "solutions", "--start-method", "spawn",
                            timeout=400)
        finally:
            Path(stop).touch()
            thread.join(60)
    finally:
        hunter.close()
    assert run.returncode == 0 and run.results and not run.failed, run.summary()
    seen, own, taken = found["result"]
    assert seen == [own] and taken == 1  # it found and took its own lock, and nothing else


def test_a_private_dir_on_the_judges_path_stays_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A script run from /tmp puts /tmp itself on sys.path: binding it back would undo the
    # privacy (and hide the target): only directories beneath a private one are bound back.
    monkeypatch.syspath_prepend("/tmp")
    host = host_for(tmp_path, HUNTER)
    try:
        assert host.module("student").leave("mine", 1) == ["mine"]
        root = f"/proc/{host.client.process.pid}/root"
        assert os.listdir(f"{root}/tmp") != os.listdir("/tmp")
        assert os.path.isdir(root + str(tmp_path / "exercises"))
    finally:
        host.close()

"""The suites' process targets (grader.sandbox.workers) are watched in a spawned child too: the
host names them (host.CHILD_MODULES), the harness loads them before the child's fingerprint,
so a submission that changes them while its module is imported again there is caught."""

from __future__ import annotations

import multiprocessing
import textwrap
from pathlib import Path

import pytest

from grader.feedback import StudentFailure
from grader.judge.host_session import HostSession
from grader.judge.remote_harness import RemoteHarness
from grader.sandbox.host import CHILD_MODULES
from grader.sandbox.workers import RETURNED_FALSE, RETURNED_TRUE, record_return

SPAWNING = [m for m in ("spawn", "forkserver") if m in multiprocessing.get_all_start_methods()]

STUDENT = """
    import multiprocessing

    if {patch} and getattr(multiprocessing.current_process(), "_inheriting", False):
        from grader.sandbox import workers

        workers.RETURNED_FALSE = workers.RETURNED_TRUE  # a refusal recorded as a success

    def refuse():
        return False
"""


def run_refusal(tmp_path: Path, method: str, patch: bool) -> int:
    """`refuse` run by the suites' `record_return` in one child; what the child recorded."""
    target = tmp_path / "exercises"
    target.mkdir()
    (target / "student.py").write_text(textwrap.dedent(STUDENT.format(patch=patch)), encoding="utf-8")
    host = HostSession(target, call_timeout=20)
    try:
        harness = RemoteHarness(host, method, {})
        results = harness.ResultArray(1)
        process = harness.Process(target=record_return, args=(host.module("student").refuse, results, 0))
        process.start()
        process.join()
        harness.check()
        return harness.final(results)[0]
    finally:
        host.close()


def test_the_host_names_the_suites_process_targets() -> None:
    assert CHILD_MODULES == (record_return.__module__,)


@pytest.mark.parametrize("method", SPAWNING)
def test_a_spawned_child_that_changes_a_process_target_is_judged_as_interference(
        tmp_path: Path, method: str) -> None:
    with pytest.raises(StudentFailure) as failure:
        run_refusal(tmp_path, method, patch=True)
    assert failure.value.concept == "interference"
    assert "grader.sandbox.workers.RETURNED_FALSE" in str(failure.value)


@pytest.mark.parametrize("method", SPAWNING)
def test_a_spawned_child_that_leaves_them_alone_records_what_happened(tmp_path: Path, method: str) -> None:
    assert run_refusal(tmp_path, method, patch=False) == RETURNED_FALSE != RETURNED_TRUE

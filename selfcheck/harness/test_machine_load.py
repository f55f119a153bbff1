"""A busy machine stretches the judge's wall-clock limits, within a bound; a quiet one does not."""

from __future__ import annotations

import os

import pytest

from grader import machine_load
from grader.harness import Harness
from grader.harness.findings import TOO_SLOW
from selfcheck.harness.conftest import EXAMPLES
from selfcheck.harness.examples import workers
from selfcheck.harness.test_detectors import concepts, run_workers


def busy(monkeypatch: pytest.MonkeyPatch, load: float, cores: int = 2) -> None:
    """The machine as the judge sees it: `load` runnable processes on `cores` cores."""
    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    monkeypatch.setattr(machine_load, "_cores", lambda: cores)


@pytest.mark.parametrize(("load", "expected"), [(0.3, 1.0), (2.0, 1.0), (5.0, 2.5), (11.0, 5.5), (40.0, 6.0)])
def test_a_limit_grows_with_the_load_per_core_up_to_its_bound(monkeypatch: pytest.MonkeyPatch, load: float,
                                                               expected: float) -> None:
    busy(monkeypatch, load)
    assert machine_load.stretched(10.0) == pytest.approx(10.0 * expected)


def test_without_a_load_average_a_limit_stays_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    def unavailable() -> tuple[float, float, float]:
        raise OSError("no load average here")

    monkeypatch.setattr(os, "getloadavg", unavailable)
    assert machine_load.stretched(10.0) == 10.0


@pytest.mark.parametrize(("load", "stopped"), [(1.0, True), (8.0, False)])
def test_a_run_slower_than_its_deadline_is_stopped_only_on_a_quiet_machine(monkeypatch: pytest.MonkeyPatch,
                                                                           load: float, stopped: bool) -> None:
    """Each child is held back 1.5 s, past the 1 s deadline: too slow on a quiet machine; on one
    running four times as many processes as it has cores the run is given 4 s, and passes."""
    busy(monkeypatch, load)
    with Harness("fork", [EXAMPLES], deadline=1.0, child_delays=(1.5, 0.0)) as harness:
        total, findings = run_workers(harness, workers.with_lock, n=2, times=2)
    assert (TOO_SLOW in concepts(findings)) is stopped
    if not stopped:
        assert total == 4 and not findings

"""The host's Harness and the judge's RemoteHarness offer one API (grader/harness/checked_run.py):
the same methods, parameters and defaults, so a suite's line means the same on either."""

from __future__ import annotations

import inspect

import pytest

from grader.harness import Harness
from grader.harness.checked_run import CheckedRun
from grader.judge.remote_harness import RemoteHarness

METHODS = [name for name, value in vars(CheckedRun).items() if inspect.isfunction(value) and not name.startswith("_")]
# A uid is the judge's own name for what it asks the host to make (never a suite's argument).
JUDGES_OWN = {"uid"}


def shape(function: object) -> list[tuple[str, object, object]]:
    """A signature's parameters as (name, kind, default), without `self` and the judge's own."""
    parameters = list(inspect.signature(function).parameters.values())[1:]
    return [(p.name, p.kind, p.default) for p in parameters if p.name not in JUDGES_OWN]


def test_the_protocol_names_the_instruments_a_suite_uses() -> None:
    assert {"Lock", "RawValue", "RawArray", "Process", "final", "substitute"} <= set(METHODS)


@pytest.mark.parametrize("implementation", [Harness, RemoteHarness], ids=lambda c: c.__name__)
@pytest.mark.parametrize("method", METHODS)
def test_both_harnesses_keep_to_the_protocol(implementation: type, method: str) -> None:
    assert shape(getattr(implementation, method)) == shape(getattr(CheckedRun, method))


def test_a_drifted_signature_is_caught() -> None:
    class Drifted:
        def Lock(self, label: str = "lock") -> None:  # noqa: N802
            pass

    assert shape(Drifted.Lock) != shape(CheckedRun.Lock)
    assert shape(Harness.Lock) == shape(CheckedRun.Lock)  # its extra `uid` is the judge's own

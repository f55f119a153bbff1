"""A pytest plugin for the self-check's suite runs under a second start method.

`-p selfcheck.pinned_start_method` leaves out the suite tests that pin their own start method
(parametrized with `start_method`, like the counting tests' plan of many runs under the default
method and one under every other). Such a test passes its start method to every harness it
makes, so `--start-method` changes nothing in it: its run under the default start method, which
the self-check makes anyway, is the same judgment, and judging it again proves nothing twice.
`SuiteRun.with_pinned_from` adds those results back, so a verdict still covers every test.
"""

from __future__ import annotations

import pytest


def pins_its_start_method(item: pytest.Item) -> bool:
    """True for a test parametrized with the start method its harnesses use."""
    callspec = getattr(item, "callspec", None)
    return callspec is not None and "start_method" in callspec.params


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    pinned = [item for item in items if pins_its_start_method(item)]
    if pinned:
        config.hook.pytest_deselected(items=pinned)
        items[:] = [item for item in items if not pins_its_start_method(item)]

"""How the self-check spreads over pytest-xdist's workers (README's Quick start: `-n 2 --dist loadgroup`).

Tests go to whichever worker is free, one by one, except where they share an expensive set-up:
a file under selfcheck/release/ and the cheat corpus build releases, virtual environments and
gradings in module- and session-scoped fixtures, so each such file runs on one worker and builds
them once. The suite judging groups a variant's runs under every start method itself
(`xdist_group` marks in test_suites_judge.py), so its run under the default start method, which
the others reuse, is made once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
# Files whose tests share module- or session-scoped set-up: one worker each.
SHARED_SET_UP = [HERE / "release", HERE / "test_cheats.py"]


def pytest_configure(config: pytest.Config) -> None:
    # Declared here too, so that the marks mean nothing (and warn nothing) without xdist.
    config.addinivalue_line("markers", "xdist_group(name): tests that run on one pytest-xdist worker")


@pytest.hookimpl(wrapper=True)  # around xdist's own hook, which reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> Iterator[None]:
    for item in items:
        if item.get_closest_marker("xdist_group") is None and any(
                item.path == place or item.path.is_relative_to(place) for place in SHARED_SET_UP):
            item.add_marker(pytest.mark.xdist_group(item.path.relative_to(HERE).as_posix()))
    return (yield)

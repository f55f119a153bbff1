"""Fixtures for the harness's own tests: every start method, and harnesses that clean up."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from grader.harness import Harness

EXAMPLES = Path(__file__).parent / "examples"
START_METHODS = multiprocessing.get_all_start_methods()


@pytest.fixture(params=START_METHODS)
def start_method(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def make_harness(start_method: str) -> Iterator[Callable[..., Harness]]:
    """Harnesses over the examples directory, closed after the test whatever happens."""
    made: list[Harness] = []

    def make(**options: object) -> Harness:
        options.setdefault("deadline", 8.0)
        harness = Harness(start_method, [EXAMPLES], **options)  # type: ignore[arg-type]
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.close()


def line_of(marker: str, filename: str = "workers.py") -> str:
    """`selfcheck/harness/examples/workers.py:N` for the line tagged `# LINE: marker`."""
    lines = (EXAMPLES / filename).read_text().splitlines()
    number = next(i for i, text in enumerate(lines, 1) if text.rstrip().endswith(f"# LINE: {marker}"))
    return f"selfcheck/harness/examples/{filename}:{number}"

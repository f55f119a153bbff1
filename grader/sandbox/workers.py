"""Small process targets the suites wrap around student functions.

They live in the grader package (not in a test module) so that spawned children can
import them cheaply by name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# How a child records a function's return value in a shared int array.
RETURNED_FALSE, RETURNED_TRUE, RETURNED_OTHER, NOT_RETURNED = 0, 1, 2, -1


def record_return(func: Callable[..., Any], results: Any, index: int, *args: Any) -> None:
    """Call `func(*args)` and store whether it returned exactly True, exactly False, or else."""
    outcome = func(*args)
    results[index] = RETURNED_TRUE if outcome is True else RETURNED_FALSE if outcome is False else RETURNED_OTHER


def record_returns(func: Callable[..., Any], results: Any, start: int, calls: list[tuple[Any, ...]]) -> None:
    """Several calls in one process, each outcome stored at results[start + i]."""
    for offset, args in enumerate(calls):
        record_return(func, results, start + offset, *args)

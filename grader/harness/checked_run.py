"""What a checked run offers the code that drives it: one protocol, two implementations.

`grader.harness.Harness` runs in the student host, where the student's code runs, and makes the
instruments there; the judge's `grader.judge.remote_harness.RemoteHarness` makes the same calls through
the host and keeps the verdict for itself. A suite (through `make_harness`) and the harness's
own tests (with a Harness) write the same lines against either, so the two must not drift:
`selfcheck/harness/test_checked_run.py` holds both to this protocol, signature by signature.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterable
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class CheckedRun(Protocol):
    """The instruments of a run (multiprocessing's own names and arguments) and its data."""

    def Lock(self, name: str = "lock") -> Any:  # noqa: N802 - mirrors multiprocessing
        """A lock the referee holds, named as the student's messages will name it."""

    def RawValue(self, typecode: Any, value: Any = 0, name: str = "counter") -> Any:  # noqa: N802
        """A shared value the referee holds."""

    def RawArray(self, typecode: Any, size_or_initializer: Any, name: str = "counts") -> Any:  # noqa: N802
        """A shared array the referee holds."""

    def ResultArray(self, size: int) -> Any:  # noqa: N802
        """An int array, -1 everywhere, for the suite's own bookkeeping (never evidence)."""

    def Process(self, group: None = None, target: Callable[..., Any] | None = None,  # noqa: N802
                name: str | None = None, args: Iterable[Any] = (), kwargs: dict[str, Any] | None = None,
                *, daemon: bool | None = None) -> Any:
        """A process whose life the run records."""

    def substitute(self, module: types.ModuleType) -> types.ModuleType:
        """Make the module's own Lock/RawValue/RawArray/Process calls create instruments."""

    def observe_total(self, values: Any, locks: Any, what: str) -> None:
        """Have the referee check, whenever none of `locks` is held, that `values` sum as now."""

    def final(self, shared: Any) -> Any:
        """What a shared value (its number) or array (a list) holds, by the referee."""

    def shared_values_made(self) -> int:
        """How many shared values the student's code made in the run's parent."""

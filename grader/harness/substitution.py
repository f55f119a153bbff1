"""Substitution into student modules: their `Lock()`, `RawValue()`, `RawArray()` and
`Process()` calls create the harness's instruments instead.

Works for every import style the lesson allows, by replacing module globals that *are* the
real objects: `from multiprocessing import *`, `from multiprocessing import Lock, ...`,
`import multiprocessing` (and `import multiprocessing as mp`), and the `sharedctypes` module.
"""

from __future__ import annotations

import linecache
import multiprocessing
import multiprocessing.context
import multiprocessing.sharedctypes
import multiprocessing.synchronize
import re
import sys
import types
from collections.abc import Callable
from typing import Any

from grader.harness.guarded import GuardedArray, GuardedValue
from grader.harness.runtime import RunConfig, emit, site_of_frame
from grader.harness.tracked_lock import TrackedLock

_ASSIGNED = re.compile(r"^\s*([A-Za-z_][\w\.\[\]]*)\s*=[^=]")


def _creation_name(config: RunConfig, what: str) -> str:
    """Name an object the student created by the variable it is assigned to, and its line."""
    frame = sys._getframe(2)
    site = site_of_frame(frame, config.student_dirs)
    if site is None:
        return what
    while frame is not None and frame.f_code.co_name != site.function:
        frame = frame.f_back
    line = linecache.getline(frame.f_code.co_filename, site.line) if frame is not None else ""
    match = _ASSIGNED.match(line)
    if match and what == "lock":
        return f"`{match.group(1)}` (the lock made at {site})"
    if match:
        return match.group(1)
    return f"the {what} made at {site}"


class Factories:
    """Callables with the signatures of the real ones, creating tracked objects."""

    def __init__(self, config: RunConfig, process_factory: Callable[..., Any] | None = None) -> None:
        self.config = config
        self.ctx = multiprocessing.get_context(config.start_method)
        self._process_factory = process_factory
        self.made = 0  # shared values and arrays created through these factories

    def Lock(self) -> TrackedLock:  # noqa: N802 - mirrors multiprocessing.Lock
        return TrackedLock(self.ctx, self.config, _creation_name(self.config, "lock"))

    def RawValue(self, typecode_or_type: Any, *args: Any) -> GuardedValue:  # noqa: N802
        raw = multiprocessing.sharedctypes.RawValue(typecode_or_type, *args)
        self.made += 1
        emit(self.config, "made", what="RawValue")
        return GuardedValue(raw, self.config, _creation_name(self.config, "shared value"))

    def RawArray(self, typecode_or_type: Any, size_or_initializer: Any) -> GuardedArray:  # noqa: N802
        raw = multiprocessing.sharedctypes.RawArray(typecode_or_type, size_or_initializer)
        self.made += 1
        emit(self.config, "made", what="RawArray")
        return GuardedArray(raw, self.config, _creation_name(self.config, "shared array"))

    def Process(self, *args: Any, **kwargs: Any) -> Any:  # noqa: N802
        if self._process_factory is not None:
            return self._process_factory(*args, **kwargs)
        return self.ctx.Process(*args, **kwargs)

    def overrides(self) -> dict[str, Any]:
        return {
            "Lock": self.Lock,
            "RawValue": self.RawValue,
            "RawArray": self.RawArray,
            "Process": self.Process,
        }


def _originals() -> dict[int, str]:
    mp, shared = multiprocessing, multiprocessing.sharedctypes
    return {
        id(mp.Lock): "Lock",
        id(multiprocessing.synchronize.Lock): "Lock",
        id(mp.RawValue): "RawValue",
        id(shared.RawValue): "RawValue",
        id(mp.RawArray): "RawArray",
        id(shared.RawArray): "RawArray",
        id(mp.Process): "Process",
        id(multiprocessing.context.Process): "Process",
    }


class _ModuleProxy(types.ModuleType):
    """Stands in for `multiprocessing` (or its `sharedctypes`) inside a student module."""

    def __init__(self, real: types.ModuleType, overrides: dict[str, Any]) -> None:
        super().__init__(real.__name__, real.__doc__)
        self.__dict__.update(overrides)
        self.__dict__["_real_module"] = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["_real_module"], name)


def substitute(module: types.ModuleType, factories: Factories) -> Callable[[], None]:
    """Instrument `module`'s globals; returns a function that puts the originals back."""
    overrides = factories.overrides()
    originals = _originals()
    shared_overrides = {k: overrides[k] for k in ("RawValue", "RawArray")}
    replaced: dict[str, Any] = {}
    for name, value in list(vars(module).items()):
        if value is multiprocessing:
            proxy = _ModuleProxy(multiprocessing, overrides)
            proxy.__dict__["sharedctypes"] = _ModuleProxy(multiprocessing.sharedctypes, shared_overrides)
            replaced[name] = value
        elif value is multiprocessing.sharedctypes:
            proxy = _ModuleProxy(value, shared_overrides)
            replaced[name] = value
        elif id(value) in originals:
            proxy = overrides[originals[id(value)]]
            replaced[name] = value
        else:
            continue
        setattr(module, name, proxy)

    def restore() -> None:
        for name, value in replaced.items():
            setattr(module, name, value)

    return restore

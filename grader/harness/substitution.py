"""Substitution into student code: its `Lock()`, `RLock()`, `RawValue()`, `RawArray()`,
`Value()`, `Array()` and `Process()` calls create the harness's instruments instead.

Two layers. The student module's globals that *are* the real objects are replaced (`from
multiprocessing import *`, `from multiprocessing import Lock, ...`, `import multiprocessing`
and `import multiprocessing as mp`, the `sharedctypes` module). And, while a harness is
substituting, every other route to the same objects in this process is patched: a context's
methods (`get_context(...)`, `multiprocessing.context.*`), the package's and `sharedctypes`'
functions, the `synchronize` lock classes and the `Process` classes themselves. The patches
hand out instruments only to calls made from the student's files, so the standard library's
own uses (an `Event`'s lock, a pool's processes) and the harness's stay real. The host and a
run's children are throwaway processes: nothing else shares these patches.
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

from grader.harness.guarded import GuardedArray, GuardedValue, SynchronizedArray, SynchronizedValue
from grader.harness.runtime import RunConfig, emit, is_student_file, site_of_frame
from grader.harness.tracked_lock import TrackedLock, TrackedRLock

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
    if match and what in ("lock", "reentrant lock"):
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

    def Lock(self, *, ctx: Any = None) -> TrackedLock:  # noqa: N802 - mirrors multiprocessing.Lock
        return TrackedLock(self.config, _creation_name(self.config, "lock"))

    def RLock(self, *, ctx: Any = None) -> TrackedRLock:  # noqa: N802
        return TrackedRLock(self.config, _creation_name(self.config, "reentrant lock"))

    def RawValue(self, typecode_or_type: Any, *args: Any) -> GuardedValue:  # noqa: N802
        return GuardedValue(self.config, self._made("RawValue", "shared value"), typecode_or_type, *args)

    def RawArray(self, typecode_or_type: Any, size_or_initializer: Any) -> GuardedArray:  # noqa: N802
        return GuardedArray(self.config, self._made("RawArray", "shared array"), typecode_or_type, size_or_initializer)

    def Value(self, typecode_or_type: Any, *args: Any, lock: Any = True, ctx: Any = None) -> GuardedValue:  # noqa: N802
        """`lock=False` is a `RawValue`; otherwise the value comes with a lock of its own (or
        the one given), which each read and write takes, and `get_lock()` hands out."""
        name = self._made("Value", "shared value")
        own = self._own_lock(lock, name)
        if own is None:
            return GuardedValue(self.config, name, typecode_or_type, *args)
        return SynchronizedValue(self.config, name, own, typecode_or_type, *args)

    def Array(self, typecode_or_type: Any, size_or_initializer: Any, *, lock: Any = True,  # noqa: N802
              ctx: Any = None) -> GuardedArray:
        name = self._made("Array", "shared array")
        own = self._own_lock(lock, name)
        if own is None:
            return GuardedArray(self.config, name, typecode_or_type, size_or_initializer)
        return SynchronizedArray(self.config, name, own, typecode_or_type, size_or_initializer)

    def _made(self, what: str, noun: str) -> str:
        name = _creation_name(self.config, noun)
        self.made += 1
        emit(self.config, "made", what=what, name=name)
        return name

    def _own_lock(self, lock: Any, name: str) -> Any:
        if lock is False:
            return None
        if lock is True or lock is None:
            return TrackedRLock(self.config, f"the lock of `{name}`")
        if hasattr(lock, "acquire") and hasattr(lock, "release"):
            return lock
        raise AttributeError(f"{lock!r} has no method 'acquire'")

    def Process(self, *args: Any, **kwargs: Any) -> Any:  # noqa: N802
        if self._process_factory is not None:
            return self._process_factory(*args, **kwargs)
        return self.ctx.Process(*args, **kwargs)

    def overrides(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in INSTRUMENTED}


INSTRUMENTED = ("Lock", "RLock", "RawValue", "RawArray", "Value", "Array", "Process")
SHARED = ("RawValue", "RawArray", "Value", "Array")
_REAL_SHARED: dict[str, Callable[..., Any]] = {name: getattr(multiprocessing.sharedctypes, name) for name in SHARED}


def _real_objects() -> dict[int, str]:
    """The real objects a student module may hold, by id (taken before anything is patched)."""
    mp, shared, sync = multiprocessing, multiprocessing.sharedctypes, multiprocessing.synchronize
    found = {id(getattr(mp, name)): name for name in INSTRUMENTED}
    found.update({id(getattr(shared, name)): name for name in SHARED})
    found.update({id(sync.Lock): "Lock", id(sync.RLock): "RLock", id(multiprocessing.context.Process): "Process"})
    return found


_REAL_OBJECTS = _real_objects()


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
    originals = _REAL_OBJECTS
    shared_overrides = {k: overrides[k] for k in SHARED}
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
    leave = _patch_every_route(factories)

    def restore() -> None:
        for name, value in replaced.items():
            setattr(module, name, value)
        leave()

    return restore


# -- every other route, while a harness substitutes -------------------------------------------
# The factories of the substituting harnesses, innermost last (a list, never rebound: the
# harness's globals are fingerprinted); the patches are in place while it is not empty.
_ACTIVE: list[Factories] = []
_UNDO: list[Callable[[], None]] = []


def _student_factories(frame: types.FrameType | None) -> Factories | None:
    """The factories to use for a call made from `frame`: only a student's file gets instruments."""
    if not _ACTIVE or frame is None:
        return None
    factories = _ACTIVE[-1]
    return factories if is_student_file(frame.f_code.co_filename, factories.config.student_dirs) else None


def _routed(name: str, real: Callable[..., Any], *, method: bool) -> Callable[..., Any]:
    """`real`, except that a call from student code gets the instrument `name`."""
    if method:
        def route(self: Any, *args: Any, **kwargs: Any) -> Any:
            factories = _student_factories(sys._getframe(1))
            if factories is None:
                return real(self, *args, **kwargs)
            return getattr(factories, name)(*args, **kwargs)
    else:
        def route(*args: Any, **kwargs: Any) -> Any:
            factories = _student_factories(sys._getframe(1))
            if factories is None:
                return real(*args, **kwargs)
            return getattr(factories, name)(*args, **kwargs)
    route.__name__ = route.__qualname__ = name
    route.__doc__ = real.__doc__
    return route


_STDLIB_PROCESSES = frozenset(
    cls for cls in vars(multiprocessing.context).values()
    if isinstance(cls, type) and issubclass(cls, multiprocessing.process.BaseProcess)
) | {multiprocessing.process.BaseProcess}


def _new_process(cls: type, *args: Any, **kwargs: Any) -> Any:
    """`Process(...)` of any standard class (`ctx.Process`, `multiprocessing.context.SpawnProcess`):
    a supervised process when the student's code makes it. A subclass of the student's own is
    left real (the judge then says it could not see it)."""
    factories = _student_factories(sys._getframe(1)) if cls in _STDLIB_PROCESSES else None
    if factories is None:
        return object.__new__(cls)
    return factories.Process(*args, **kwargs)


def _new_lock(name: str) -> Callable[..., Any]:
    def new(cls: type, *args: Any, **kwargs: Any) -> Any:
        factories = _student_factories(sys._getframe(1))
        return object.__new__(cls) if factories is None else getattr(factories, name)()
    return new


def _patch_every_route(factories: Factories) -> Callable[[], None]:
    """Route every way of making the lesson's objects to `factories` until the returned undo."""
    _ACTIVE.append(factories)
    if len(_ACTIVE) == 1:
        _install()

    def leave() -> None:
        if factories in _ACTIVE:
            _ACTIVE.remove(factories)
        if not _ACTIVE:
            while _UNDO:
                _UNDO.pop()()
    return leave


def _set(owner: Any, name: str, value: Any) -> None:
    had = name in vars(owner)
    old = vars(owner).get(name)
    setattr(owner, name, value)
    _UNDO.append(lambda: setattr(owner, name, old) if had else delattr(owner, name))


def _install() -> None:
    base = multiprocessing.context.BaseContext
    for name in INSTRUMENTED[:-1]:
        _set(base, name, _routed(name, vars(base)[name], method=True))
        _set(multiprocessing, name, _routed(name, getattr(multiprocessing, name), method=False))
    for name in SHARED:
        _set(multiprocessing.sharedctypes, name, _routed(name, _REAL_SHARED[name], method=False))
    # A class's `__new__`, once set, cannot be deleted again without breaking the class
    # (CPython keeps a slot that rejects the constructor's arguments): these stay, and make
    # real objects whenever no harness substitutes.
    for cls, new in ((multiprocessing.process.BaseProcess, _new_process),
                     (multiprocessing.synchronize.Lock, _new_lock("Lock")),
                     (multiprocessing.synchronize.RLock, _new_lock("RLock"))):
        if "__new__" not in vars(cls):
            cls.__new__ = staticmethod(new)  # type: ignore[assignment]

"""Wrappers for `RawValue` and `RawArray` that check who touches them, and widen races.

In child processes each read and write is journaled with the tracked locks the process
holds, so the parent can apply Eraser's lockset rule per location. Accesses in the parent
are checked differently: they are fine before the children start and after they are
joined, and reported if they happen while children are still running.

Every access also records the value read or written (a read with the time just before it
read the memory), and each shared object its initial value, under an id of its own: from
these the judge knows what the shared data holds after the run, and which value a read could
have seen (`grader/judge/answer_evidence.py`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from grader.harness.runtime import (
    RunConfig,
    caller_site,
    emit,
    in_child,
    parent_harness,
    process_state,
    site_to_json,
)


class _Guarded:
    def __init__(self, raw: Any, config: RunConfig, name: str) -> None:
        self._raw = raw
        self._config = config
        self.name = name
        self.uid = uuid.uuid4().hex[:12]
        initial = [raw.value] if isinstance(self, GuardedValue) else list(raw)
        emit(config, "shared", obj=self.uid, name=name, array=not isinstance(self, GuardedValue),
             vals=[_plain(value) for value in initial])

    def _access(self, op: str, location: str, value: Any = None, before: int | None = None) -> None:
        config = self._config
        site = caller_site(config, depth=3)
        # `before`: a read's time just before it read the memory (its event is journaled after).
        timing = {} if before is None else {"t0": before}
        if not in_child(config):
            harness = parent_harness(config)
            if harness is not None:
                harness._on_parent_access(op, location, site, obj=self.uid,  # type: ignore[attr-defined]
                                          val=_plain(value), **timing)
            return
        state = process_state()
        # Journaled even when locks are not checked: the judge's proof that the children did
        # the work reads these too ("lockset": false keeps them out of the lockset rule).
        emit(
            config,
            "access",
            op=op,
            loc=location,
            held=[held.uid for held in state.held],
            hold=state.holds_started if state.held else 0,
            site=site_to_json(site),
            val=_plain(value),
            obj=self.uid,
            **timing,
            **({} if config.check_locks else {"lockset": False}),
        )
        if op == "write" and not state.held:
            _pause(config.pauses.before_unlocked_write)

    def _after_read(self) -> None:
        if in_child(self._config):
            pauses = self._config.pauses
            _pause(pauses.after_locked_read if process_state().held else pauses.after_unlocked_read)


def _plain(value: Any) -> Any:
    """The value read or written, as the journal can hold it (the witness shows it)."""
    return value if value is None or isinstance(value, (int, float, str)) else repr(value)


def _stored(ctype: Any, value: Any) -> Any:
    """The value as the memory will hold it (a C int wraps around), so the judge compares like
    with like. Raises for a value the type refuses, before anything is journaled."""
    return ctype(value).value


def _pause(seconds: float) -> None:
    if seconds > 0:
        time.sleep(seconds)


class GuardedValue(_Guarded):
    """Same interface as `RawValue`: the number is in `.value`."""

    @property
    def value(self) -> Any:
        before = time.monotonic_ns()
        value = self._raw.value
        self._access("read", self.name, value, before)
        self._after_read()
        return value

    @value.setter
    def value(self, new: Any) -> None:
        try:
            stored = _stored(type(self._raw), new)
        except Exception:  # noqa: BLE001 - refused: the real write raises it, and no write is journaled
            self._raw.value = new
            stored = self._raw.value
        self._access("write", self.name, stored)
        self._raw.value = new

    def __repr__(self) -> str:
        return f"<GuardedValue {self.name}={self._raw.value!r}>"


class GuardedArray(_Guarded):
    """Same interface as `RawArray`: indexing, slicing, `len` and iteration."""

    def __len__(self) -> int:
        return len(self._raw)

    def _indices(self, key: int | slice) -> list[int]:
        if isinstance(key, slice):
            return list(range(*key.indices(len(self._raw))))
        index = key + len(self._raw) if key < 0 else key
        if not 0 <= index < len(self._raw):
            raise IndexError("invalid index")
        return [index]

    def __getitem__(self, key: int | slice) -> Any:
        before = time.monotonic_ns()
        value = self._raw[key]
        values = value if isinstance(key, slice) else [value]
        for index, item in zip(self._indices(key), values, strict=False):
            self._access("read", f"{self.name}[{index}]", item, before)
        self._after_read()
        return value

    def __setitem__(self, key: int | slice, new: Any) -> None:
        items = list(new) if isinstance(key, slice) else [new]
        indices = self._indices(key)
        try:
            if len(items) != len(indices):
                raise ValueError("the slice and the values differ in length")
            stored = [_stored(self._raw._type_, item) for item in items]
        except Exception:  # noqa: BLE001 - refused: the real write raises it, and no write is journaled
            self._raw[key] = items if isinstance(key, slice) else new
            stored = [self._raw[index] for index in indices]
        for index, item in zip(indices, stored, strict=False):
            self._access("write", f"{self.name}[{index}]", item)
        self._raw[key] = items if isinstance(key, slice) else new

    def __iter__(self) -> Iterator[Any]:
        for index in range(len(self._raw)):
            yield self[index]

    def __repr__(self) -> str:
        return f"<GuardedArray {self.name}={list(self._raw)!r}>"


class _OwnLock:
    """What `Value` and `Array` made with a lock add to the raw object: that lock, taken around
    each single read and write (as multiprocessing's synchronized wrappers do), and handed out by
    `get_lock()` so the student can hold it over a whole update."""

    _lock: Any

    def get_lock(self) -> Any:
        return self._lock

    def get_obj(self) -> Any:
        return self

    def acquire(self, *args: Any) -> bool:
        return self._lock.acquire(*args)

    def release(self) -> None:
        self._lock.release()

    def __enter__(self) -> bool:
        return self._lock.__enter__()

    def __exit__(self, *exc: object) -> None:
        self._lock.__exit__(*exc)

    def _locked_read(self, read: Callable[[], Any]) -> Any:
        """One read in its own hold of the lock; the pause after it is the one for a value read
        outside any hold when that was the only lock held, since a write made from it later is
        a separate hold (`counter.value += 1` on a synchronized value loses updates)."""
        self._lock._acquire(True, None, caller_site(self._config, depth=3))  # type: ignore[attr-defined]
        try:
            value = read()
        finally:
            self._lock._release(caller_site(self._config, depth=3))  # type: ignore[attr-defined]
        self._after_read()  # type: ignore[attr-defined]
        return value

    def _locked_write(self, write: Callable[[], None]) -> None:
        self._lock._acquire(True, None, caller_site(self._config, depth=3))  # type: ignore[attr-defined]
        try:
            write()
        finally:
            self._lock._release(caller_site(self._config, depth=3))  # type: ignore[attr-defined]


class SynchronizedValue(_OwnLock, GuardedValue):
    """`Value(typecode, x)` with its lock: each `.value` read or write holds it."""

    def __init__(self, raw: Any, config: RunConfig, name: str, lock: Any) -> None:
        super().__init__(raw, config, name)
        self._lock = lock

    @property
    def value(self) -> Any:
        return self._locked_read(self._read_value)

    @value.setter
    def value(self, new: Any) -> None:
        self._locked_write(lambda: GuardedValue.value.fset(self, new))  # type: ignore[attr-defined]

    def _read_value(self) -> Any:
        value = self._raw.value
        self._access("read", self.name, value)
        return value


class SynchronizedArray(_OwnLock, GuardedArray):
    """`Array(typecode, size)` with its lock: each item read or write holds it."""

    def __init__(self, raw: Any, config: RunConfig, name: str, lock: Any) -> None:
        super().__init__(raw, config, name)
        self._lock = lock

    def __getitem__(self, key: int | slice) -> Any:
        return self._locked_read(lambda: self._read_items(key))

    def __setitem__(self, key: int | slice, new: Any) -> None:
        self._locked_write(lambda: GuardedArray.__setitem__(self, key, new))

    def _read_items(self, key: int | slice) -> Any:
        value = self._raw[key]
        values = value if isinstance(key, slice) else [value]
        for index, item in zip(self._indices(key), values, strict=False):
            self._access("read", f"{self.name}[{index}]", item)
        return value

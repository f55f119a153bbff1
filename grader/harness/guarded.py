"""Stand-ins for `RawValue` and `RawArray` whose data lives in the run's referee.

Every read and write is one operation sent to the referee, which holds the only copy of the
data: it answers reads from it, stores writes in it (as the declared C type would: a C int
wraps around), and journals each access under the caller's verified process id with the locks
the referee itself knows it holds. So a value can change only through an operation the referee
recorded, and the judge reads what the data holds from the referee, not from the student's
processes. Values are checked here first, so a write the C type refuses raises the same error
as a real `RawValue` would, in the student's process.
"""

from __future__ import annotations

import ctypes
import multiprocessing.sharedctypes
from collections.abc import Callable, Iterator
from typing import Any

from grader.harness.runtime import RunConfig, caller_site, parent_harness, site_to_json
from grader.referee.client import ask
from grader.referee.wire import C_TYPES, value_from_wire, value_to_wire


def _ctype_of(typecode_or_type: Any) -> Any:
    return multiprocessing.sharedctypes.typecode_to_type.get(typecode_or_type, typecode_or_type)


def _code(ctype: Any) -> str:
    """The C type as the referee names it (`c_int`); a type it does not hold is refused there."""
    return getattr(ctype, "__name__", str(ctype))


def _stored(ctype: Any, value: Any) -> Any:
    """The value as the memory will hold it; raises for a value the type refuses, as a real
    shared value does, before anything is sent."""
    return ctype(value).value


class _Guarded:
    _array = False

    def __init__(self, config: RunConfig, name: str, ctype: Any, initial: list[Any] | None, size: int | None,
                 *, uid: str | None = None, book: bool = False) -> None:
        if _code(ctype) not in C_TYPES:
            raise TypeError(f"the grader's shared values hold numbers, characters and bools, not {ctype!r}")
        self._config = config
        self.name = name
        self._ctype = ctype
        self._book = book
        reply = ask(config.referee, "shared", code=_code(ctype), array=self._array, name=name, uid=uid, book=book,
                    vals=None if initial is None else [value_to_wire(v) for v in initial], size=size)
        self.uid = str(reply["uid"])
        self._size = size if initial is None else len(initial)

    def _read(self, indices: list[int] | None) -> list[Any]:
        site = caller_site(self._config, depth=2)
        reply = ask(self._config.referee, "read", uid=self.uid, index=indices, site=site_to_json(site))
        self._tell_parent()
        return [value_from_wire(v) for v in reply["vals"]]

    def _write(self, indices: list[int] | None, values: list[Any]) -> None:
        site = caller_site(self._config, depth=2)
        ask(self._config.referee, "write", uid=self.uid, index=indices, vals=[value_to_wire(v) for v in values],
            site=site_to_json(site))
        self._tell_parent()

    def _tell_parent(self) -> None:
        """The run's parent touching shared data while children run opens their start gate."""
        harness = parent_harness(self._config)
        if harness is not None and not self._book:
            harness._on_parent_access()  # type: ignore[attr-defined]


class GuardedValue(_Guarded):
    """Same interface as `RawValue`: the number is in `.value`."""

    def __init__(self, config: RunConfig, name: str, typecode_or_type: Any, *args: Any, uid: str | None = None) -> None:
        ctype = _ctype_of(typecode_or_type)
        initial = ctype(*args).value  # as `RawValue(typecode, *args)` makes it (raises as it does)
        super().__init__(config, name, ctype, [initial], None, uid=uid)

    @property
    def value(self) -> Any:
        return self._read(None)[0]

    @value.setter
    def value(self, new: Any) -> None:
        self._write(None, [_stored(self._ctype, new)])

    def __repr__(self) -> str:
        return f"<GuardedValue {self.name}>"


class GuardedArray(_Guarded):
    """Same interface as `RawArray`: indexing, slicing, `len` and iteration."""

    _array = True

    def __init__(self, config: RunConfig, name: str, typecode_or_type: Any, size_or_initializer: Any,
                 *, uid: str | None = None, book: bool = False) -> None:
        ctype = _ctype_of(typecode_or_type)
        if isinstance(size_or_initializer, int):
            ctypes.sizeof(ctype) * size_or_initializer  # noqa: B018 - a negative size raises as RawArray does
            if size_or_initializer < 0:
                raise ValueError("Array length must be >= 0")
            super().__init__(config, name, ctype, None, size_or_initializer, uid=uid, book=book)
        else:
            initial = list((ctype * len(size_or_initializer))(*size_or_initializer))
            super().__init__(config, name, ctype, initial, None, uid=uid, book=book)

    def __len__(self) -> int:
        return int(self._size or 0)

    def _indices(self, key: int | slice) -> list[int]:
        if isinstance(key, slice):
            return list(range(*key.indices(len(self))))
        index = key.__index__()
        index = index + len(self) if index < 0 else index
        if not 0 <= index < len(self):
            raise IndexError("invalid index")
        return [index]

    def __getitem__(self, key: int | slice) -> Any:
        values = self._read(self._indices(key))
        if isinstance(key, slice):
            return b"".join(values) if self._ctype is ctypes.c_char else values  # as a c_char array slices
        return values[0]

    def __setitem__(self, key: int | slice, new: Any) -> None:
        indices = self._indices(key)
        items = list(new) if isinstance(key, slice) else [new]
        if len(items) != len(indices):
            raise ValueError("Can only assign sequence of same size")
        if self._ctype is ctypes.c_char and isinstance(key, slice):
            items = [bytes([item]) if isinstance(item, int) else item for item in items]
        self._write(indices, [_stored(self._ctype, item) for item in items])

    def __iter__(self) -> Iterator[Any]:
        for index in range(len(self)):
            yield self[index]

    def __repr__(self) -> str:
        return f"<GuardedArray {self.name}>"


class _OwnLock:
    """What `Value` and `Array` made with a lock add: that lock, taken around each single read
    and write (as multiprocessing's synchronized wrappers do), and handed out by `get_lock()` so
    the student can hold it over a whole update."""

    _lock: Any
    _config: RunConfig

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

    def _locked(self, action: Callable[[], Any]) -> Any:
        """One read or write in its own hold of the lock (`counter.value += 1` on a synchronized
        value is two holds, and loses updates)."""
        site = caller_site(self._config, depth=2)
        self._lock._acquire(True, None, site)
        try:
            return action()
        finally:
            self._lock._release(site)


class SynchronizedValue(_OwnLock, GuardedValue):
    """`Value(typecode, x)` with its lock: each `.value` read or write holds it."""

    def __init__(self, config: RunConfig, name: str, lock: Any, typecode_or_type: Any, *args: Any) -> None:
        super().__init__(config, name, typecode_or_type, *args)
        self._lock = lock

    @property
    def value(self) -> Any:
        return self._locked(lambda: self._read(None)[0])

    @value.setter
    def value(self, new: Any) -> None:
        stored = _stored(self._ctype, new)
        self._locked(lambda: self._write(None, [stored]))


class SynchronizedArray(_OwnLock, GuardedArray):
    """`Array(typecode, size)` with its lock: each item read or write holds it."""

    def __init__(self, config: RunConfig, name: str, lock: Any, typecode_or_type: Any,
                 size_or_initializer: Any) -> None:
        super().__init__(config, name, typecode_or_type, size_or_initializer)
        self._lock = lock

    def __getitem__(self, key: int | slice) -> Any:
        return self._locked(lambda: GuardedArray.__getitem__(self, key))

    def __setitem__(self, key: int | slice, new: Any) -> None:
        self._locked(lambda: GuardedArray.__setitem__(self, key, new))

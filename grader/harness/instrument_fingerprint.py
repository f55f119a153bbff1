"""Is the harness still the harness? A fingerprint of the instruments, taken before the student's
code is loaded into a process and compared after it ran.

The instruments (tracked locks, guarded values, supervised processes, the journal) run inside
the student's own processes, where Python cannot protect them. What it can do is notice: every
function and class attribute of the harness's modules, and the few standard-library functions
the journal and the race pauses rely on, are remembered by identity; a process in which any of
them was replaced reports it, and the judge fails the test as interference.

Replacing an object is not the only way to change what it does: a function's code, defaults
and closure can be swapped in place, and so can the functions behind a property, a static or
class method or a cached function. Those are remembered too, for every function watched.
"""

from __future__ import annotations

import functools
import importlib
import json
import multiprocessing.process
import multiprocessing.synchronize
import os
import sys
import time
import types
from dataclasses import dataclass
from itertools import repeat
from operator import attrgetter, getitem, is_
from typing import Any

_STDLIB = (
    (os, ("write", "open", "close", "getpid", "kill", "killpg", "getppid", "_exit")),
    (time, ("sleep", "monotonic", "monotonic_ns", "time")),
    (json, ("dumps",)),
    (sys, ("_getframe",)),
)
_STDLIB_CLASSES = (
    json.JSONEncoder,
    multiprocessing.process.BaseProcess,
    multiprocessing.synchronize.SemLock,
)
# Globals the harness itself rebinds while it runs (per-process state).
_MUTABLE = {("grader.harness.runtime", "_STATE")}
_MISSING = object()


Items = tuple[tuple[str, object], ...]
# (label, function, what it runs: code, defaults, keyword defaults, closure contents)
Inner = tuple[tuple[str, Any, tuple[object, ...]], ...]
_EMPTY_CELL = object()
_CACHED = type(functools.lru_cache(maxsize=1)(lambda: None))
_WRAPPING = frozenset((types.FunctionType, property, staticmethod, classmethod, _CACHED))


@dataclass(frozen=True)
class Fingerprint:
    """(label, live namespace, items) for every namespace watched: the modules' and classes'
    own dicts, read again at each check, and their (name, object) items as they were. The
    items keep the objects, not their ids, since an id can be reused by a replacement once the
    original is freed; they are tuples, so nothing can edit them in place, and taking a dict's
    items whole is what makes a fingerprint cheap enough for every process."""

    entries: tuple[tuple[str, Any, Items], ...]
    functions: Inner = ()
    screen: Screen | None = None


_CODE = attrgetter("__code__")
_DEFAULTS = attrgetter("__defaults__")
_KWDEFAULTS = attrgetter("__kwdefaults__")
_CLOSURE = attrgetter("__closure__")
_CONTENTS = attrgetter("cell_contents")


@dataclass(frozen=True)
class Screen:
    """The same facts as a fingerprint's entries and functions, laid out so that "nothing
    changed" is decided by the interpreter's own loops (`map` and `operator.is_`), without a
    Python-level step per name. The host checks after every request, so this is most of what a
    check costs; anything it cannot vouch for is left to the exact, slower comparison."""

    # Every watched name as (namespace, name, object), flattened into three tuples.
    namespaces: tuple[tuple[Any, ...], tuple[str, ...], tuple[object, ...]]
    functions: tuple[Any, ...]
    codes: tuple[object, ...]
    defaults: tuple[object, ...]
    # Functions with keyword-only parameters: their keyword defaults dict (or None), and each
    # entry of those dicts as (dict, key, value), with the dicts' sizes.
    keyword_functions: tuple[Any, ...]
    keyword_dicts: tuple[Any, ...]
    keyword_entries: tuple[tuple[Any, ...], tuple[str, ...], tuple[object, ...]]
    keyword_sizes: tuple[tuple[Any, ...], tuple[int, ...]]
    # Functions with a closure: the closure tuple, and each cell with its contents.
    closure_functions: tuple[Any, ...]
    closures: tuple[Any, ...]
    cells: tuple[Any, ...]
    contents: tuple[object, ...]

    @classmethod
    def of(cls, entries: tuple[tuple[str, Any, Items], ...], functions: Inner) -> Screen:
        names = [(namespace, key, value) for _, namespace, items in entries for key, value in items]
        watched = [function for _, function, _ in functions]
        keyworded = [(function, keywords) for _, function, (code, _, keywords, _) in functions
                     if keywords is not None or code.co_kwonlyargcount]
        dicts = [function.__kwdefaults__ for function, _ in keyworded]
        flat = [(now, key, value) for now, (_, keywords) in zip(dicts, keyworded, strict=True)
                for key, value in keywords or ()]
        closed = [(function, cells) for _, function, (_, _, _, cells) in functions if cells]
        closures = [function.__closure__ for function, _ in closed]
        cells = [(cell, was) for closure, (_, contents) in zip(closures, closed, strict=True)
                 for cell, was in zip(closure, contents, strict=True)]
        sized = [d for d in dicts if d is not None]
        return cls(
            (tuple(n for n, _, _ in names), tuple(k for _, k, _ in names), tuple(v for _, _, v in names)),
            tuple(watched), tuple(runs[0] for _, _, runs in functions), tuple(runs[1] for _, _, runs in functions),
            tuple(f for f, _ in keyworded), tuple(dicts),
            (tuple(d for d, _, _ in flat), tuple(k for _, k, _ in flat), tuple(v for _, _, v in flat)),
            (tuple(sized), tuple(len(d) for d in sized)),
            tuple(f for f, _ in closed), tuple(closures),
            tuple(c for c, _ in cells), tuple(w for _, w in cells),
        )

    def unchanged(self) -> bool:
        """True only when every watched name still holds its object and every watched function
        still runs the same code, defaults, keyword defaults and closure contents."""
        namespaces, names, objects = self.namespaces
        dicts, keys, values = self.keyword_entries
        sized, sizes = self.keyword_sizes
        try:
            return (all(map(is_, map(getitem, namespaces, names), objects))
                    and all(map(is_, map(_CODE, self.functions), self.codes))
                    and all(map(is_, map(_DEFAULTS, self.functions), self.defaults))
                    and all(map(is_, map(_KWDEFAULTS, self.keyword_functions), self.keyword_dicts))
                    and list(map(len, sized)) == list(sizes)
                    and all(map(is_, map(dict.get, dicts, keys, repeat(_MISSING)), values))
                    and all(map(is_, map(_CLOSURE, self.closure_functions), self.closures))
                    and all(map(is_, map(_CONTENTS, self.cells), self.contents)))
        except (KeyError, ValueError, TypeError):  # a name removed, an emptied cell, a dict no more
            return False


# The judge's code and the test runner's: a forked host has them loaded (from the judge), and
# nothing a submission legitimately does changes them. The runner's are many, so they are
# compared once, after the student's module is loaded (where such patches are made).
HARNESS = ("grader",)
EVERYTHING = ("grader", "_pytest", "pytest", "pluggy")


def _harness_modules(packages: tuple[str, ...]) -> list[Any]:
    return [module for name, module in list(sys.modules.items())
            if module is not None and name.split(".")[0] in packages]


def _entry(owner: str, namespace: Any) -> tuple[str, Any, Items]:
    items = tuple(namespace.items())
    if any(module_name == owner for module_name, _ in _MUTABLE):
        items = tuple(item for item in items if (owner, item[0]) not in _MUTABLE)
    return owner, namespace, items


def _cell(cell: Any) -> object:
    try:
        return cell.cell_contents
    except ValueError:  # a cell not filled yet
        return _EMPTY_CELL


def _runs(function: types.FunctionType) -> tuple[object, ...]:
    """What a function runs, each part by identity: swapping any of them in place changes it."""
    keywords = function.__kwdefaults__
    return (function.__code__, function.__defaults__,
            tuple(keywords.items()) if keywords else None,
            tuple(_cell(cell) for cell in function.__closure__ or ()))


def _functions_of(label: str, value: object) -> list[tuple[str, types.FunctionType]]:
    """The Python functions behind a watched object: itself (and the original it wraps), a
    property's accessors, a static or class method's function, a cached function's original."""
    kind = type(value)
    if kind is types.FunctionType:
        inner = value.__dict__.get("__wrapped__") if value.__dict__ else None  # type: ignore[attr-defined]
        return [(label, value)] + _functions_of(f"{label}.__wrapped__", inner)  # type: ignore[list-item]
    if kind is property:
        return [(f"{label}.{part}", f) for part in ("fget", "fset", "fdel")
                if type(f := getattr(value, part)) is types.FunctionType]
    if kind is staticmethod or kind is classmethod:
        return _functions_of(label, value.__func__)  # type: ignore[attr-defined]
    if kind is _CACHED:
        return _functions_of(f"{label}.__wrapped__", value.__wrapped__)  # type: ignore[attr-defined]
    return []


def _inner(entries: list[tuple[str, Any, Items]]) -> Inner:
    found = []
    wrapping = _WRAPPING
    for owner, _, items in entries:
        for name, value in items:
            if type(value) in wrapping:
                found += [(label, function, _runs(function))
                          for label, function in _functions_of(f"{owner}.{name}", value)]
    return tuple(found)


def _runs_other(function: types.FunctionType, runs: tuple[Any, ...]) -> bool:
    code, defaults, keywords, cells = runs
    if function.__code__ is not code or function.__defaults__ is not defaults:
        return True
    if keywords is not None or function.__kwdefaults__:
        now = function.__kwdefaults__
        if now is None or len(now) != len(keywords or ()) or any(now.get(k, _MISSING) is not v for k, v in keywords or ()):
            return True
    return bool(cells) and any(_cell(cell) is not was for cell, was in zip(function.__closure__ or (), cells, strict=True))


def fingerprint(packages: tuple[str, ...] = HARNESS, deep: tuple[str, ...] = HARNESS, *,
                screened: bool = True) -> Fingerprint:
    """Every global of the watched modules, every attribute of their classes, the
    standard-library functions the instruments call, and what the functions of the `deep`
    packages and the standard library's run (the test runner's are many, and only a patched
    copy of them would change: the tests run in the judge). `screened`: with a `Screen`, for a
    fingerprint checked often (a host's, after every request)."""
    entries = []
    for module in _harness_modules(packages):
        namespace = vars(module)
        entries.append(_entry(module.__name__, namespace))
        entries += [_entry(f"{module.__name__}.{value.__qualname__}", value.__dict__)
                    for value in list(namespace.values())
                    if isinstance(value, type) and value.__module__ == module.__name__]
    for module, names in _STDLIB:
        namespace = vars(module)
        entries.append((module.__name__, namespace, tuple((name, namespace.get(name)) for name in names)))
    entries += [_entry(f"{cls.__module__}.{cls.__qualname__}", cls.__dict__) for cls in _STDLIB_CLASSES]
    inner = [entry for entry in entries if entry[0].split(".")[0] in deep or not entry[0].startswith(packages)]
    entries_now, functions = tuple(entries), _inner(inner)
    return Fingerprint(entries_now, functions, Screen.of(entries_now, functions) if screened else None)


# What a child forked from the host is checked against: the host's fingerprint, taken before
# any student code loaded (the host's state before the fork is the host's own check's
# business, and a fresh fingerprint per child would cost a few milliseconds of copied memory
# pages each). It is a copy sharing the host's entries, so student code in the host reaches
# only the copy; the list is watched like every global, and the host checks its content.
_BASELINE: list[Fingerprint] = []


def set_baseline(before: Fingerprint) -> None:
    """Make (a copy of) `before` what this process and its forked children are checked
    against. Once per process: a second baseline (one re-taken after changing the harness)
    leaves two, which `is_baseline` refuses."""
    _BASELINE.append(Fingerprint(before.entries, before.functions, before.screen))


# What a run's child runs of the harness: the instruments and what they import (the runtime, the
# referee's client). The judge's side (the journal's analysis, the witnesses, the referee's
# server) never runs in a child, so a spawned child neither loads nor watches it: loading it
# would be most of a child's start-up.
CHILD_INSTRUMENTS = (
    "grader.harness.supervisor",
    "grader.harness.tracked_lock",
    "grader.harness.guarded",
    "grader.harness.substitution",
)


def spawned_baseline(child_modules: tuple[str, ...] = ()) -> None:
    """In a spawned (or fork-server) child, before anything of the student's is unpickled: load
    what the harness uses, and the grader's `child_modules` the run's children may run (named
    by whoever made the run: the student host names the suites' process targets), and take
    this process's baseline."""
    for name in (*CHILD_INSTRUMENTS, *child_modules):
        importlib.import_module(name)
    if not _BASELINE:
        set_baseline(fingerprint(screened=False))  # a child checks once, as it ends


def is_baseline(before: Fingerprint) -> bool:
    """Whether forked children are still checked against `before`'s entries, untouched."""
    return len(_BASELINE) == 1 and _BASELINE[0].entries is before.entries


def baseline() -> Fingerprint:
    """What this process is checked against: the fingerprint inherited from a host it was forked
    from, else a new one (a spawned child, or a run outside a host)."""
    return _BASELINE[0] if _BASELINE else fingerprint(screened=False)


def changed(before: Fingerprint) -> list[str]:
    """What was replaced or removed since `before` (new names are fine: lazy imports add some),
    and which functions run other code, defaults or closure contents than they did."""
    if before.screen is not None and before.screen.unchanged():
        return []
    found = []
    for owner, namespace, items in before.entries:
        get = namespace.get
        found += [f"{owner}.{key}" for key, value in items if get(key, _MISSING) is not value]
    found += [label for label, function, (code, defaults, keywords, cells) in before.functions
              if function.__code__ is not code or function.__defaults__ is not defaults
              or ((keywords is not None or cells or code.co_kwonlyargcount)
                  and _runs_other(function, (code, defaults, keywords, cells)))]
    return sorted(found)[:5]

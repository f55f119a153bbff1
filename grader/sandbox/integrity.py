"""Is the harness still the harness? A fingerprint of the instruments, taken before the student's
code is loaded into a process and compared after it ran.

The instruments (tracked locks, guarded values, supervised processes, the journal) run inside
the student's own processes, where Python cannot protect them. What it can do is notice: every
function and class attribute of the harness's modules, and the few standard-library functions
the journal and the race pauses rely on, are remembered by identity; a process in which any of
them was replaced reports it, and the judge fails the test as interference.
"""

from __future__ import annotations

import json
import multiprocessing.process
import multiprocessing.synchronize
import os
import sys
import time
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Fingerprint:
    """(label, live namespace, items) for every namespace watched: the modules' and classes'
    own dicts, read again at each check, and their (name, object) items as they were. The
    items keep the objects, not their ids, since an id can be reused by a replacement once the
    original is freed; they are tuples, so nothing can edit them in place, and taking a dict's
    items whole is what makes a fingerprint cheap enough for every process."""

    entries: tuple[tuple[str, Any, Items], ...]


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


def fingerprint(packages: tuple[str, ...] = HARNESS) -> Fingerprint:
    """Every global of the watched modules, every attribute of their classes, and the
    standard-library functions the instruments call."""
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
    return Fingerprint(tuple(entries))


# What a child forked from the host is checked against: the host's fingerprint, taken before
# any student code loaded (the host's state before the fork is the host's own check's
# business, and a fresh fingerprint per child would cost a few milliseconds of copied memory
# pages each). It is a copy sharing the host's entries, so student code in the host reaches
# only the copy; the list is watched like every global, and the host checks its content.
_BASELINE: list[Fingerprint] = []


def set_baseline(before: Fingerprint) -> None:
    """Make (a copy of) `before` what forked children of this process are checked against."""
    _BASELINE[:] = [Fingerprint(before.entries)]


def is_baseline(before: Fingerprint) -> bool:
    """Whether forked children are still checked against `before`'s entries, untouched."""
    return len(_BASELINE) == 1 and _BASELINE[0].entries is before.entries


def baseline() -> Fingerprint:
    """What this process is checked against: the fingerprint inherited from a host it was forked
    from, else a new one (a spawned child, or a run outside a host)."""
    return _BASELINE[0] if _BASELINE else fingerprint()


def changed(before: Fingerprint) -> list[str]:
    """What was replaced or removed since `before` (new names are fine: lazy imports add some)."""
    found = []
    for owner, namespace, items in before.entries:
        get = namespace.get
        found += [f"{owner}.{key}" for key, value in items if get(key, _MISSING) is not value]
    return sorted(found)[:5]

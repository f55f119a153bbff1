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


@dataclass(frozen=True)
class Fingerprint:
    """(label, live namespace, name, object) for everything watched. The namespaces are the
    modules' and classes' own dicts, read again at each check; the objects are kept, not their
    ids, since an id can be reused by the replacement once the original is freed."""

    entries: tuple[tuple[str, Any, str, object], ...]


# The judge's code and the test runner's: a forked host has them loaded (from the judge), and
# nothing a submission legitimately does changes them. The runner's are many, so they are
# compared once, after the student's module is loaded (where such patches are made).
HARNESS = ("grader",)
EVERYTHING = ("grader", "_pytest", "pytest", "pluggy")


def _harness_modules(packages: tuple[str, ...]) -> list[Any]:
    return [module for name, module in list(sys.modules.items())
            if module is not None and name.split(".")[0] in packages]


def _entries(owner: str, namespace: Any, into: list[tuple[str, Any, str, object]]) -> None:
    for key, value in list(namespace.items()):
        if (owner, key) not in _MUTABLE:
            into.append((owner, namespace, key, value))


def fingerprint(packages: tuple[str, ...] = HARNESS) -> Fingerprint:
    """Every global of the watched modules, every attribute of their classes, and the
    standard-library functions the instruments call."""
    entries: list[tuple[str, Any, str, object]] = []
    for module in _harness_modules(packages):
        namespace = vars(module)
        _entries(module.__name__, namespace, entries)
        for value in list(namespace.values()):
            if isinstance(value, type) and value.__module__ == module.__name__:
                _entries(f"{module.__name__}.{value.__qualname__}", value.__dict__, entries)
    for module, names in _STDLIB:
        namespace = vars(module)
        entries += [(module.__name__, namespace, name, namespace.get(name)) for name in names]
    for cls in _STDLIB_CLASSES:
        _entries(f"{cls.__module__}.{cls.__qualname__}", cls.__dict__, entries)
    return Fingerprint(tuple(entries))


def changed(before: Fingerprint) -> list[str]:
    """What was replaced or removed since `before` (new names are fine: lazy imports add some)."""
    return sorted(f"{owner}.{key}" for owner, namespace, key, value in before.entries
                  if namespace.get(key, _MISSING) is not value)[:5]

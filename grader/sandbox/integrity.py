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
# The objects themselves, not their ids: an id can be reused by the replacement once the
# original is freed.
Fingerprint = dict[tuple[str, str], object]


# The judge's code and the test runner's: a forked host has them loaded (from the judge), and
# nothing a submission legitimately does changes them. The runner's are many, so they are
# compared once, after the student's module is loaded (where such patches are made).
HARNESS = ("grader",)
EVERYTHING = ("grader", "_pytest", "pytest", "pluggy")


def _harness_modules(packages: tuple[str, ...]) -> list[Any]:
    return [module for name, module in list(sys.modules.items())
            if module is not None and name.split(".")[0] in packages]


def _class_entries(owner: str, cls: type, into: Fingerprint) -> None:
    for key, value in list(vars(cls).items()):
        into[(f"{owner}.{cls.__qualname__}", key)] = value


def fingerprint(packages: tuple[str, ...] = HARNESS) -> Fingerprint:
    """Every global of the harness's modules, every attribute of their classes, and
    the standard-library functions the instruments call."""
    prints: Fingerprint = {}
    for module in _harness_modules(packages):
        for key, value in list(vars(module).items()):
            if (module.__name__, key) in _MUTABLE:
                continue
            prints[(module.__name__, key)] = value
            if isinstance(value, type) and value.__module__ == module.__name__:
                _class_entries(module.__name__, value, prints)
    for module, names in _STDLIB:
        for name in names:
            prints[(module.__name__, name)] = getattr(module, name, None)
    for cls in _STDLIB_CLASSES:
        _class_entries(cls.__module__, cls, prints)
    return prints


def changed(before: Fingerprint, packages: tuple[str, ...] = HARNESS) -> list[str]:
    """What was replaced or removed since `before` (new globals of the harness are fine: lazy
    imports add some)."""
    now = fingerprint(packages)
    missing = object()
    return sorted(f"{owner}.{name}" for (owner, name), value in before.items()
                  if now.get((owner, name), missing) is not value)[:5]

"""The concurrency-checking harness: tracked locks, guarded shared values, supervised processes.

    runtime        settings and per-process state every process of a run shares; the journal
    tracked_lock   drop-in Lock/RLock: a stand-in for a lock the run's referee holds (grader/referee/)
    guarded        drop-in RawValue/RawArray: stand-ins for data the referee holds and journals
    supervisor     drop-in Process: gate, crash capture, stack dumps, process-group kill
    substitution   puts those instruments into a student's module, whatever its import style
    instrument_fingerprint  is the harness still the harness: tampering in a process is reported
    run_records    what a run left behind: its journal (read as untrusted data), its children, stack dumps
    lock_table     who holds and waits for which lock: deadlock cycles, locks stranded by an ended process
    finding_rules  journal -> findings (lock order, locksets, unreleased locks, start/join order, ...)
    witness        a concurrency failure's witness (steps and timeline); witness_drawing draws one from
                   the journal, journal_words puts the journal's events into words
    session        Harness: one checked run tying the above together
    lock_balance   static check (ast) for acquires that some path leaves unreleased
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grader.harness.findings import ConcurrencyFailure, Finding
    from grader.harness.runtime import Pauses
    from grader.harness.session import Harness

# Loaded on first use: a spawned child process imports only the instruments it runs (the
# journal analysis and the witnesses stay out of it).
_EXPORTS = {
    "ConcurrencyFailure": "grader.harness.findings",
    "Finding": "grader.harness.findings",
    "Harness": "grader.harness.session",
    "Pauses": "grader.harness.runtime",
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'grader.harness' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


__all__ = ["ConcurrencyFailure", "Finding", "Harness", "Pauses"]

"""The concurrency-checking harness: tracked locks, guarded shared values, supervised processes.

    runtime        settings and per-process state every process of a run shares; the journal
    tracked_lock   drop-in Lock that records holders, refuses self-deadlock and foreign release
    guarded        drop-in RawValue/RawArray wrappers: lockset journaling and race amplification
    supervisor     drop-in Process: gate, crash capture, stack dumps, process-group kill
    substitution   puts those instruments into a student's module, whatever its import style
    analysis       journal -> findings (deadlock cycles, lock order, locksets, unreleased locks)
    session        Harness: one checked run tying the above together
    lock_balance   static check (ast) for acquires that some path leaves unreleased
"""

from grader.harness.findings import ConcurrencyFailure, Finding
from grader.harness.runtime import Pauses
from grader.harness.session import Harness

__all__ = ["ConcurrencyFailure", "Finding", "Harness", "Pauses"]

"""An invariant observer: a process that, while the student's processes run, repeatedly takes
every lock the way a correct program would (all of them, in index order), reads the shared
values, and journals any moment at which their invariant (a total) does not hold.

A correct program changes the values only while holding the locks, so the observer can never
see it half done. An update split into separate holds (money leaves one account in one hold
and arrives in the other in the next) is seen in between. The observer uses the raw locks and
the raw array, not the instruments, so it adds nothing to the lockset or lock-order records.
"""

from __future__ import annotations

import time
from typing import Any

from grader.harness.runtime import RunConfig, emit

ACQUIRE_TIMEOUT = 0.05
PERIOD = 0.0005


def observe_total(config: RunConfig, values: Any, locks: list[Any], total: int, what: str,
                  locations: list[str], stop: Any) -> None:
    """Until `stop` is set: snapshot `values` under all `locks`; journal the first broken total."""
    while not stop.is_set():
        taken = []
        try:
            for lock in locks:
                if not lock.acquire(True, ACQUIRE_TIMEOUT):
                    break
                taken.append(lock)
            else:
                seen = list(values)
                if sum(seen) != total:
                    emit(config, "invariant", what=what, seen=seen, expected=total, locations=locations)
                    return
        finally:
            for lock in reversed(taken):
                lock.release()
        time.sleep(PERIOD)

"""How much longer than on a quiet machine a wait may take: the judge's wall-clock limits
(a run's deadline, a host call's) are stretched by it, so a correct program on a busy machine
is not stopped as too slow.

A deadlock or a never-released lock is found from the lock table in seconds, whatever the load;
only the deadline for code that never finishes waits longer on a busy machine, and never more
than `MAX_STRETCH` times. The load is the 1-minute load average per usable core: a machine
running twice as many runnable processes as it has cores gives each about half the time.
"""

from __future__ import annotations

import functools
import os

MAX_STRETCH = 6.0  # a limit never grows past this many times its quiet-machine value


@functools.cache
def _cores() -> int:
    """Usable cores, read once: the limits are checked at every poll of a wait."""
    if hasattr(os, "sched_getaffinity"):
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except OSError:
            pass
    return max(1, os.cpu_count() or 1)


def stretch() -> float:
    """1.0 on a machine with a core free for every runnable process; the load per core above
    that, up to `MAX_STRETCH` (1.0 where the platform has no load average)."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # Windows
        return 1.0
    return min(MAX_STRETCH, max(1.0, load / _cores()))


def stretched(seconds: float) -> float:
    """`seconds` as the limit of a wait starting now on this machine."""
    return seconds * stretch()

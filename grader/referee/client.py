"""A student process's side of the referee: one connection per process and thread, one call per
operation, its answer awaited. Used by the stand-ins in `grader/harness/` and nothing else."""

from __future__ import annotations

import os
import threading
from typing import Any

from grader.referee.wire import Connection

_LOCAL = threading.local()


class RefereeGone(ConnectionError):
    """The referee is no longer there: the run is over (or was stopped)."""


class Refused(RuntimeError):
    """The referee did not carry out an operation (it is journaled as interference)."""


def ask(address: str, op: str, **fields: Any) -> dict[str, Any]:
    """Send one operation to the referee at `address` and return its answer."""
    if getattr(_LOCAL, "pid", None) != os.getpid():  # a forked child opens connections of its own
        _LOCAL.pid, _LOCAL.connections = os.getpid(), {}
    connections: dict[str, Connection] = _LOCAL.connections
    connection = connections.get(address)
    try:
        if connection is None:
            connection = connections[address] = Connection(address)
        reply = connection.ask({"op": op, **fields})
    except OSError as error:
        connections.pop(address, None)
        raise RefereeGone(f"the referee could not be reached ({error})") from None
    if "error" in reply:
        raise Refused(f"the referee refused {op}")
    return reply


def forget(address: str) -> None:
    """Close this process's connections to a referee that has ended."""
    connections = getattr(_LOCAL, "connections", None)
    if connections and getattr(_LOCAL, "pid", None) == os.getpid():
        connection = connections.pop(address, None)
        if connection is not None:
            connection.close()

"""Starting a run's referee, asking it what a shared object holds, and stopping it.

Whoever judges starts the referee: the judge for a run in a student host (the host is only told
its address), or the harness itself in the harness's own tests. The referee is a child of that
trusted process, made before any student code of the run exists, and its directory (socket
and journal) is writable by nobody else.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from typing import Any

from grader.machine_load import stretched
from grader.referee.server import RefereeSettings, main
from grader.referee.wire import Listener

START_TIMEOUT = 10.0
QUERY_TIMEOUT = 10.0


@dataclass(frozen=True)
class RefereeAddress:
    """What a run's processes need to reach the referee, and where its journal is (picklable)."""

    address: str
    journal_dir: str


def _serve(settings: RefereeSettings, control: Any, other_end: int | None) -> None:
    if other_end is not None:  # forked: the launcher's end of the pipe must close with the launcher
        os.close(other_end)
        # Forked from the judge: leave the judge's objects out of garbage collection, which would
        # otherwise visit (and so copy) every page of the judge's heap that the fork shares.
        gc.freeze()
    listener = Listener(settings.journal_dir)
    control.send(listener.address)
    main(settings, listener, control)


class RefereeProcess:
    """One run's referee. `values(uid)` asks it what a shared object holds now."""

    def __init__(self, settings_for: Any, *, base_dir: str | None = None) -> None:
        self.directory = tempfile.mkdtemp(prefix="mp-referee-", dir=base_dir)
        os.chmod(self.directory, 0o755)  # readable by a host that dropped to `nobody`; writable by us
        settings: RefereeSettings = settings_for(self.directory)
        method = "fork" if sys.platform.startswith("linux") else "spawn"
        ctx = multiprocessing.get_context(method)
        self._control, theirs = ctx.Pipe()
        other_end = self._control.fileno() if method == "fork" else None
        self._process = ctx.Process(target=_serve, args=(settings, theirs, other_end), name="referee", daemon=True)
        self._process.start()
        theirs.close()
        if not self._control.poll(stretched(START_TIMEOUT)):
            self.stop()
            raise RuntimeError("the referee did not start")
        self.where = RefereeAddress(self._control.recv(), self.directory)

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def values(self, uid: str) -> list[Any] | None:
        """What the shared object `uid` holds now (None: the referee never made it)."""
        self._control.send(uid)
        if not self._control.poll(stretched(QUERY_TIMEOUT)):
            raise RuntimeError("the referee did not answer")
        return self._control.recv()

    def stop(self) -> None:
        """End the referee (its journal stays until `remove`)."""
        try:
            self._control.close()
        except OSError:
            pass
        self._process.join(2.0)
        if self._process.exitcode is None:
            self._process.kill()
            self._process.join(2.0)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

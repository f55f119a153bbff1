"""The machine's process table, for killing everything a graded run left behind.

Shared by the runner (one suite's session) and the batch (one student's whole run).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

_ENDED = ("Z", "X")  # /proc states of a process that ended (zombie, dead)


@dataclass(frozen=True)
class Proc:
    """One live process: its id, parent, process group and session (None where unknown)."""

    pid: int
    ppid: int
    pgid: int
    sid: int | None
    zombie: bool = False


def process_table(include_zombies: bool = False) -> list[Proc] | None:
    """Live processes (and zombies if asked): /proc on Linux, `ps` elsewhere on POSIX; None on
    Windows."""
    proc = Path("/proc")
    if (proc / "self" / "stat").exists():
        table = []
        for entry in proc.iterdir():
            if not entry.name.isdigit():
                continue
            fields = _stat_fields(entry / "stat")  # state ppid pgrp session ...
            if fields is None:
                continue
            zombie = fields[0] in _ENDED if fields else False
            if len(fields) > 3 and (include_zombies or not zombie):
                table.append(Proc(int(entry.name), int(fields[1]), int(fields[2]), int(fields[3]), zombie))
        return table
    if os.name != "posix":
        return None
    try:
        listing = subprocess.run(
            ["ps", "-A", "-o", "pid=,ppid=,pgid=,stat="],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    table = []
    for line in listing.splitlines():
        parts = line.split()
        zombie = len(parts) >= 4 and parts[3].startswith("Z")
        if len(parts) >= 4 and parts[0].isdigit() and (include_zombies or not zombie):
            table.append(Proc(int(parts[0]), int(parts[1]), int(parts[2]), None, zombie))
    return table


def _stat_fields(path: Path) -> list[str] | None:
    """The fields of a /proc/<pid>/stat after the command name (state first), or None if the
    process is gone."""
    try:
        stat = path.read_text()
    except OSError:
        return None
    return stat[stat.rfind(")") + 2 :].split()


def is_running(pid: int) -> bool:
    """Whether a process runs (a zombie, ended but not yet reaped, does not)."""
    if Path("/proc/self/stat").exists():
        fields = _stat_fields(Path(f"/proc/{pid}/stat"))
        return bool(fields) and fields[0] not in _ENDED
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True

"""The channel from a judging pytest process to the grader: a pipe only the judge holds.

The grader makes the pipe and hands its write end to pytest alone (`pass_fds`, or an explicit
handle list on Windows); pytest marks it non-inheritable at once, and every student host closes
every inherited descriptor before any student code runs. No file, path, argument or
environment variable that a student process can see leads to it, so nothing but the judge can
add, change or remove a result.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

OPTION = "--grader-results-fd"
MAX_BYTES = 16 * 1024 * 1024  # results kept from one suite; a judge never writes this much


class ResultsPipe:
    """The grader's end: make the pipe, start pytest with it, collect the events."""

    def __init__(self) -> None:
        self.read_fd, self.write_fd = os.pipe()
        self._data = bytearray()
        self._reader: threading.Thread | None = None
        if os.name == "nt":
            import msvcrt

            self._handle = msvcrt.get_osfhandle(self.write_fd)
            os.set_handle_inheritable(self._handle, True)

    def arguments(self) -> list[str]:
        token = self._handle if os.name == "nt" else self.write_fd
        return [OPTION, str(token)]

    def popen_options(self) -> dict[str, Any]:
        """What `subprocess.Popen` needs so that only this pipe's write end is inherited."""
        if os.name == "nt":
            import subprocess

            info = subprocess.STARTUPINFO()
            info.lpAttributeList = {"handle_list": [self._handle]}
            return {"startupinfo": info, "close_fds": True}
        return {"pass_fds": (self.write_fd,), "close_fds": True}

    def started(self) -> None:
        """Pytest has its copy: close ours (so EOF means pytest is gone) and start reading."""
        os.close(self.write_fd)
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self.read_fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            room = MAX_BYTES - len(self._data)
            if room > 0:
                self._data += chunk[:room]

    def events(self, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Every complete event pytest wrote (a line cut short by a kill is dropped)."""
        if self._reader is not None:
            self._reader.join(timeout)
        try:
            os.close(self.read_fd)
        except OSError:
            pass
        return parse_events(bytes(self._data))

    def close_unused(self) -> None:
        """Pytest could not be started: close both ends."""
        for fd in (self.read_fd, self.write_fd):
            try:
                os.close(fd)
            except OSError:
                pass


def parse_events(data: bytes) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for line in data.decode("utf-8", "replace").splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(event, dict) and "event" in event:
            events.append(event)
    return events


def open_writer(token: str) -> int:
    """The judge's end: the descriptor to write events to, made non-inheritable."""
    if os.name == "nt":
        import msvcrt

        fd = msvcrt.open_osfhandle(int(token), os.O_WRONLY)
    else:
        fd = int(token)
    os.set_inheritable(fd, False)
    return fd

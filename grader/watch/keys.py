"""Single key presses from the terminal, without Enter: termios on Linux and macOS, msvcrt on
Windows. When stdin is not a terminal (a pipe, an IDE's output pane, a test) no key is read:
`NoKeys` just waits, and Ctrl-C is the way out.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, TextIO


class NoKeys:
    """Implements core.Keys where nothing can be typed."""

    interactive = False

    def read(self, timeout: float) -> str | None:
        time.sleep(timeout)
        return None

    def close(self) -> None:
        pass


class PosixKeys:
    """cbreak mode (keys arrive one by one, unechoed; Ctrl-C still interrupts) until close()."""

    interactive = True

    def __init__(self, stream: TextIO) -> None:
        import termios
        import tty

        self.fd = stream.fileno()
        self._termios = termios
        self.saved: Any = termios.tcgetattr(self.fd)
        tty.setcbreak(self.fd)

    def read(self, timeout: float) -> str | None:
        import select

        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return None
        data = os.read(self.fd, 32)  # an arrow key sends several bytes: take them all
        return data[:1].decode("utf-8", "replace") if data else None

    def close(self) -> None:
        self._termios.tcsetattr(self.fd, self._termios.TCSADRAIN, self.saved)


class WindowsKeys:
    """msvcrt's console keys (the console already delivers them without Enter)."""

    interactive = True

    def read(self, timeout: float) -> str | None:
        import msvcrt

        deadline = time.monotonic() + timeout
        while True:
            if msvcrt.kbhit():  # type: ignore[attr-defined]
                key = msvcrt.getwch()  # type: ignore[attr-defined]
                if key in ("\x00", "\xe0"):  # a function or arrow key: its second half follows
                    msvcrt.getwch()  # type: ignore[attr-defined]
                    return None
                return key
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            time.sleep(min(0.05, left))

    def close(self) -> None:
        pass


def open_keys(stream: TextIO = sys.stdin) -> NoKeys | PosixKeys | WindowsKeys:
    """The key reader this terminal allows."""
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    if not tty:
        return NoKeys()
    if os.name == "nt":
        return WindowsKeys()
    try:
        return PosixKeys(stream)
    except Exception:  # termios.error, or no termios at all: watch without keys
        return NoKeys()

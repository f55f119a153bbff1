"""Notice saves of the exercise files by polling their size and modification time.

Polling, not a file-watching library (watchdog and the like): five small files looked at five
times a second cost nothing, a save is seen within a tick, and it works the same on every
system and file system, including those where change notifications never arrive (network
drives, Docker and WSL mounts, some editors' rename-on-save). A change is reported once the
file has stayed the same for one poll, so an editor that writes a file in several steps starts
one grading, not several.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

Signature = tuple[int, int] | None  # (mtime in ns, size); None when the file is missing


def signature(path: Path) -> Signature:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return (status.st_mtime_ns, status.st_size)


class SavePoller:
    """Implements core.Saves for the modules in one directory."""

    def __init__(self, directory: Path, modules: Iterable[str]) -> None:
        self.directory = Path(directory)
        self.modules = list(modules)
        self.reported = {m: signature(self._path(m)) for m in self.modules}
        self.seen = dict(self.reported)

    def _path(self, module: str) -> Path:
        return self.directory / f"{module}.py"

    def poll(self) -> list[str]:
        saved = []
        for module in self.modules:
            now = signature(self._path(module))
            settled = now == self.seen[module]
            self.seen[module] = now
            if settled and now is not None and now != self.reported[module]:
                self.reported[module] = now
                saved.append(module)
        return saved

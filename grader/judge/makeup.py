"""The judge checks its own make-up: everything loaded into it comes from a trusted place.

The judge (the pytest process that runs the suites) must run only the grader, the pristine
tests, the standard library and the environment's installed packages. A `conftest.py`, a
`sitecustomize.py` or a module named like a plugin (`pytest_timeout.py`) shipped with a
submission would otherwise run in the one process whose verdicts count. The grader starts the
judge so that none of these can load (grader.grading.runner); this module proves it from the inside:
every module in `sys.modules` that has a file, and every plugin pytest registered, must lie
under a trusted root. Anything else is interference and costs the exercise all its points.
"""

from __future__ import annotations

import os
import site
import sys
import sysconfig
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

import grader

GRADER_PACKAGE = Path(grader.__file__).resolve().parent
MAKEUP_KEY = pytest.StashKey["MakeUp"]()


def _system_places() -> list[str]:
    """The standard library and the environment's installed packages, as Python names them."""
    paths = sysconfig.get_paths()
    found = [paths.get(key) for key in ("stdlib", "platstdlib", "purelib", "platlib")]
    try:
        found += site.getsitepackages()
    except AttributeError:  # an old virtualenv's site module
        pass
    return [p for p in found if p]


def system_roots() -> tuple[Path, ...]:
    """Where the system's own files lie (not resolved): no submission can write there, so a
    link there is the system's (Debian's stdlib sitecustomize.py leads to /etc/python3.X/)."""
    return tuple(dict.fromkeys(Path(os.path.abspath(p)) for p in _system_places()))


def trusted_roots(tests_dir: Path) -> tuple[Path, ...]:
    """The standard library, the environment's installed packages, the grader, the tests."""
    roots = [Path(p).resolve() for p in _system_places()]
    return tuple(dict.fromkeys([*roots, GRADER_PACKAGE, Path(tests_dir).resolve()]))


class MakeUp:
    """Remembers what was already found trusted, so each check looks only at what is new."""

    def __init__(self, roots: Iterable[Path], system: Iterable[Path] | None = None) -> None:
        self.roots = tuple(roots)
        self.system = tuple(system_roots() if system is None else system)
        self._seen: dict[str, bool] = {}

    def trusted(self, filename: str) -> bool:
        verdict = self._seen.get(filename)
        if verdict is None:
            # A file is judged by where it leads, except that a link lying in the system's own
            # places was put there by the system (the tests and the grader get no such pass).
            try:
                path, place = Path(filename).resolve(), Path(os.path.abspath(filename))
            except (OSError, RuntimeError, ValueError):
                verdict = False
            else:
                verdict = (any(path.is_relative_to(root) for root in self.roots)
                           or any(place.is_relative_to(root) for root in self.system))
            self._seen[filename] = verdict
        return verdict

    def foreign_files(self, plugins: Iterable[Any] = ()) -> list[str]:
        """Files of loaded modules and registered plugins that lie outside every trusted root."""
        found: set[str] = set()
        for obj in [*list(sys.modules.values()), *plugins]:
            filename = _file_of(obj)
            if filename is not None and not self.trusted(filename):
                found.add(filename)
        return sorted(found)


def _file_of(obj: Any) -> str | None:
    """A module's file, or the file of the module an object's class comes from."""
    filename = getattr(obj, "__file__", None) if isinstance(obj, type(sys)) else None
    if filename is None and not isinstance(obj, type(sys)) and obj is not None:
        module = sys.modules.get(getattr(type(obj), "__module__", "") or "")
        filename = getattr(module, "__file__", None)
    return filename if isinstance(filename, str) else None


def interference_message(files: list[str], root: Path | None = None) -> str:
    """What the student reads: which files ran inside the judge, named as they know them."""
    shown = []
    for name in files[:5]:
        path = Path(name)
        try:
            shown.append(path.resolve().relative_to(root).as_posix() if root else name)
        except (ValueError, OSError):
            shown.append(name)
    more = f" and {len(files) - 5} more" if len(files) > 5 else ""
    return (f"Your submission interfered with the judge: {', '.join(shown)}{more} was loaded into "
            "the process that grades, which runs only the grader, the tests, Python's standard "
            "library and the installed packages. No test of this exercise counts. Remove the "
            "file (a conftest.py, sitecustomize.py, or a module named like an installed one) "
            "and keep your code in the exercise files.")

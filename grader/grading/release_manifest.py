"""Tamper evidence: hashes of the files that decide a grade, recorded when a release is made.

A student repository is a copy of the release, so the tests, the grader, the configuration and
the workflows must stay as released for a score to mean anything. The release records their
SHA-256 in `.grader-manifest.json`; `changed_files` names every one that differs now, every one
that went missing, every new file among them, every pytest configuration file that could
override pyproject.toml, and every file the release does not have that Python or pytest could
load (`extra_loadable_files`). It is evidence, not prevention: an instructor who wants certainty
grades with pristine tests (`--tests-from`).

A checkout is untrusted input: symbolic links are never followed (a link where a protected file
should be is named as tampering), only regular files are read, and at most MAX_FILE_BYTES of each.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

MANIFEST_NAME = ".grader-manifest.json"
MANIFEST_VERSION = 1

# What decides a grade: directories are hashed file by file.
PROTECTED = ("tests", "grader", "pyproject.toml", "conftest.py", "info.toml", ".github/workflows")

# Files a release never has and whose mere presence could change what pytest runs or how it
# judges (pytest.ini and friends take precedence over pyproject.toml).
FORBIDDEN = ("pytest.ini", ".pytest.ini", "tox.ini", "setup.cfg", "setup.py")

# Made by running things, not by editing them: never part of the evidence.
_IGNORED_DIRS = frozenset({"__pycache__", ".pytest_cache", ".hypothesis", ".ruff_cache"})
_IGNORED_SUFFIXES = (".pyc", ".pyo")
# Not searched for loadable files: version control, virtual environments, the grader's output.
_UNSEARCHED_DIRS = _IGNORED_DIRS | {".git", ".venv", "venv", "grading-results", ".mypy_cache"}

# Files Python or pytest may load by their name alone, wherever they are.
LOADABLE_NAMES = frozenset({"conftest.py", "sitecustomize.py", "usercustomize.py", "pytest.ini",
                            ".pytest.ini", "tox.ini", "setup.cfg", "setup.py", "pyproject.toml"})

MAX_FILE_BYTES = 8 * 1024 * 1024  # no protected file is near this; a bigger one is not read
SYMLINK = "symbolic link"
NOT_REGULAR = "not a regular file"
TOO_LARGE = "too large"


def file_hash(path: Path) -> str:
    """SHA-256 of a file with CRLF read as LF, so a Windows checkout (autocrlf) is not "changed".

    Reads only a regular file, never through a symbolic link, and at most MAX_FILE_BYTES: for
    anything else the "hash" says what it is, which never equals a recorded digest."""
    try:
        info = os.lstat(path)
    except OSError:
        return "unreadable"
    if stat.S_ISLNK(info.st_mode):
        return SYMLINK
    if not stat.S_ISREG(info.st_mode):
        return NOT_REGULAR
    if info.st_size > MAX_FILE_BYTES:
        return TOO_LARGE
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return "unreadable"
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return NOT_REGULAR
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        return TOO_LARGE
    return hashlib.sha256(data.replace(b"\r\n", b"\n")).hexdigest()


def _walk(root: Path, relative: str, skip: frozenset[str] = _IGNORED_DIRS) -> Iterator[Path]:
    """Every entry under root/relative that is not a directory (symbolic links included, never
    followed), sorted; `relative` itself when it is not a directory."""
    path = root / relative
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        yield path
        return
    if not path.is_dir():
        return
    found = []
    for folder, dirs, files in os.walk(path, followlinks=False):
        kept = [d for d in dirs if d not in skip]
        # A link to a directory is listed among dirs and never entered: report it as an entry.
        found += [Path(folder, d) for d in kept if Path(folder, d).is_symlink()]
        dirs[:] = [d for d in kept if not Path(folder, d).is_symlink()]
        found += [Path(folder, f) for f in files]
    yield from sorted(found)


def _files_under(root: Path, relative: str) -> Iterator[Path]:
    for path in _walk(root, relative):
        if not path.name.endswith(_IGNORED_SUFFIXES):
            yield path


def compute_hashes(root: Path) -> dict[str, str]:
    """Hash every protected file under `root`, keyed by its POSIX path relative to `root`."""
    root = Path(root)
    return {
        path.relative_to(root).as_posix(): file_hash(path)
        for relative in PROTECTED
        for path in _files_under(root, relative)
    }


# A compiled file's flags (PEP 552): bit 0 says it is checked by a hash of its source rather than
# by the source's time and size, bit 1 that Python must check that hash.
_HASH_BASED, _CHECK_SOURCE = 0b01, 0b10


def bytecode_runs_without_its_source(path: Path) -> bool:
    """Whether Python could run `path` (a `.pyc`) instead of its source's current text:
    bytecode outside `__pycache__` (loaded when no source of its name is beside it), and
    hash-based bytecode that asks not to be checked, which Python loads whatever the source
    says. Neither is ever written by running the code; the caches that are (checked against
    their source's time and size, or its hash) are not evidence of anything."""
    if path.parent.name != "__pycache__":
        return True
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return True  # a link or an unreadable file where a cache goes
    with os.fdopen(fd, "rb") as handle:
        header = handle.read(8)
    flags = int.from_bytes(header[4:8], "little") if len(header) == 8 else 0
    return flags & _HASH_BASED != 0 and flags & _CHECK_SOURCE == 0


def extra_loadable_files(root: Path, released: Iterable[str],
                         exercise_files: Iterable[str]) -> list[str]:
    """Files the release does not have that Python or pytest could load: a conftest,
    sitecustomize, usercustomize, `*.pth` or pytest configuration file anywhere in the checkout;
    any `*.py` at its top level, in a top-level package, or in exercises/ beside the exercise
    modules; bytecode that would run instead of its source (`bytecode_runs_without_its_source`).
    A note, a Markdown file or a script in a folder of its own is not one."""
    root = Path(root)
    known = set(released) | set(exercise_files)
    found = []
    for path in _walk(root, ".", _UNSEARCHED_DIRS - {"__pycache__"}):
        name = path.relative_to(root).as_posix()
        if name.endswith(".pyc") and bytecode_runs_without_its_source(path):
            found.append(name)
            continue
        if name in known or name.endswith(_IGNORED_SUFFIXES) or "__pycache__" in name.split("/"):
            continue
        parts = name.split("/")
        importable = name.endswith(".py") and (
            len(parts) == 1 or parts[0] == "exercises"
            or (root / parts[0] / "__init__.py").is_file())
        if path.name in LOADABLE_NAMES or name.endswith(".pth") or importable:
            found.append(name)
    return found


def write_manifest(root: Path, out: Path) -> None:
    """Record the protected files of `root` in the manifest file `out`."""
    manifest = {"version": MANIFEST_VERSION, "files": dict(sorted(compute_hashes(root).items()))}
    Path(out).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8", newline="\n")


def read_manifest(path: Path) -> dict[str, str]:
    """The recorded hashes; ValueError when the file is not a manifest this grader wrote."""
    digest = file_hash(Path(path))  # a regular file of a sane size, not through a link
    if len(digest) != 64:
        raise ValueError(f"{path}: unreadable manifest ({digest})")
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: unreadable manifest ({error})") from error
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION \
            or not isinstance(files, dict):
        raise ValueError(f"{path}: not a version {MANIFEST_VERSION} grader manifest")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        raise ValueError(f"{path}: manifest entries must map paths to hex digests")
    return files


def changed_files(root: Path, manifest: Path | None = None,
                  exercise_files: Iterable[str] | None = None) -> list[str] | None:
    """Protected files that differ from the manifest and loadable files the release does not
    have, sorted; None when there is no manifest.

    `manifest` defaults to `root/.grader-manifest.json`; an instructor may pass the release's own
    copy so that a student who also rewrote the manifest is still caught. A manifest that cannot
    be read, or is of the wrong shape, counts as tampered with: its name is the whole answer.
    A protected path that is a symbolic link is named with ` (symbolic link)`. `exercise_files`
    are the exercise modules (`exercises/<module>.py`), by default those of root's info.toml.
    """
    root = Path(root)
    manifest = Path(manifest) if manifest is not None else root / MANIFEST_NAME
    if not manifest.is_file() and not manifest.is_symlink():
        return None
    try:
        recorded = read_manifest(manifest)
    except ValueError:
        return [MANIFEST_NAME]
    current = compute_hashes(root)
    changed = {
        path if current.get(path) != SYMLINK else f"{path} ({SYMLINK})"
        for path in recorded.keys() | current.keys() if recorded.get(path) != current.get(path)
    }
    changed.update(name for name in FORBIDDEN if (root / name).exists() or (root / name).is_symlink())
    if exercise_files is None:
        exercise_files = _exercise_files(root)
    changed.update(extra_loadable_files(root, [*recorded, *current, MANIFEST_NAME], exercise_files))
    return sorted(changed)


def _exercise_files(root: Path) -> list[str]:
    """exercises/<module>.py of every exercise the checkout's info.toml lists; when it cannot be
    read (itself reported as changed), every module directly in exercises/."""
    import tomllib

    try:
        data = tomllib.loads((root / "info.toml").read_text(encoding="utf-8"))
        return [f"exercises/{item['module']}.py" for item in data["exercises"]]
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError, TypeError):
        return [f"exercises/{p.name}" for p in (root / "exercises").glob("*.py")]

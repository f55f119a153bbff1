"""Tamper evidence: hashes of the files that decide a grade, recorded when a release is made.

A student repository is a copy of the release, so the tests, the grader, the configuration and
the workflows must stay as released for a score to mean anything. The release records their
SHA-256 in `.grader-manifest.json`; `changed_files` names every one that differs now, every one
that went missing, every new file among them, and every pytest configuration file that could
override pyproject.toml. It is evidence, not prevention: an instructor who wants certainty grades
with pristine tests (`--tests-from`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
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


def file_hash(path: Path) -> str:
    """SHA-256 of a file with CRLF read as LF, so a Windows checkout (autocrlf) is not "changed"."""
    return hashlib.sha256(path.read_bytes().replace(b"\r\n", b"\n")).hexdigest()


def _files_under(root: Path, relative: str) -> Iterator[Path]:
    path = root / relative
    if path.is_file():
        yield path
    elif path.is_dir():
        for child in sorted(path.rglob("*")):
            parts = child.relative_to(root).parts
            if any(part in _IGNORED_DIRS for part in parts):
                continue
            if child.is_file() and not child.name.endswith(_IGNORED_SUFFIXES):
                yield child


def compute_hashes(root: Path) -> dict[str, str]:
    """Hash every protected file under `root`, keyed by its POSIX path relative to `root`."""
    root = Path(root)
    return {
        path.relative_to(root).as_posix(): file_hash(path)
        for relative in PROTECTED
        for path in _files_under(root, relative)
    }


def write_manifest(root: Path, out: Path) -> None:
    """Record the protected files of `root` in the manifest file `out`."""
    manifest = {"version": MANIFEST_VERSION, "files": dict(sorted(compute_hashes(root).items()))}
    Path(out).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8", newline="\n")


def read_manifest(path: Path) -> dict[str, str]:
    """The recorded hashes; ValueError when the file is not a manifest this grader wrote."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: unreadable manifest ({error})") from error
    files = data.get("files") if isinstance(data, dict) else None
    if data.get("version") != MANIFEST_VERSION or not isinstance(files, dict):
        raise ValueError(f"{path}: not a version {MANIFEST_VERSION} grader manifest")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        raise ValueError(f"{path}: manifest entries must map paths to hex digests")
    return files


def changed_files(root: Path, manifest: Path | None = None) -> list[str] | None:
    """Protected files that differ from the manifest, sorted; None when there is no manifest.

    `manifest` defaults to `root/.grader-manifest.json`; an instructor may pass the release's own
    copy so that a student who also rewrote the manifest is still caught. A manifest that cannot
    be read counts as tampered with: its name is the whole answer.
    """
    root = Path(root)
    manifest = Path(manifest) if manifest is not None else root / MANIFEST_NAME
    if not manifest.is_file():
        return None
    try:
        recorded = read_manifest(manifest)
    except ValueError:
        return [MANIFEST_NAME]
    current = compute_hashes(root)
    changed = {
        path for path in recorded.keys() | current.keys() if recorded.get(path) != current.get(path)
    }
    changed.update(name for name in FORBIDDEN if (root / name).exists())
    return sorted(changed)

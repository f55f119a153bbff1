"""Tamper evidence: the manifest a release records, and what counts as a change to it."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import py_compile
import shutil
from pathlib import Path

import pytest

from grader.grading.release_manifest import (
    MANIFEST_NAME,
    PROTECTED,
    changed_files,
    compute_hashes,
    write_manifest,
)
from grader.instructor.release import build_release


@pytest.fixture
def student(fixture_repo: Path, tmp_path: Path) -> Path:
    """A student's checkout: a fresh release, as cloned."""
    return build_release(fixture_repo, tmp_path / "student").root


def test_manifest_format(student: Path) -> None:
    data = json.loads((student / MANIFEST_NAME).read_text(encoding="utf-8"))
    assert set(data) == {"version", "files"} and data["version"] == 1
    for path, digest in data["files"].items():
        # SHA-256 of the file as released, line endings read as LF (a Windows checkout
        # with core.autocrlf has CRLF and must match too).
        content = (student / path).read_bytes().replace(b"\r\n", b"\n")
        assert digest == hashlib.sha256(content).hexdigest()
        assert path.split("/", 1)[0] in {p.split("/", 1)[0] for p in PROTECTED}
    assert "tests/test_adder.py" in data["files"] and "info.toml" in data["files"]
    assert not [p for p in data["files"] if p.startswith("exercises/")]


def test_untouched_checkout_has_no_changes(student: Path) -> None:
    assert changed_files(student) == []


def test_no_manifest_means_none(tmp_path: Path) -> None:
    assert changed_files(tmp_path) is None


def test_editing_exercises_is_not_tampering(student: Path) -> None:
    (student / "exercises/adder.py").write_text("def add(a, b):\n    return a + b\n")
    (student / "exercises/notes.txt").write_text("my notes")
    assert changed_files(student) == []


def test_running_things_is_not_tampering(student: Path) -> None:
    # Bytecode caches appear when a student runs the tests; they are not evidence.
    (student / "tests/__pycache__").mkdir()
    (student / "tests/__pycache__/test_adder.cpython-311.pyc").write_bytes(b"\0")
    (student / "grader/__pycache__").mkdir(exist_ok=True)
    (student / "grader/__pycache__/x.pyc").write_bytes(b"\0")
    assert changed_files(student) == []


def compiled(source: Path, mode: py_compile.PycInvalidationMode, text: str | None = None) -> str:
    """Compile `text` (default: the file's own) into `source`'s cache file; its checkout path."""
    origin = source.with_suffix(".forged") if text is not None else source
    if text is not None:
        origin.write_text(text)
    cache = Path(importlib.util.cache_from_source(str(source)))
    py_compile.compile(str(origin), cfile=str(cache), dfile=str(source), invalidation_mode=mode, doraise=True)
    if text is not None:
        origin.unlink()
    return cache.relative_to(source.parents[1]).as_posix()


def test_the_caches_python_writes_are_not_tampering(student: Path) -> None:
    # Checked against the source's time and size (what running the code writes), or its hash.
    compiled(student / "grader/__main__.py", py_compile.PycInvalidationMode.TIMESTAMP)
    compiled(student / "tests/test_adder.py", py_compile.PycInvalidationMode.CHECKED_HASH)
    assert changed_files(student) == []


def test_bytecode_that_runs_instead_of_its_source_is_named(student: Path) -> None:
    # Hash-based bytecode that asks not to be checked runs whatever the source now says.
    forged = compiled(student / "grader/__main__.py", py_compile.PycInvalidationMode.UNCHECKED_HASH,
                      "raise SystemExit(0)\n")
    # Bytecode outside __pycache__ runs where no source of its name is beside it.
    (student / "sitecustomize.pyc").write_bytes(b"\0")
    assert changed_files(student) == sorted([forged, "sitecustomize.pyc"])


def test_a_checkout_inside_a_folder_named_pycache_is_still_searched(fixture_repo: Path, tmp_path: Path) -> None:
    # Only the checkout's own __pycache__ folders are caches; the folders above it are not its.
    student = build_release(fixture_repo, tmp_path / "__pycache__" / "student").root
    (student / "exercises" / "conftest.py").write_text("collect_ignore = ['.']\n")
    assert changed_files(student) == ["exercises/conftest.py"]


def test_windows_line_endings_are_not_tampering(student: Path) -> None:
    path = student / "tests/test_adder.py"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert changed_files(student) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda r: (r / "tests/test_adder.py").write_text("def test_adds(): pass\n"),
         ["tests/test_adder.py"]),
        (lambda r: (r / "tests/test_shared_total.py").unlink(), ["tests/test_shared_total.py"]),
        (lambda r: (r / "tests/conftest.py").write_text("collect_ignore = ['.']\n"),
         ["tests/conftest.py"]),
        (lambda r: (r / "grader/scoring_extra.py").write_text("x = 1\n"),
         ["grader/scoring_extra.py"]),
        (lambda r: (r / "pyproject.toml").write_text("[tool.pytest.ini_options]\n"),
         ["pyproject.toml"]),
        (lambda r: (r / "info.toml").write_text(""), ["info.toml"]),
        (lambda r: (r / "conftest.py").write_text(""), ["conftest.py"]),
        (lambda r: (r / ".github/workflows/classroom.yml").write_text("name: x\n"),
         [".github/workflows/classroom.yml"]),
        (lambda r: (r / ".github/workflows/other.yml").write_text("name: x\n"),
         [".github/workflows/other.yml"]),
        (lambda r: (r / "pytest.ini").write_text("[pytest]\naddopts = -k nothing\n"),
         ["pytest.ini"]),
        (lambda r: shutil.rmtree(r / "tests"), ["tests/test_adder.py", "tests/test_shared_total.py"]),
        (lambda r: (r / MANIFEST_NAME).write_text("{not json"), [MANIFEST_NAME]),
        (lambda r: (r / MANIFEST_NAME).write_text('{"version": 2, "files": {}}'), [MANIFEST_NAME]),
    ],
    ids=[
        "edited-test", "deleted-test", "added-conftest", "added-grader-module", "pyproject",
        "info", "root-conftest", "workflow", "added-workflow", "pytest-ini", "no-tests",
        "corrupt-manifest", "unknown-manifest-version",
    ],
)  # fmt: skip
def test_each_kind_of_change_is_named(student: Path, change, expected: list[str]) -> None:
    change(student)
    assert changed_files(student) == expected


def test_rewritten_manifest_is_caught_with_the_instructors_copy(
    student: Path, tmp_path: Path
) -> None:
    pristine = tmp_path / "pristine-manifest.json"
    shutil.copy2(student / MANIFEST_NAME, pristine)
    (student / "tests/test_adder.py").write_text("def test_adds(): pass\n")
    write_manifest(student, student / MANIFEST_NAME)  # the student covers their tracks
    assert changed_files(student) == []
    assert changed_files(student, manifest=pristine) == ["tests/test_adder.py"]


def test_compute_hashes_uses_posix_relative_paths(student: Path) -> None:
    hashes = compute_hashes(student)
    assert all("\\" not in p and not Path(p).is_absolute() for p in hashes)
    assert compute_hashes(student) == hashes  # deterministic

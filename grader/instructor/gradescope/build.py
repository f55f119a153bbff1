"""`python -m grader gradescope OUT.zip`: build a Gradescope autograder from this repository.

Gradescope unzips the autograder into `/autograder/source`, runs its `setup.sh` once to build
the image, then, for every submission (files in `/autograder/submission`), runs
`run_autograder` and reads `/autograder/results/results.json`. The zip holds what grading
needs and nothing that gives answers away: the grader, the suites, the pytest configuration,
info.toml, a requirements.txt made from pyproject's dependencies, and the two scripts. Both
scripts take the root from `AUTOGRADER_ROOT` (default `/autograder`), so the same zip can be
tried in a temporary tree; `setup.sh` installs everything from PyPI into `<root>/venv`.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from grader.grading.release_manifest import file_hash
from grader.metadata import REPO_ROOT, load_exercises

# What grading reads, relative to the repository (directories are taken file by file).
CONTENTS = ("grader", "tests", "conftest.py", "pyproject.toml", "info.toml", "LICENSE")
_SKIPPED_PARTS = frozenset({"__pycache__", ".pytest_cache", ".hypothesis", ".ruff_cache"})
_SKIPPED_SUFFIXES = (".pyc", ".pyo")

SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder (Ubuntu image). It finds a
# Python >= 3.11 (installing one with apt-get if needed) and puts the grader's dependencies from
# PyPI into a virtual environment under the autograder root.
#   AUTOGRADER_ROOT      the root (default /autograder); the zip is unpacked in its source/
#   GRADER_VENV_OPTIONS  extra options for `python -m venv` (e.g. --system-site-packages)
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"
VENV="$ROOT/venv"

usable() {  # a Python >= 3.11 that can make virtual environments
  "$1" -c 'import sys, ensurepip, venv; sys.exit(sys.version_info < (3, 11))' 2>/dev/null
}

find_python() {
  local candidate
  for candidate in python3.14 python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && usable "$candidate"; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

install_python() {  # Ubuntu: the distribution's python3 if >= 3.11, else 3.11 (deadsnakes')
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q python3 python3-venv || true
  local version
  version="$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true)"
  case "$version" in
    3.1[1-9]) apt-get install -y -q "python$version-venv" || true ;;
  esac
  find_python >/dev/null && return 0
  apt-get install -y -q python3.11 python3.11-venv && return 0
  apt-get install -y -q software-properties-common
  add-apt-repository -y ppa:deadsnakes/ppa
  apt-get update -q
  apt-get install -y -q python3.11 python3.11-venv
}

PYTHON="$(find_python || true)"
if [ -z "$PYTHON" ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup.sh: no Python >= 3.11 with venv, and no apt-get to install one" >&2
    exit 1
  fi
  install_python
  PYTHON="$(find_python)"
fi
echo "setup.sh: using $PYTHON ($("$PYTHON" --version))"
rm -rf "$VENV"
# shellcheck disable=SC2086  # options are words
"$PYTHON" -m venv ${GRADER_VENV_OPTIONS:-} "$VENV"
"$VENV/bin/python" -m pip install --disable-pip-version-check -q -r "$SOURCE/requirements.txt"
"$VENV/bin/python" -c 'import pytest, pytest_timeout, hypothesis'
echo "setup.sh: installed into $VENV"
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this for every submission: the student's exercise files (at the top level of
# the upload or in exercises/) are graded with the suites in source/, and results/results.json
# is written. AUTOGRADER_ROOT names the root (default /autograder). Should the grader itself not
# start or not finish, a results file with 0 points says so: Gradescope always gets one.
set -uo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
if cd "$ROOT/source" && "$ROOT/venv/bin/python" -m grader.instructor.gradescope.autograder --root "$ROOT"; then
  exit 0
fi
mkdir -p "$ROOT/results"
if [ ! -s "$ROOT/results/results.json" ]; then
  printf '%s\n' '{"score": 0, "execution_time": 0, "tests": [], "visibility": "visible", "output": "The autograder could not start (not your code'"'"'s fault; tell your instructor)."}' \
    > "$ROOT/results/results.json"
fi
exit 0
"""

SCRIPTS = {"setup.sh": SETUP_SH, "run_autograder": RUN_AUTOGRADER}


class BuildError(Exception):
    """The autograder cannot be built as asked; the message says why."""


def requirements(root: Path) -> str:
    """requirements.txt from pyproject's `dependencies`: one source of truth for versions."""
    data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    dependencies = data.get("project", {}).get("dependencies", [])
    if not dependencies:
        raise BuildError("pyproject.toml lists no [project] dependencies")
    return "".join(f"{line}\n" for line in dependencies)


def content_files(root: Path) -> Iterator[str]:
    """The repository's files the autograder needs, as POSIX paths relative to `root`."""
    for name in CONTENTS:
        path = root / name
        if path.is_file():
            yield name
        elif path.is_dir():
            for child in sorted(path.rglob("*")):
                relative = child.relative_to(root)
                if (child.is_file() and not child.name.endswith(_SKIPPED_SUFFIXES)
                        and not _SKIPPED_PARTS.intersection(relative.parts)):
                    yield relative.as_posix()


def _check(root: Path, files: Sequence[str]) -> None:
    for needed in ("grader/__main__.py", "info.toml", "pyproject.toml"):
        if needed not in files:
            raise BuildError(f"{root} has no {needed}: not an exercise repository")
    for exercise in load_exercises(root / "info.toml"):
        if exercise.test_file not in files:
            raise BuildError(f"{exercise.test_file} is missing: {exercise.name} could not be graded")
    secrets = {file_hash(p): p.relative_to(root).as_posix()
               for p in sorted((root / "solutions").rglob("*.py"))}
    for name in files:
        source = secrets.get(file_hash(root / name))
        if source is not None:
            raise BuildError(f"{name} is a copy of {source}: the autograder would give it away")


def _add(archive: zipfile.ZipFile, name: str, data: bytes, mode: int) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))  # reproducible
    info.external_attr = (0o100000 | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def build_autograder(root: Path, out: Path) -> list[str]:
    """Write the autograder zip for the repository at `root`; returns its entries."""
    root = Path(root).resolve()
    files = list(content_files(root))
    _check(root, files)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    entries = []
    with zipfile.ZipFile(out, "w") as archive:
        for name, text in SCRIPTS.items():
            _add(archive, name, text.encode("utf-8"), 0o755)
            entries.append(name)
        _add(archive, "requirements.txt", requirements(root).encode("utf-8"), 0o644)
        entries.append("requirements.txt")
        for name in files:
            _add(archive, name, (root / name).read_bytes(), 0o644)
            entries.append(name)
    return entries


def parser() -> argparse.ArgumentParser:
    """`python -m grader gradescope`'s arguments: main()'s keywords, with its defaults."""
    parser = argparse.ArgumentParser(
        prog="python -m grader gradescope",
        description="Build a Gradescope autograder zip (setup.sh, run_autograder, the grader "
        "and the suites; no solutions). Upload it as the assignment's autograder.",
        argument_default=argparse.SUPPRESS,
    )
    parser.add_argument("out", type=Path, metavar="OUT.zip", help="the zip to write")
    parser.add_argument("--root", type=Path, help="the exercise repository (default: this one)")
    return parser


def main(*, out: Path, root: Path = REPO_ROOT) -> int:
    """Build the autograder zip `out` for the exercise repository `root`; 0 done, 2 when it
    cannot be built as asked."""
    try:
        entries = build_autograder(root, out)
    except (BuildError, OSError, KeyError, ValueError) as error:
        print(f"grader gradescope: {error}", file=sys.stderr)
        return 2
    print(f"wrote {out} ({len(entries)} files): upload it as the assignment's autograder")
    return 0

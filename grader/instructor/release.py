"""`python -m grader release OUT`: the student template, without anything that gives answers away.

The release is this repository minus the reference solutions, the self-check with its variants
(correct variants are solutions too), the benchmarks, this repository's own CI and any answer key
info.toml marks private (`answer_key_private`); its README is
written for students, its classroom workflow is regenerated from info.toml, and its
`.grader-manifest.json` records the hashes of what decides a grade (see grader.grading.release_manifest).
Made into a repository of its own, `pip install -e .` and `pytest` work there unchanged: the
pyproject is checked, not trusted, to need nothing the release leaves out.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from grader.grading.release_manifest import (
    MANIFEST_NAME,
    PROTECTED,
    compute_hashes,
    file_hash,
    write_manifest,
)
from grader.instructor.workflow import WORKFLOW_PATH, render
from grader.metadata import REPO_ROOT, Exercise, load_exercises

# Top-level entries of the repository that never go to students.
EXCLUDED_TOP = frozenset({"solutions", "selfcheck", "benchmarks", ".ci", ".git"})
# Files the release writes itself rather than copies.
REPLACED = frozenset({"README.md", MANIFEST_NAME, WORKFLOW_PATH.as_posix()})
# This repository's CI runs the self-check, which students do not have.
EXCLUDED_FILES = frozenset({".github/workflows/ci.yml"})
# Made by running or installing things, anywhere in the tree.
EXCLUDED_ANYWHERE = frozenset(
    {
        "__pycache__",
        ".pytest_cache",
        ".hypothesis",
        ".ruff_cache",
        ".mypy_cache",
        ".venv",
        "venv",
        "build",
        "dist",
        "grading-results",
        ".DS_Store",
        ".git",
    }
)
EXCLUDED_SUFFIXES = (".pyc", ".pyo", ".egg-info")


class ReleaseError(Exception):
    """The release cannot be made as asked; the message says why."""


@dataclass(frozen=True)
class Release:
    """What was written: the release's files (POSIX paths relative to it) and the manifest's."""

    root: Path
    files: tuple[str, ...]
    hashed: tuple[str, ...]


def _excluded(relative: Path) -> bool:
    parts = relative.parts
    return (
        parts[0] in EXCLUDED_TOP
        or any(part in EXCLUDED_ANYWHERE or part.endswith(EXCLUDED_SUFFIXES) for part in parts)
        or relative.as_posix() in EXCLUDED_FILES | REPLACED
    )


def source_files(root: Path, skip: Path | None = None) -> Iterator[Path]:
    """The repository's files that a release copies as they are, relative to `root`."""
    root = root.resolve()
    skip = skip.resolve() if skip is not None else None
    for path in sorted(root.rglob("*")):
        if skip is not None and path.is_relative_to(skip):
            continue
        relative = path.relative_to(root)
        if path.is_file() and not _excluded(relative):
            yield relative


def student_readme(exercises: Sequence[Exercise]) -> str:
    """The release's README: how to work, check, and submit; the exercises and their points."""
    total = sum(e.points for e in exercises)
    first = exercises[0]
    rows = "\n".join(
        f"| {number} | {e.title} | {e.points} | `{e.stub_file}` | `{e.instructions_file}` "
        f"| `python -m grader --exercise {e.name}` |"
        for number, e in enumerate(exercises, start=1)
    )
    protected = ", ".join(f"`{p}`" for p in PROTECTED)
    return f"""# Multiprocessing exercises: shared data, lost updates, locks and deadlocks

You complete small Python programs in which several processes share data. The tests check your
code many times under conditions that make concurrency bugs show up, and when something is
wrong they say what happened and which line of your code to look at.

## Setting up

You need Python 3.11 or newer. In this folder:

```
python -m venv .venv
```

then activate it (`source .venv/bin/activate` on macOS and Linux,
`.venv\\Scripts\\activate` on Windows) and install the exercises and the grader:

```
python -m pip install -e .
```

## The exercises

Do them in order. Each one is a file in `exercises/` for you to change, with its instructions
beside it. Change only the files in `exercises/`.

| # | Exercise | Points | Your file | Instructions | Check it |
| --- | --- | --- | --- | --- | --- |
{rows}

Total: {total} points.

## Checking your work

* `python -m pytest tests/test_{first.module}.py` runs one exercise's tests (`python -m pytest`
  runs them all). They fail until you have done the exercise: read the messages, they tell you
  what went wrong.
* `python -m grader` shows your score for every exercise, with hints;
  `python -m grader --exercise {first.name}` shows one.
* `python -m grader watch` grades the exercise you are on again each time you save its file,
  shows what to fix next (`h` for a hint, `q` to stop), and moves on when it has full marks.

## Handing in

Commit and push. On every push GitHub Actions grades your work
(`.github/workflows/classroom.yml`), once per push: the score, partial credit included, is in
the "Autograding Reporter" step, and the explanations are in the run's summary and as
annotations on your lines.

## Fair play

{protected} are recorded in `{MANIFEST_NAME}`. If any of them differ from what you were given
(or if you add a `pytest.ini`, `tox.ini`, `setup.cfg` or `setup.py`), the grader says so in its
report; on GitHub Actions the exercises those files decide score 0, with a message saying how to
restore them. Your instructor may also grade with their own copy of the tests. Changing the
tests cannot raise your score.
"""


def check_pyproject(release: Path) -> list[str]:
    """What the release's pyproject needs that the release does not have (empty when fine)."""
    data = tomllib.loads((release / "pyproject.toml").read_text(encoding="utf-8"))
    project = data.get("project", {})
    problems: list[str] = []
    needed: list[str] = []
    readme = project.get("readme")
    needed += [readme] if isinstance(readme, str) else [readme.get("file")] if readme else []
    license_ = project.get("license")
    needed += [license_["file"]] if isinstance(license_, dict) and "file" in license_ else []
    needed += [str(f) for f in project.get("license-files", []) if not any(c in str(f) for c in "*?[")]
    setuptools = data.get("tool", {}).get("setuptools", {})
    package_dir = setuptools.get("package-dir", {})
    needed += [str(d) for d in package_dir.values()]
    packages = setuptools.get("packages")
    if isinstance(packages, list):
        needed += [p.replace(".", "/") for p in packages]
    elif isinstance(packages, dict):
        find = packages.get("find", {})
        needed += [str(w) for w in find.get("where", [])]
        for pattern in find.get("include", []):
            top = str(pattern).split(".", 1)[0].rstrip("*")
            if top in EXCLUDED_TOP:
                problems.append(
                    f"pyproject.toml packages include {pattern!r}, which is not released"
                )
    pytest_options = data.get("tool", {}).get("pytest", {}).get("ini_options", {})
    testpaths = pytest_options.get("testpaths", [])
    needed += list(testpaths)
    if "tests" not in testpaths:
        problems.append(f"pyproject.toml testpaths {testpaths!r} do not run tests/ on the stubs")
    addopts = str(pytest_options.get("addopts", ""))
    if "--target" in addopts:
        problems.append(
            "pyproject.toml addopts set --target: students' pytest must judge exercises/"
        )
    problems += [
        f"pyproject.toml needs {name!r}, which the release does not have"
        for name in needed
        if name and not (release / name).exists()
    ]
    return problems


def _check_no_solution_copies(root: Path, release: Path, files: Sequence[str]) -> None:
    secrets = {
        file_hash(p): p.relative_to(root).as_posix()
        for p in sorted((root / "solutions").rglob("*.py"))
    }
    for name in files:
        source = secrets.get(file_hash(release / name))
        if source is not None:
            raise ReleaseError(f"{name} is a copy of {source}: the release would give it away")


def build_release(root: Path, out: Path) -> Release:
    """Write the student template of the repository at `root` into `out` (absent or empty)."""
    root, out = Path(root).resolve(), Path(out).resolve()
    if root == out or root.is_relative_to(out):
        raise ReleaseError(f"{out} would hold the repository itself")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ReleaseError(f"{out} exists and is not an empty directory")
    exercises = load_exercises(root / "info.toml")
    for exercise in exercises:
        if not (root / exercise.stub_file).is_file():
            raise ReleaseError(f"{exercise.stub_file} is missing: students need the stub")
    out.mkdir(parents=True, exist_ok=True)
    private_keys = {e.answer_key for e in exercises if e.answer_key and e.answer_key_private}
    copied = [relative.as_posix() for relative in source_files(root, skip=out)
              if relative.as_posix() not in private_keys]  # only the instructor's grading has them
    for name in copied:
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, target)
    (out / "README.md").write_text(student_readme(exercises), encoding="utf-8", newline="\n")
    workflow = out / WORKFLOW_PATH
    workflow.parent.mkdir(parents=True, exist_ok=True)
    workflow.write_text(render(exercises), encoding="utf-8", newline="\n")
    written = sorted({*copied, "README.md", WORKFLOW_PATH.as_posix()})
    _check_no_solution_copies(root, out, written)
    problems = check_pyproject(out)
    if problems:
        raise ReleaseError("; ".join(problems))
    write_manifest(out, out / MANIFEST_NAME)
    return Release(out, tuple(sorted([*written, MANIFEST_NAME])), tuple(compute_hashes(out)))


def parser() -> argparse.ArgumentParser:
    """`python -m grader release`'s arguments: main()'s keywords, with its defaults."""
    parser = argparse.ArgumentParser(
        prog="python -m grader release",
        description="Write the student template (no solutions, self-check or benchmarks) to OUT.",
        argument_default=argparse.SUPPRESS,
    )
    parser.add_argument("out", type=Path, metavar="OUT", help="an absent or empty directory")
    parser.add_argument("--root", type=Path, help="the repository to release (default: this one)")
    return parser


def main(*, out: Path, root: Path = REPO_ROOT) -> int:
    """Write the student template of the repository `root` to `out` (an absent or empty
    directory); 0 done, 2 when it cannot be made as asked."""
    try:
        release = build_release(root, out)
    except (ReleaseError, OSError, KeyError, ValueError) as error:
        print(f"grader release: {error}", file=sys.stderr)
        return 2
    print(
        f"wrote {len(release.files)} files to {release.root} "
        f"({len(release.hashed)} recorded in {MANIFEST_NAME}); "
        "make it a repository of its own with `git init`, then push it as the template"
    )
    return 0

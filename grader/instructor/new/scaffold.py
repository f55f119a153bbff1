"""`python -m grader new NAME --title "..."`: the five pieces of a new exercise, ready to fill in.

Like rustlings' `dev new`: it writes the stub, the instructions with numbered rules, the
reference solution, the suite (one test per rule, in the suites' style) and the info.toml
entry, and regenerates the classroom workflow so that it lists the exercise. Every spot the
author must write is marked `TODO(grader new)`; `python -m grader check` lists those that are
left, with the rest of what the exercise still lacks (grader.instructor.new.authoring).
"""

from __future__ import annotations

import argparse
import re
import string
import sys
from pathlib import Path

from grader.grading.grade import UsageError, UsageParser
from grader.instructor.new.authoring import PLACEHOLDER, RULE_ID
from grader.instructor.workflow import WORKFLOW_PATH, render_file
from grader.metadata import REPO_ROOT, load_exercises

NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def rule_letter(name: str, root: Path) -> str:
    """A letter no other exercise's rules use: the name's first free letter, else any free one."""
    used = set()
    for path in (root / "exercises").glob("*.md"):
        used |= {rule[0] for rule in RULE_ID.findall(path.read_text(encoding="utf-8"))}
    for letter in [c.upper() for c in name if c.isalpha()] + list(string.ascii_uppercase):
        if letter not in used:
            return letter
    raise UsageError("every rule letter A-Z is taken by another exercise")


def stub_text(name: str, title: str, letter: str) -> str:
    return f'''"""{title}.

Read exercises/{name}.md first. Then try this file:

    python exercises/{name}.py

and check your work with:

    pytest tests/test_{name}.py
"""

from multiprocessing import *


def run(processes: int = 4, times: int = 10) -> int:
    """Start `processes` processes that each do their part `times` times; return the total."""
    # {PLACEHOLDER}: the students' starting point: the exercise's problem, not its answer,
    # with a TODO of their own that says what to change and names its rule (rule {letter}1).
    raise NotImplementedError("run() is yours to write (rule {letter}1)")


if __name__ == "__main__":
    print(f"run(4, 10) returned {{run(4, 10)}}")
'''


def solution_text(name: str, title: str) -> str:
    return f'''"""{title} (reference solution).

Same functions and arguments as exercises/{name}.py; it must earn full marks.
"""

from multiprocessing import *


def run(processes: int = 4, times: int = 10) -> int:
    """Start `processes` processes that each do their part `times` times; return the total."""
    # {PLACEHOLDER}: the reference solution (make RawValue and Lock here, start every Process,
    # then join them all).
    raise NotImplementedError("the reference solution is not written yet")


if __name__ == "__main__":
    print(f"run(4, 10) returned {{run(4, 10)}}")
'''


def instructions_text(name: str, title: str, letter: str) -> str:
    return f"""# {title}

## The idea

{PLACEHOLDER}: the idea in a student's words: what goes wrong when processes share this, and
what the lesson's tool (a `Lock`, a `RawValue`, ...) changes.

## What to do

Open `exercises/{name}.py`.

* `run(processes=4, times=10)` starts `processes` processes, each doing its part `times`
  times, and returns the total they reached together: `run(4, 10)` returns `40` (rule {letter}1).
* Fewer than one process is a mistake: `run(0, 10)` raises `ValueError` (rule {letter}2).

{PLACEHOLDER}: one sentence per rule, ending with its id in brackets as above; each rule
needs a test marked with it in tests/test_{name}.py, and a failure quotes the sentence.

## Try it

```
python exercises/{name}.py
```

## Check your work

```
pytest tests/test_{name}.py
python -m grader --exercise {name}
python -m grader watch --exercise {name}
```
"""


def suite_text(name: str, title: str, letter: str) -> str:
    return f'''"""{title} (exercises/{name}.py).

Each test checks one rule of exercises/{name}.md. Run with `pytest tests/test_{name}.py`.
"""

from __future__ import annotations

import pytest

from grader.testing import require, require_value_error, site_of

MODULE = "{name}"


@pytest.fixture
def mod(student_module):
    return student_module(MODULE)


@pytest.mark.rule("{letter}1")
def test_run_returns_the_total_of_every_process(make_harness, mod) -> None:
    # {PLACEHOLDER}: the check of rule {letter}1. A checked run: the module's Lock, RawValue
    # and Process are instruments, so harness.check() reports lost updates, deadlocks and
    # unreleased locks with the student's line (make_harness(checks=Checks.DEADLOCKS) or
    # harness.check(Checks.DEADLOCKS, MISSING_JOIN) narrow that; all from grader.testing).
    harness = make_harness()
    harness.substitute(mod)
    result = mod.run(4, 10)
    harness.check()
    harness.require_processes(4, "run(4, 10)")
    require(result == 40, f"run(4, 10) returned {{result}}, not 40.", site=site_of(mod.run))


@pytest.mark.rule("{letter}2")
def test_run_refuses_fewer_than_one_process(mod) -> None:
    # {PLACEHOLDER}: the check of rule {letter}2.
    require_value_error(lambda: mod.run(0, 10), "run(0, 10)", site=site_of(mod.run))
'''


def info_entry(name: str, title: str) -> str:
    quoted_title = title.replace("\\", "\\\\").replace('"', '\\"')
    return f'''
[[exercises]]
name = "{name}"
module = "{name}"
title = "{quoted_title}"
points = 10
timeout = 60
hints = [
  "{PLACEHOLDER}: a nudge towards the idea, never the answer.",
]
'''


def create(root: Path, name: str, title: str) -> list[Path]:
    """Write the new exercise's files and info.toml entry; returns what was written."""
    root = Path(root).resolve()
    metadata = root / "info.toml"
    if not metadata.is_file():
        raise UsageError(f"--root {root}: not an exercise repository (no info.toml there)")
    if not NAME.match(name):
        raise UsageError(f"{name!r} cannot be an exercise name: use lower-case letters, digits "
                         "and underscores, starting with a letter (it is a module name)")
    if not title.strip() or "\n" in title:
        raise UsageError("--title must be one line of text")
    if any(name in (e.name, e.module) for e in load_exercises(metadata)):
        raise UsageError(f"info.toml already has an exercise called {name!r}")
    letter = rule_letter(name, root)
    files = {
        root / "exercises" / f"{name}.py": stub_text(name, title, letter),
        root / "exercises" / f"{name}.md": instructions_text(name, title, letter),
        root / "solutions" / f"{name}.py": solution_text(name, title),
        root / "tests" / f"test_{name}.py": suite_text(name, title, letter),
    }
    existing = [p.relative_to(root).as_posix() for p in files if p.exists()]
    if existing:
        raise UsageError(f"these files exist already (nothing was written): {', '.join(existing)}")
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
    old = metadata.read_text(encoding="utf-8")
    metadata.write_text(old.rstrip("\n") + "\n" + info_entry(name, title), encoding="utf-8",
                        newline="\n")
    written = [*files, metadata]
    workflow = root / WORKFLOW_PATH
    if workflow.is_file():  # keep `python -m grader workflow --check` passing
        workflow.write_text(render_file(metadata), encoding="utf-8", newline="\n")
        written.append(workflow)
    return written


def parser() -> argparse.ArgumentParser:
    """`python -m grader new`'s arguments: main()'s keywords, with its defaults."""
    parser = UsageParser(prog="python -m grader new", argument_default=argparse.SUPPRESS,
                         description="Write a new exercise's stub, instructions, solution, suite and "
                         "info.toml entry, to fill in where they say TODO(grader new); "
                         "`python -m grader check` then says what is left.")
    parser.add_argument("name", help="the exercise's name, which is also its module's")
    parser.add_argument("--title", required=True, help="one line for tables and the workflow")
    parser.add_argument("--root", metavar="PATH",
                        help="the exercise repository (default: the one holding grader/)")
    return parser


def main(*, name: str, title: str, root: str = str(REPO_ROOT)) -> int:
    """Write the exercise `name`'s five pieces, titled `title` (one line), into the exercise
    repository `root`, and say what to fill in; 0 done (a usage mistake raises UsageError)."""
    written = create(Path(root), name, title)
    home = Path(root).resolve()
    print(f"wrote {len(written)} files for {name}:")
    for path in written:
        print(f"  {path.relative_to(home).as_posix()}")
    print(f"Fill in every {PLACEHOLDER}, then run: python -m grader check --exercise {name}")
    sys.stdout.flush()
    return 0

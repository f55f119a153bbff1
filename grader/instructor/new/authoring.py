"""What an exercise's author still has to do, read from the files (no grading, no imports).

`python -m grader check` adds these to its verdicts, as rustlings' `dev check` does: the
placeholders `grader new` left (each marked `TODO(grader new)`), the rules of
exercises/<module>.md that no test of tests/test_<module>.py is marked with, markers that name
no rule, and the files an exercise needs that are missing.
"""

from __future__ import annotations

import ast
from pathlib import Path

from grader.judge.rules import RULE_ID
from grader.metadata import Exercise

PLACEHOLDER = "TODO(grader new)"


def rule_ids(markdown: str) -> list[str]:
    """The ids of the rules an exercise's instructions state, `(rule B1)`, outside code blocks."""
    ids: list[str] = []
    fenced = False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced:
            ids += [i for i in RULE_ID.findall(line) if i not in ids]
    return ids


def marked_tests(source: str) -> dict[str, list[str]]:
    """test name -> the rule ids of its `@pytest.mark.rule(...)` decorators."""
    tests: dict[str, list[str]] = {}
    for node in ast.parse(source).body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if not node.name.startswith("test"):
            continue
        ids = []
        for decorator in node.decorator_list:
            if (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)
                    and decorator.func.attr == "rule"
                    and ast.unparse(decorator.func.value) == "pytest.mark"):
                ids += [a.value for a in decorator.args
                        if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        tests[node.name] = ids
    return tests


def placeholders(path: Path, root: Path) -> list[str]:
    """`file:line: what to write` for each placeholder left in a file."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    shown = path.relative_to(root).as_posix()
    found = []
    for number, line in enumerate(lines, start=1):
        if PLACEHOLDER in line:
            what = line.split(PLACEHOLDER, 1)[1].strip(' :",')
            if what and not what.endswith("."):
                what += " …"
            found.append(f"{shown}:{number}: fill in {what or 'the placeholder'}")
    return found


def to_do(root: Path, exercise: Exercise) -> list[str]:
    """What the author still has to write for `exercise`, each item naming its file and fix."""
    root = Path(root)
    solution = root / "solutions" / f"{exercise.module}.py"
    files = {
        "stub": root / exercise.stub_file,
        "instructions": root / exercise.instructions_file,
        "solution": solution,
        "suite": root / exercise.test_file,
    }
    items = [f"{path.relative_to(root).as_posix()} is missing: write the {what}"
             for what, path in files.items() if what != "instructions" and not path.is_file()]
    for path in files.values():
        items += placeholders(path, root)
    items += [f"info.toml: fill in the hint of {exercise.name}: {hint.split(PLACEHOLDER, 1)[1].strip(' :')}"
              for hint in exercise.hints if PLACEHOLDER in hint]
    if not files["instructions"].is_file() or not files["suite"].is_file():
        return items
    rules = rule_ids(files["instructions"].read_text(encoding="utf-8"))
    if not rules:  # an exercise set that does not state rules (the checks below need them)
        return items
    try:
        tests = marked_tests(files["suite"].read_text(encoding="utf-8"))
    except SyntaxError as error:
        return [*items, f"{exercise.test_file}:{error.lineno}: Python cannot read the suite "
                        f"({error.msg})"]
    marked = {rule for ids in tests.values() for rule in ids}
    suite = exercise.test_file
    items += [f"rule {rule} of {exercise.instructions_file} has no test: mark the test that "
              f"checks it @pytest.mark.rule({rule!r}) in {suite}"
              for rule in rules if rule not in marked]
    items += [f"{suite} marks rule {rule}, which {exercise.instructions_file} does not state: "
              f"end the rule's sentence with (rule {rule})"
              for rule in sorted(marked) if rule not in rules]
    items += [f"{suite}::{name} names no rule: mark it @pytest.mark.rule(...) with the rule "
              "it checks" for name, ids in tests.items() if not ids]
    return items

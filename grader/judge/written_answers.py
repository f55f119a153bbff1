"""Answers as the student's file writes them: read from the source with `ast`, never run.

A quiz answer is what the file says, a literal assigned at the top level. Whatever the module
does when it runs (computing a letter, trying every option, serving values through its class)
does not count, so the judge reads the source text and never asks the student's module.
"""

from __future__ import annotations

import ast
import os
import stat
from dataclasses import dataclass
from pathlib import Path

MAX_SOURCE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class WrittenAnswer:
    """What the file says about one name: the literal's value and line, or why there is none."""

    value: object = None
    line: int | None = None
    problem: str | None = None  # the file sets the name some other way: said in words


def read_source(path: Path) -> str:
    """The text of a regular file (no link, no device), at most MAX_SOURCE_BYTES."""
    if not stat.S_ISREG(os.lstat(path).st_mode):
        raise OSError(f"{path.name} is not a regular file")
    with path.open("rb") as handle:
        data = handle.read(MAX_SOURCE_BYTES + 1)
    if len(data) > MAX_SOURCE_BYTES:
        raise OSError(f"{path.name} is larger than {MAX_SOURCE_BYTES // 1024} KiB")
    return data.decode("utf-8", errors="replace")


def _assigned_names(node: ast.stmt) -> list[str]:
    """Names a top-level `NAME = ...` or `NAME: T = ...` sets plainly (one name per target)."""
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)]
    if isinstance(node, ast.AnnAssign) and node.value is not None and isinstance(node.target, ast.Name):
        return [node.target.id]
    return []


def _other_binding(tree: ast.Module, name: str, plain: set[int]) -> int | None:
    """The line of any way of setting `name` other than a plain top-level assignment."""
    for node in ast.walk(tree):
        line = getattr(node, "lineno", None)
        if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, (ast.Store, ast.Del)):
            if id(node) not in plain:
                return line
        elif isinstance(node, (ast.Global, ast.Nonlocal)) and name in node.names:
            return line
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return line
        elif isinstance(node, ast.alias) and (node.asname or node.name) == name:
            return line
        elif isinstance(node, ast.Attribute) and node.attr == name and not isinstance(node.ctx, ast.Load):
            return line
        elif isinstance(node, ast.Constant) and node.value == name:  # setattr(...), globals()[...]
            return line
    return None


def written_answers(source: str, names: tuple[str, ...]) -> dict[str, WrittenAnswer]:
    """For each name: the literal its last top-level assignment writes. Raises SyntaxError."""
    tree = ast.parse(source)
    found: dict[str, WrittenAnswer] = {}
    plain: dict[str, set[int]] = {name: set() for name in names}
    for node in tree.body:
        for target_name in _assigned_names(node):
            if target_name not in plain:
                continue
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            plain[target_name].update(id(t) for t in targets if isinstance(t, ast.Name))
            value = node.value
            if isinstance(node, ast.Assign) and len(node.targets) > 1:
                found[target_name] = WrittenAnswer(line=node.lineno, problem="chained")
            elif isinstance(value, ast.Constant):
                found[target_name] = WrittenAnswer(value.value, node.lineno)
            else:
                found[target_name] = WrittenAnswer(line=node.lineno, problem="computed")
    answers = {}
    for name in names:
        other = _other_binding(tree, name, plain[name])
        if other is not None:
            answers[name] = WrittenAnswer(line=other, problem="set elsewhere")
        else:
            answers[name] = found.get(name, WrittenAnswer(problem="missing"))
    return answers

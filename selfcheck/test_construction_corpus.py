"""Every way of making the lesson's objects has a correct and a buggy variant (issue 18).

The ways are read from each variant's source with `ast` (fast: no processes, no student code
run): the object made (`Lock`, `RLock`, `RawValue`, `RawArray`, `Value` and `Array` with
`lock=False` or with their own lock, `Process`) and the route it was made by (by name, through
`multiprocessing.`, `multiprocessing.sharedctypes`, `multiprocessing.synchronize`,
`multiprocessing.context.*`, or a context from `get_context()` with or without a method name).
Whether each variant gets its verdict is selfcheck/test_suites_judge.py's concern.
"""

from __future__ import annotations

import ast
import functools

import pytest

from selfcheck.suite_runs import Variant, load_variants

OBJECTS = ("Lock", "RLock", "RawValue", "RawArray", "Value", "Array", "Process")
WAYS = (
    "Lock", "RLock", "RawValue", "RawArray", "Value(lock=False)", "Value with its own lock",
    "Value given a lock", "Array(lock=False)", "Array with its own lock", "Process",
    "by name", "multiprocessing.", "multiprocessing.sharedctypes", "multiprocessing.synchronize",
    "multiprocessing.context", "get_context()", "get_context(method)",
)
VARIANTS = [v for v in load_variants() if v.expect in ("pass", "fail")]


def contexts_of(tree: ast.AST) -> dict[str, str]:
    """Names bound to a context: `ctx = get_context()` -> {"ctx": "get_context()"}."""
    contexts = {}
    for node in ast.walk(tree):
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                and ast.unparse(node.value.func).split(".")[-1] == "get_context"):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    contexts[target.id] = "get_context(method)" if node.value.args else "get_context()"
    return contexts


def object_way(name: str, call: ast.Call) -> str:
    """`Value(..., lock=False)` -> "Value(lock=False)"; `Value(...)` -> "Value with its own lock"."""
    if name not in ("Value", "Array"):
        return name
    lock = next((k.value for k in call.keywords if k.arg == "lock"), None)
    if isinstance(lock, ast.Constant) and lock.value is False:
        return f"{name}(lock=False)"
    return f"{name} with its own lock" if lock is None or isinstance(lock, ast.Constant) else f"{name} given a lock"


def route(parts: list[str], contexts: dict[str, str]) -> str:
    if len(parts) == 1:
        return "by name"
    if parts[0] in contexts:
        return contexts[parts[0]]
    if parts[:2] == ["multiprocessing", "get_context"]:
        return "get_context(method)"  # multiprocessing.get_context(...).Lock(): counted as a context
    if len(parts) >= 3 and parts[0] == "multiprocessing":
        return f"multiprocessing.{parts[1]}"
    return "multiprocessing." if parts[0] == "multiprocessing" else "other"


def ways_of(source: str) -> set[str]:
    """The (object and route) ways a program makes the lesson's objects by."""
    tree = ast.parse(source)
    # The demo under `if __name__ == "__main__":` is never judged: its ways do not count.
    tree.body = [node for node in tree.body if not (isinstance(node, ast.If) and "__main__" in ast.unparse(node.test))]
    contexts = contexts_of(tree)
    ways = set()
    for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
        parts = ast.unparse(call.func).split(".")
        if parts[-1] == "get_context":
            ways.add("get_context(method)" if call.args else "get_context()")
        elif parts[-1] in OBJECTS:
            ways |= {object_way(parts[-1], call), route(parts[:-1] + [parts[-1]], contexts)}
    return ways


@functools.cache
def ways_of_variant(variant_id: str) -> frozenset[str]:
    return frozenset(ways_of(next(v for v in VARIANTS if v.id == variant_id).source()))


def variants_using(way: str, expect: str) -> list[Variant]:
    return [v for v in VARIANTS if v.expect == expect and way in ways_of_variant(v.id)]


def test_the_ways_are_read_as_written() -> None:
    source = '''
import multiprocessing
import multiprocessing.sharedctypes
from multiprocessing import Array, Lock, get_context

def run():
    ctx = get_context("spawn")
    plain = multiprocessing.get_context()
    lock = multiprocessing.synchronize.Lock(ctx=plain)
    a = Array("i", 3)
    b = multiprocessing.sharedctypes.Array("i", 1, lock=False)
    c = ctx.RawValue("i", 0)
    d = plain.Process(target=print)
    e = multiprocessing.context.Process(target=print)
    f = multiprocessing.RLock()

if __name__ == "__main__":
    g = multiprocessing.RawArray("i", 3)
'''
    assert ways_of(source) == {
        "get_context(method)", "get_context()", "Lock", "multiprocessing.synchronize", "Array with its own lock",
        "by name", "Array(lock=False)", "multiprocessing.sharedctypes", "RawValue", "Process",
        "multiprocessing.context", "RLock", "multiprocessing.",
    }
    assert ways_of("import multiprocessing\nv = multiprocessing.Value('i', 0, lock=multiprocessing.RLock())\n") == {
        "Value given a lock", "RLock", "multiprocessing."}


@pytest.mark.parametrize("way", WAYS)
def test_every_way_has_a_correct_and_a_buggy_variant(way: str) -> None:
    assert variants_using(way, "pass"), f"no correct variant makes its objects by {way}"
    assert variants_using(way, "fail"), f"no buggy variant makes its objects by {way}"

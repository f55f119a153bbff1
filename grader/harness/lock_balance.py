"""Static lock-balance check: acquires that some path leaves without a release.

The runtime harness only sees the paths a run happens to take; a `continue` that skips
`release()` on a rare branch may never run under test. This check reads the function's
code instead (an abstract interpretation over statement lists): each program point has a
set of possible "held" states, branches are unioned, loops are iterated to a fixpoint, and
every way out (return, continue, break, raise, the end) is checked against what is held.
Locks are named by the source text of the receiver (`lock`, `locks[i]`, `self.lock`).
Exceptions are only followed where the code says so (`raise`, `try/except`).
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass

# A held lock: (lock text, absolute acquire line, line of the `break` it left its loop by).
Held = tuple[str, int, int | None]
State = frozenset[Held]
Exit = tuple[str, int, State]  # (kind, absolute line, state when leaving)
Flow = tuple[set[State], set[Exit]]  # (states falling through, exits taken)
_MAX_PASSES = 20  # states are finite, so the loop fixpoint comes long before this


@dataclass(frozen=True)
class LockBalanceIssue:
    """One acquire that a path leaves held ("unreleased") or acquires again ("reacquire")."""

    kind: str
    lock: str
    acquire_line: int
    exit_line: int | None
    exit_kind: str
    file: str
    message: str


def _message(kind: str, lock: str, file: str, acq: int, exit_kind: str, line: int | None) -> str:
    """Plain words for a student: the concept, the lines, and where to look (not the fix)."""
    start = f"the lock `{lock}` acquired at {file}:{acq}"
    if kind == "reacquire":
        again = ("is acquired again by the same line on the next pass of the loop"
                 if line == acq else f"is acquired again at line {line}")
        return (f"{start} {again} while it is still held: a Lock is not re-entrant, so the "
                f"process waits for itself forever (self-deadlock). Follow the path from line "
                f"{acq} to line {line} and look for where the lock should have been given back.")
    where = {
        "continue": f"when `continue` at line {line} starts the next iteration: the lock is "
                    f"never given back, so the next acquire() of it will wait for it forever",
        "return": f"when `return` at line {line} leaves the function: every later acquire() "
                  f"of it, in any process, will wait forever",
        "raise": f"when the exception raised at line {line} leaves the function: an error "
                 f"path has to give the lock back too, or every later acquire() waits forever",
        "break": f"when `break` at line {line} leaves the loop, and nothing after the loop "
                 f"releases it: every later acquire() of it will wait forever",
        "end": "when the function ends: on at least one path no release() matches this "
               "acquire(), so every later acquire() of it will wait forever",
    }[exit_kind]
    return f"{start} is still held {where}. Follow each path out of the code that holds it."


def _method_call(node: ast.AST, name: str) -> ast.Call | None:
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == name):
        return node
    return None


def _blocking(call: ast.Call) -> bool:
    """Whether acquire() waits forever: no `False` block flag and no timeout."""
    args = {kw.arg: kw.value for kw in call.keywords}
    block = call.args[0] if call.args else args.get("block", args.get("blocking"))
    timeout = call.args[1] if len(call.args) > 1 else args.get("timeout")
    if isinstance(block, ast.Constant) and not block.value:
        return False
    return timeout is None or (isinstance(timeout, ast.Constant) and timeout.value in (None, -1))


def _calls(node: ast.AST) -> list[ast.Call]:
    """Calls in an expression, roughly in evaluation order; lambdas run later, so skipped."""
    found: list[ast.Call] = []
    todo = [node]
    while todo:
        cur = todo.pop()
        if isinstance(cur, ast.Lambda):
            continue
        if isinstance(cur, ast.Call):
            found.append(cur)
        todo.extend(ast.iter_child_nodes(cur))
    return sorted(found, key=lambda c: (c.end_lineno or 0, c.end_col_offset or 0))


def _held(state: State, lock: str) -> Held | None:
    return next((h for h in state if h[0] == lock), None)


def _without(state: State, lock: str) -> State:
    return frozenset(h for h in state if h[0] != lock)


class _Analyzer:
    def __init__(self, filename: str, offset: int) -> None:
        self.file, self.offset = filename, offset
        self.issues: dict[tuple[str, str, int, int | None], LockBalanceIssue] = {}
        self.flags: dict[str, tuple[str, int]] = {}  # `ok = lock.acquire(...)` -> ok: lock

    def line(self, node: ast.AST) -> int:
        return getattr(node, "lineno", 1) + self.offset

    def report(self, kind: str, held: Held, exit_kind: str, exit_line: int | None) -> None:
        lock, acq, via = held
        if kind == "unreleased" and via is not None:
            exit_kind, exit_line = "break", via
        key = (kind, lock, acq, exit_line)
        if key not in self.issues:
            msg = _message(kind, lock, self.file, acq, exit_kind, exit_line)
            self.issues[key] = LockBalanceIssue(kind, lock, acq, exit_line, exit_kind,
                                                self.file, msg)

    def leaks(self, states: Iterable[State], exit_kind: str, line: int | None) -> None:
        for state in states:
            for held in state:
                self.report("unreleased", held, exit_kind, line)

    def flag(self, target: ast.expr, value: ast.expr) -> None:
        """Remember `ok = lock.acquire(...)` so that `if ok:` / `if not ok:` splits on it."""
        if isinstance(target, ast.Name) and (call := _method_call(value, "acquire")):
            lock = ast.unparse(call.func.value)  # type: ignore[attr-defined]
            self.flags[target.id] = (lock, self.line(call))

    # -- effects of expressions -------------------------------------------------------
    def acquire(self, state: State, lock: str, blocking: bool, at: int) -> State | None:
        """The state after a plain acquire(); None when the path self-deadlocks there."""
        held = _held(state, lock)
        if held is None:
            return state | {(lock, at, None)}
        if blocking:
            self.report("reacquire", held, "acquire", at)
            return None
        return state  # a non-blocking acquire of a held lock just fails

    def effects(self, node: ast.AST | None, states: set[State]) -> set[State]:
        if node is None:
            return states
        for call in _calls(node):
            if (acq := _method_call(call, "acquire")) is not None:
                lock = ast.unparse(acq.func.value)  # type: ignore[attr-defined]
                after = (self.acquire(s, lock, _blocking(acq), self.line(acq)) for s in states)
                states = {s for s in after if s is not None}
            elif (rel := _method_call(call, "release")) is not None:
                lock = ast.unparse(rel.func.value)  # type: ignore[attr-defined]
                states = {_without(s, lock) for s in states}
        return states

    def split(self, test: ast.expr, states: set[State]) -> tuple[set[State], set[State]]:
        """States where `test` is true / false; `if lock.acquire(False):` holds only on true."""
        negate = False
        while isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            negate, test = not negate, test.operand
        if isinstance(test, ast.NamedExpr):  # `if (ok := lock.acquire(False)):`
            self.flag(test.target, test.value)
            test = test.value
        if isinstance(test, ast.Constant):
            true, false = (states, set()) if test.value else (set(), states)
        elif (call := _method_call(test, "acquire")) is not None:
            lock, at = ast.unparse(call.func.value), self.line(call)  # type: ignore[attr-defined]
            true, false = set(), set()
            for s in states:
                if _held(s, lock) is None:
                    true.add(s | {(lock, at, None)})
                    if not _blocking(call):
                        false.add(s)  # a blocking acquire() always returns True
                elif _blocking(call):
                    self.acquire(s, lock, True, at)  # reports the self-deadlock
                else:
                    false.add(s)
        elif isinstance(test, ast.Name) and test.id in self.flags:
            lock, at = self.flags[test.id]
            true = states
            false = {frozenset(h for h in s if h[:2] != (lock, at)) for s in states}
        else:
            true = false = self.effects(test, states)
        return (false, true) if negate else (true, false)

    # -- statements -------------------------------------------------------------------
    def block(self, stmts: list[ast.stmt], states: set[State],
              seen: set[State] | None = None) -> Flow:
        """Run a statement list; `seen` collects the states between statements (for except)."""
        exits: set[Exit] = set()
        for stmt in stmts:
            if seen is not None:
                seen |= states
            states, more = self.stmt(stmt, states)
            exits |= more
        if seen is not None:
            seen |= states
        return states, exits

    def stmt(self, node: ast.stmt, states: set[State]) -> Flow:
        at = self.line(node)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            return states, set()  # nested functions are checked on their own
        if isinstance(node, ast.Return | ast.Raise):
            kind = "return" if isinstance(node, ast.Return) else "raise"
            value = node.value if isinstance(node, ast.Return) else node.exc
            return set(), {(kind, at, s) for s in self.effects(value, states)}
        if isinstance(node, ast.Break | ast.Continue):
            kind = "break" if isinstance(node, ast.Break) else "continue"
            return set(), {(kind, at, s) for s in states}
        if isinstance(node, ast.If):
            true, false = self.split(node.test, states)
            t_states, t_exits = self.block(node.body, true)
            f_states, f_exits = self.block(node.orelse, false)
            return t_states | f_states, t_exits | f_exits
        if isinstance(node, ast.For | ast.AsyncFor | ast.While):
            return self.loop(node, states)
        if isinstance(node, ast.With | ast.AsyncWith):
            return self.with_(node, states)
        if isinstance(node, ast.Try | ast.TryStar):
            return self.try_(node, states)
        if isinstance(node, ast.Match):
            states = self.effects(node.subject, states)
            out, exits = set(), set()
            for case in node.cases:
                c_states, c_exits = self.block(case.body, states)
                out, exits = out | c_states, exits | c_exits
            if not any(isinstance(c.pattern, ast.MatchAs) and c.pattern.pattern is None
                       and c.guard is None for c in node.cases):
                out |= states  # no case matched
            return out, exits
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            self.flag(node.targets[0], node.value)
        return self.effects(node, states), set()

    def with_(self, node: ast.With | ast.AsyncWith, states: set[State]) -> Flow:
        """`with lock:` acquires on entry and releases on every way out of the block."""
        locks = []
        for item in node.items:
            expr = item.context_expr
            if not isinstance(expr, ast.Name | ast.Attribute | ast.Subscript):  # open(...)
                states = self.effects(expr, states)
                continue
            lock = ast.unparse(expr)
            after = (self.acquire(s, lock, True, self.line(expr)) for s in states)
            states, locks = {s for s in after if s is not None}, locks + [lock]

        def release(state: State) -> State:
            for lock in locks:
                state = _without(state, lock)
            return state
        states, exits = self.block(node.body, states)
        return {release(s) for s in states}, {(k, ln, release(s)) for k, ln, s in exits}

    def try_(self, node: ast.Try | ast.TryStar, states: set[State]) -> Flow:
        """A raise or any statement in the body may land in a handler; finally runs on every exit."""
        seen: set[State] = set()
        body, exits = self.block(node.body, states, seen)
        if node.handlers:
            seen |= {s for k, _, s in exits if k == "raise"}
            exits = {e for e in exits if e[0] != "raise"}
        out, e_exits = self.block(node.orelse, body)
        exits |= e_exits
        for handler in node.handlers:
            h_states, h_exits = self.block(handler.body, seen)
            out, exits = out | h_states, exits | h_exits
        if not node.finalbody:
            return out, exits
        out, final_exits = self.block(node.finalbody, out)
        for kind, line, state in exits:
            after, more = self.block(node.finalbody, {state})
            final_exits |= {(kind, line, s) for s in after} | more
        return out, final_exits

    def loop(self, node: ast.For | ast.AsyncFor | ast.While, states: set[State]) -> Flow:
        """Iterate the body to a fixpoint; `continue`/`break` with a lock taken inside the loop
        leaves it held for the next pass / after the loop."""
        first, last = self.line(node), (node.end_lineno or node.lineno) + self.offset
        if not isinstance(node, ast.While):
            states = self.effects(node.iter, states)
        # A lock already held on entry (released and re-taken inside) keeps the loop's invariant.
        outer = {h[0] for s in states for h in s}
        head, broken, out_exits = set(states), set(), set()
        for _ in range(_MAX_PASSES):
            inside = self.split(node.test, head)[0] if isinstance(node, ast.While) else head
            body, exits = self.block(node.body, inside)
            new_head = head | body
            for kind, line, state in exits:
                mine = [h for h in state if first <= h[1] <= last and h[0] not in outer]
                if kind == "continue":
                    self.leaks([frozenset(mine)], "continue", line)
                    new_head.add(state - frozenset(mine))
                elif kind == "break":
                    broken.add((state - frozenset(mine))
                               | {(h[0], h[1], h[2] or line) for h in mine})
                else:
                    out_exits.add((kind, line, state))
            if new_head == head:
                break
            head = new_head
        done = self.split(node.test, head)[1] if isinstance(node, ast.While) else head
        after, else_exits = self.block(node.orelse, done)
        return after | broken, out_exits | else_exits

    def function(self, func: ast.FunctionDef | ast.AsyncFunctionDef) -> list[LockBalanceIssue]:
        end, exits = self.block(func.body, {frozenset()})
        self.leaks(end, "end", None)
        for kind, line, state in exits:
            self.leaks([state], kind, line)
        return sorted(self.issues.values(), key=lambda i: (
            i.acquire_line, i.exit_line if i.exit_line is not None else 1 << 30, i.kind, i.lock))


def _find(tree: ast.AST, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef:
    """The function `name` (or `Class.method`), outermost first."""
    *outer, last = name.split(".")
    scope = [tree]
    for part in outer:
        scope = [n for s in scope for n in ast.walk(s)
                 if isinstance(n, ast.ClassDef | ast.FunctionDef) and n.name == part]
    candidates = [n for s in scope for n in ast.walk(s)
                  if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == last]
    if not candidates:
        raise ValueError(f"no function named {name!r} in the source")
    return min(candidates, key=lambda n: (n.col_offset, n.lineno))


def check_source(source: str, function: str, *, filename: str = "<source>",
                 first_line: int = 1) -> list[LockBalanceIssue]:
    """Check `function` in `source`, whose first line is line `first_line` of `filename`."""
    try:
        tree, offset = ast.parse(textwrap.dedent(source)), first_line - 1
    except IndentationError:  # dedent gives up when a string inside starts at column 0
        tree, offset = ast.parse("if 1:\n" + source), first_line - 2
    return _Analyzer(filename, offset).function(_find(tree, function))


def check_function(func: Callable[..., object], *,
                   display_path: str | None = None) -> list[LockBalanceIssue]:
    """Check a live function; `display_path` names its file in messages (default: its path)."""
    lines, first = inspect.getsourcelines(func)
    path = display_path or inspect.getsourcefile(func) or func.__code__.co_filename
    return check_source("".join(lines), func.__name__, filename=path, first_line=max(first, 1))

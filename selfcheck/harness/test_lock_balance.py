"""Unit tests for the static lock-balance check (grader/harness/lock_balance.py).

Every snippet starts with its `def` on line 1, so the line numbers in the expectations
are the snippet's own line numbers.
"""

from __future__ import annotations

import functools
import inspect
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.harness.lock_balance import LockBalanceIssue, check_function, check_source


def issues(src: str, name: str = "f", **kw: object) -> list[tuple]:
    """(kind, lock, acquire_line, exit_line, exit_kind) for each issue found in `name`."""
    found = check_source(textwrap.dedent(src), name, **kw)  # type: ignore[arg-type]
    return [(i.kind, i.lock, i.acquire_line, i.exit_line, i.exit_kind) for i in found]


# -- correct patterns: nothing reported ---------------------------------------------------

ACCEPTED = {
    "with": """\
        def f(lock, counter):
            with lock:
                counter.value += 1
        """,
    "nested_with": """\
        def f(a, b):
            with a:
                with b:
                    work()
        """,
    "with_two_items": """\
        def f(a, b):
            with a, b:
                work()
        """,
    "with_subscript_and_continue": """\
        def f(locks, jobs):
            for i, j in jobs:
                with locks[i]:
                    if i == j:
                        continue
                    with locks[j]:
                        work()
        """,
    "try_finally": """\
        def f(lock):
            lock.acquire()
            try:
                if work():
                    return 1
                raise ValueError
            finally:
                lock.release()
        """,
    "acquire_inside_try": """\
        def f(lock):
            try:
                lock.acquire()
                work()
            finally:
                lock.release()
        """,
    "release_before_continue": """\
        def f(locks, jobs):
            for i, j in jobs:
                locks[i].acquire()
                if i == j:
                    locks[i].release()
                    continue
                locks[j].acquire()
                work()
                locks[j].release()
                locks[i].release()
        """,
    "release_before_return": """\
        def f(lock, account, amount):
            lock.acquire()
            if account.value < amount:
                lock.release()
                return False
            account.value -= amount
            lock.release()
            return True
        """,
    "release_before_break": """\
        def f(lock, items):
            for item in items:
                lock.acquire()
                if item is None:
                    lock.release()
                    break
                work(item)
                lock.release()
        """,
    "coarse_lock_around_loop": """\
        def f(lock, items):
            lock.acquire()
            for item in items:
                if item is None:
                    continue
                if item < 0:
                    break
                work(item)
            lock.release()
        """,
    "pair_inside_loop": """\
        def f(lock, counter, n):
            for _ in range(n):
                lock.acquire()
                counter.value += 1
                lock.release()
        """,
    "conditional_acquire_timeout": """\
        def f(lock):
            if lock.acquire(timeout=1):
                work()
                lock.release()
            else:
                print("busy")
        """,
    "conditional_acquire_nonblocking_return": """\
        def f(lock):
            if not lock.acquire(block=False):
                return False
            work()
            lock.release()
            return True
        """,
    "acquire_result_in_variable": """\
        def f(lock):
            ok = lock.acquire(timeout=0.5)
            if not ok:
                return
            work()
            lock.release()
        """,
    "spin_until_acquired": """\
        def f(lock):
            while not lock.acquire(False):
                wait()
            work()
            lock.release()
        """,
    "if_elif_else_all_release": """\
        def f(lock, x):
            lock.acquire()
            if x > 0:
                lock.release()
                work()
            elif x < 0:
                lock.release()
            else:
                lock.release()
                return 0
            return 1
        """,
    "opposite_order_release": """\
        def f(a, b):
            a.acquire()
            b.acquire()
            work()
            a.release()
            b.release()
        """,
    "while_true_with_break": """\
        def f(lock, queue):
            while True:
                lock.acquire()
                item = queue.get()
                lock.release()
                if item is None:
                    break
                work(item)
        """,
    "while_true_coarse_lock_break": """\
        def f(lock, queue):
            lock.acquire()
            while True:
                if queue.empty():
                    break
                work(queue.get())
            lock.release()
        """,
    "break_held_then_released_after_loop": """\
        def f(lock, items):
            for item in items:
                lock.acquire()
                if item is None:
                    break
                lock.release()
            else:
                return
            lock.release()
        """,
    "except_releases_and_reraises": """\
        def f(lock):
            lock.acquire()
            try:
                work()
            except Exception:
                lock.release()
                raise
            lock.release()
        """,
    "raise_inside_with": """\
        def f(lock, x):
            with lock:
                if x < 0:
                    raise ValueError(x)
                return x
        """,
    "method_self_lock": """\
        def f(self):
            self.lock.acquire()
            try:
                self.n += 1
            finally:
                self.lock.release()
        """,
    "nested_function_is_separate": """\
        def f(lock):
            def helper():
                lock.acquire()
            lock.release()
        """,
    "outer_lock_released_and_retaken_in_loop": """\
        def f(lock, items):
            lock.acquire()
            for item in items:
                lock.release()
                work(item)
                lock.acquire()
                if item is None:
                    continue
            lock.release()
        """,
    "flag_tested_in_finally": """\
        def f(lock):
            got = lock.acquire(timeout=2)
            try:
                work()
            finally:
                if got:
                    lock.release()
        """,
    "walrus_conditional_acquire": """\
        def f(lock):
            if not (ok := lock.acquire(False)):
                return ok
            lock.release()
            return ok
        """,
    "blocking_acquire_in_if_has_no_else_path": """\
        def f(lock):
            if lock.acquire():
                work()
            lock.release()
        """,
    "match_every_case_releases": """\
        def f(lock, cmd):
            lock.acquire()
            match cmd:
                case "a":
                    lock.release()
                case _:
                    lock.release()
        """,
}


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_correct_pattern_is_accepted(name: str) -> None:
    assert issues(ACCEPTED[name]) == []


# -- buggy patterns: caught with the right lines and kinds --------------------------------

CAUGHT = {
    "continue_while_holding": ("""\
        def f(locks, jobs):
            for i, j in jobs:
                locks[i].acquire()
                if i == j:
                    continue
                locks[j].acquire()
                work()
                locks[j].release()
                locks[i].release()
        """, [("unreleased", "locks[i]", 3, 5, "continue")]),
    "one_branch_not_releasing": ("""\
        def f(lock, x):
            lock.acquire()
            if x:
                lock.release()
            else:
                work()
        """, [("unreleased", "lock", 2, None, "end")]),
    "elif_branch_not_releasing": ("""\
        def f(lock, x):
            lock.acquire()
            if x > 0:
                lock.release()
            elif x < 0:
                work()
            else:
                lock.release()
        """, [("unreleased", "lock", 2, None, "end")]),
    "raise_while_holding": ("""\
        def f(lock, amount):
            lock.acquire()
            if amount < 0:
                raise ValueError(amount)
            lock.release()
        """, [("unreleased", "lock", 2, 4, "raise")]),
    "return_while_holding": ("""\
        def f(lock, account, amount):
            lock.acquire()
            if account.value < amount:
                return False
            account.value -= amount
            lock.release()
            return True
        """, [("unreleased", "lock", 2, 4, "return")]),
    "break_while_holding": ("""\
        def f(lock, items):
            for item in items:
                lock.acquire()
                if item is None:
                    break
                lock.release()
            return 0
        """, [("unreleased", "lock", 3, 5, "break")]),
    "falls_off_the_end": ("""\
        def f(lock, counter):
            lock.acquire()
            counter.value += 1
        """, [("unreleased", "lock", 2, None, "end")]),
    "double_acquire": ("""\
        def f(lock):
            lock.acquire()
            lock.acquire()
            lock.release()
            lock.release()
        """, [("reacquire", "lock", 2, 3, "acquire")]),
    "acquire_inside_with_of_same_lock": ("""\
        def f(lock):
            with lock:
                lock.acquire()
        """, [("reacquire", "lock", 2, 3, "acquire")]),
    "acquire_in_loop_without_release": ("""\
        def f(lock, n):
            for _ in range(n):
                lock.acquire()
                work()
        """, [("reacquire", "lock", 3, 3, "acquire"), ("unreleased", "lock", 3, None, "end")]),
    "while_true_never_releases": ("""\
        def f(lock):
            while True:
                lock.acquire()
                work()
        """, [("reacquire", "lock", 3, 3, "acquire")]),
    "continue_in_inner_loop": ("""\
        def f(locks, rows):
            for row in rows:
                for i in row:
                    locks[i].acquire()
                    if i < 0:
                        continue
                    locks[i].release()
        """, [("unreleased", "locks[i]", 4, 6, "continue")]),
    "conditional_acquire_success_returns": ("""\
        def f(lock):
            if lock.acquire(timeout=1):
                return True
            return False
        """, [("unreleased", "lock", 2, 3, "return")]),
    "except_swallows_while_holding": ("""\
        def f(lock):
            try:
                lock.acquire()
                work()
                lock.release()
            except OSError:
                return None
        """, [("unreleased", "lock", 3, 7, "return")]),
    "with_then_manual_reacquire_in_loop_body": ("""\
        def f(a, b, items):
            for item in items:
                with a:
                    b.acquire()
                    if item:
                        continue
                    b.release()
        """, [("unreleased", "b", 4, 6, "continue")]),
    "one_of_two_locks_leaks_on_return": ("""\
        def f(a, b, x):
            a.acquire()
            b.acquire()
            if x:
                a.release()
                return
            b.release()
            a.release()
        """, [("unreleased", "b", 3, 6, "return")]),
}


@pytest.mark.parametrize("name", sorted(CAUGHT))
def test_buggy_pattern_is_caught(name: str) -> None:
    src, expected = CAUGHT[name]
    assert issues(src) == expected


# -- API details ------------------------------------------------------------------------

def test_filename_and_first_line_make_lines_absolute() -> None:
    src = CAUGHT["continue_while_holding"][0]
    found = check_source(textwrap.dedent(src), "f", filename="exercises/deadlock_fix.py",
                         first_line=11)
    assert found == [LockBalanceIssue(
        kind="unreleased", lock="locks[i]", acquire_line=13, exit_line=15,
        exit_kind="continue", file="exercises/deadlock_fix.py", message=found[0].message)]
    msg = found[0].message
    assert "exercises/deadlock_fix.py:13" in msg and "line 15" in msg
    assert "`continue`" in msg and "forever" in msg and "`locks[i]`" in msg


def test_messages_explain_without_giving_the_fix_away() -> None:
    for src, _ in CAUGHT.values():
        for issue in check_source(textwrap.dedent(src), "f"):
            assert "still held" in issue.message or "acquired again" in issue.message
            assert "forever" in issue.message
            assert ".release()" not in issue.message and "`with" not in issue.message
            assert f"<source>:{issue.acquire_line}" in issue.message


def test_reacquire_message_names_self_deadlock() -> None:
    [issue] = check_source(textwrap.dedent(CAUGHT["double_acquire"][0]), "f")
    assert "self-deadlock" in issue.message and "line 3" in issue.message


def test_results_sorted_deduplicated_and_deterministic() -> None:
    src = """\
        def f(a, b, xs):
            for x in xs:
                b.acquire()
                a.acquire()
                if x:
                    continue
                if x is None:
                    return
        """
    first = check_source(textwrap.dedent(src), "f")
    assert first == check_source(textwrap.dedent(src), "f")
    keys = [(i.kind, i.lock, i.acquire_line, i.exit_line) for i in first]
    assert len(keys) == len(set(keys))
    assert [i.acquire_line for i in first] == sorted(i.acquire_line for i in first)
    assert ("unreleased", "a", 4, 6) in keys and ("unreleased", "b", 3, 8) in keys


def test_method_by_qualified_name_and_indented_source() -> None:
    src = """\
        class Account:
            def withdraw(self, amount):
                self.lock.acquire()
                if amount > self.balance:
                    return False
                self.balance -= amount
                self.lock.release()
                return True
        """
    assert issues(src, "Account.withdraw", first_line=5) == [
        ("unreleased", "self.lock", 7, 9, "return")]
    method_only = textwrap.indent(textwrap.dedent(src).split("\n", 1)[1], "    ")
    assert issues(method_only, "withdraw") == [("unreleased", "self.lock", 2, 4, "return")]


class _Worker:
    def run(self, lock):
        note = """a string (not a docstring, which formatters re-indent) whose second line
starts at column 0, so that textwrap.dedent gives up on this method's source."""
        lock.acquire()
        if note:
            raise RuntimeError


def test_check_function_on_a_method_that_dedent_cannot_handle() -> None:
    base = inspect.getsourcelines(_Worker.run)[1]
    found = [(i.acquire_line, i.exit_line, i.exit_kind) for i in check_function(_Worker.run)]
    assert found == [(base + 3, base + 5, "raise"), (base + 3, None, "end")]


def test_unknown_function_is_an_error() -> None:
    with pytest.raises(ValueError, match="nope"):
        check_source("def f():\n    pass\n", "nope")


def _leaky_worker(lock, jobs):  # a live function for check_function
    for job in jobs:
        lock.acquire()
        if job is None:
            continue
        lock.release()


def _logged(func):
    @functools.wraps(func)
    def wrapper(*args):
        return func(*args)
    return wrapper


@_logged
def _decorated_return(lock):
    lock.acquire()
    return 1


def test_check_function_uses_absolute_lines_and_display_path() -> None:
    base = inspect.getsourcelines(_leaky_worker)[1]
    [issue] = check_function(_leaky_worker, display_path="exercises/deadlock_fix.py")
    assert (issue.kind, issue.lock, issue.exit_kind) == ("unreleased", "lock", "continue")
    assert (issue.acquire_line, issue.exit_line) == (base + 2, base + 4)
    assert issue.file == "exercises/deadlock_fix.py"
    assert f"exercises/deadlock_fix.py:{base + 2}" in issue.message
    [default] = check_function(_leaky_worker)
    assert default.file == __file__


def test_check_function_sees_through_decorators() -> None:
    base = inspect.getsourcelines(_decorated_return)[1]  # the decorator's line
    [issue] = check_function(_decorated_return)
    assert (issue.acquire_line, issue.exit_line, issue.exit_kind) == (base + 2, base + 3, "return")


# -- properties ---------------------------------------------------------------------------

LOCKS = ("a", "b", "locks[i]")


@st.composite
def balanced_programs(draw: st.DrawFn) -> str:
    """A function that releases every lock it takes on every path (returns, loops, ...)."""

    def block(held: list[tuple[str, bool]], loop_locks: list[str] | None, depth: int,
              pad: str) -> list[str]:
        lines: list[str] = []
        for _ in range(draw(st.integers(1, 3))):
            free = [lk for lk in LOCKS if lk not in {h for h, _ in held}]
            kinds = ["work"] + (["if", "loop"] if depth < 3 else [])
            kinds += ["with", "pair", "tryfin"] if free else []
            kinds += ["return"] + (["continue", "break"] if loop_locks is not None else [])
            kind = draw(st.sampled_from(kinds))
            inner = pad + "    "
            if kind in ("with", "pair", "tryfin"):
                lk = draw(st.sampled_from(free))
                manual = kind == "pair"
                sub_loop = loop_locks + [lk] if loop_locks is not None and manual else loop_locks
                body = block(held + [(lk, manual)], sub_loop, depth + 1,
                             inner if kind != "pair" else pad)
                if kind == "with":
                    lines += [f"{pad}with {lk}:", *body]
                elif kind == "pair":
                    lines += [f"{pad}{lk}.acquire()", *body, f"{pad}{lk}.release()"]
                else:
                    lines += [f"{pad}{lk}.acquire()", f"{pad}try:", *body, f"{pad}finally:",
                              f"{inner}{lk}.release()"]
            elif kind == "if":
                lines += [f"{pad}if cond():", *block(held, loop_locks, depth + 1, inner),
                          f"{pad}else:", *block(held, loop_locks, depth + 1, inner)]
            elif kind == "loop":
                head = draw(st.sampled_from(["for i in range(3):", "while cond():"]))
                lines += [f"{pad}{head}", *block(held, [], depth + 1, inner)]
            elif kind == "work":
                lines.append(f"{pad}work()")
            else:  # an early exit that gives back exactly what it must
                to_release = [h for h, m in held if m] if kind == "return" else [
                    h for h in (loop_locks or []) if (h, True) in held]
                order = draw(st.permutations(to_release))
                lines += [f"{pad}if cond():", *(f"{inner}{h}.release()" for h in order),
                          f"{inner}{kind}"]
        return lines

    return "\n".join(["def f(a, b, locks):", *block([], None, 0, "    ")]) + "\n"


@settings(max_examples=60, deadline=None)
@given(balanced_programs())
def test_generated_balanced_programs_are_accepted(src: str) -> None:
    assert check_source(src, "f") == [], src


@st.composite
def straight_line_with_one_release_removed(draw: st.DrawFn) -> tuple[str, tuple]:
    """A balanced straight-line program, one release dropped, and the issue it must cause."""
    ops: list[tuple[str, str]] = []
    held: list[str] = []
    for lk in draw(st.lists(st.sampled_from(LOCKS), min_size=1, max_size=12)):
        ops.append(("release" if lk in held else "acquire", lk))
        held.remove(lk) if lk in held else held.append(lk)
    ops += [("release", lk) for lk in draw(st.permutations(held))]
    releases = [k for k, (op, _) in enumerate(ops) if op == "release"]
    drop = draw(st.sampled_from(releases))
    lock = ops[drop][1]
    line = {k: k + 2 for k in range(len(ops))}  # `def` is line 1
    acquired = max(k for k in range(drop) if ops[k] == ("acquire", lock))
    again = [k for k in range(drop + 1, len(ops)) if ops[k] == ("acquire", lock)]
    expected = (("reacquire", lock, line[acquired], line[again[0]], "acquire") if again
                else ("unreleased", lock, line[acquired], None, "end"))
    body = [f"    {lk}.{op}()" if k != drop else "    work()" for k, (op, lk) in enumerate(ops)]
    return "\n".join(["def f(a, b, locks, i):", *body]) + "\n", expected


@settings(max_examples=60, deadline=None)
@given(straight_line_with_one_release_removed())
def test_removing_one_release_is_caught(case: tuple[str, tuple]) -> None:
    src, expected = case
    assert issues(src) == [expected], src


@settings(max_examples=60, deadline=None)
@given(balanced_programs(), st.data())
def test_removing_any_release_from_a_balanced_program_is_caught(
        src: str, data: st.DataObject) -> None:
    lines = src.splitlines()
    releases = [k for k, text in enumerate(lines) if text.endswith(".release()")]
    if not releases:
        return
    k = data.draw(st.sampled_from(releases))
    lock = lines[k].strip().removesuffix(".release()")
    lines[k] = lines[k].replace(f"{lock}.release()", "work()")
    mutated = "\n".join(lines) + "\n"
    assert any(i.lock == lock for i in check_source(mutated, "f")), mutated

"""Stand-ins for the student's objects: `StudentModule` (the student's module) and the
`RemoteObject`s it hands out live in the test's student host, and every attribute read, call,
len or iteration goes there; only plain data or references come back. An exception the
student's code raised comes back as a `StudentError`.

`mod.run(10, 10)` reads as before; the proxy sends the call to the host through the test's
`HostSession` and returns the value. This module only speaks for the student's objects: who
asks the host, and what the judge concludes when it cannot answer, is `host_session`'s.
"""

from __future__ import annotations

import ast
import builtins
import functools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.feedback import Site
from grader.harness.finding_rules import interference_finding
from grader.harness.runtime import display_path, site_from_json

if TYPE_CHECKING:
    from grader.judge.host_session import HostSession

_EXCEPTIONS = {
    name: value for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, Exception)
}
_ERROR_CLASSES: dict[tuple[str, str], type] = {}


class StudentError(Exception):
    """An exception the student's code raised in the host, as plain data.

    Its class also derives from the built-in exception the student's one derives from, so
    `except ValueError:` in a suite works as it did when the code ran in-process.
    """

    type_name = "Exception"
    frames: tuple[Site, ...] = ()

    @property
    def site(self) -> Site | None:
        return self.frames[-1] if self.frames else None


def student_error(info: dict[str, Any]) -> StudentError:
    mro = [str(name) for name in info.get("mro") or []]
    base = next((_EXCEPTIONS[name] for name in mro if name in _EXCEPTIONS), Exception)
    name = str(info.get("type") or base.__name__)
    cls = _ERROR_CLASSES.get((name, base.__name__))
    if cls is None:
        cls = _ERROR_CLASSES[(name, base.__name__)] = type(name, (StudentError, base), {"type_name": name})
    error = cls(str(info.get("message", "")))
    error.frames = tuple(site for site in map(site_from_json, info.get("frames") or []) if site)
    return error


def refuse_interference(info: dict[str, Any]) -> None:
    """The host found the harness changed after the student's code ran: that is the verdict."""
    changes = info.get("interference")
    if changes:
        detail = ", ".join(map(str, changes))[:300] if isinstance(changes, list) else "the harness"
        raise interference_finding(f"replaced: {detail}").failure()


def _function_line(path: Path, name: str) -> int | None:
    """Where `def name` is in the student's file, read as text (never imported here)."""
    try:
        return _definitions(path.read_text(encoding="utf-8", errors="replace")).get(name)
    except OSError:
        return None


@functools.lru_cache(maxsize=16)
def _definitions(source: str) -> dict[str, int]:
    """The line of each top-level def and class of a source text (parsed once per text: every
    site a failure names asks, and a suite asks about the same file many times)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return {}
    found: dict[str, int] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.setdefault(node.name, node.lineno)
    return found


def judges_probe(name: str) -> bool:
    """Whether `name` is one the judge's own libraries look up on whatever they print or inspect,
    answered in the judge and never asked of the student's host: the protocol names (`__x__`, and
    `_x_` such as Hypothesis's pretty-printing hook `_repr_pretty_`, which the printer calls with
    itself) and Hypothesis's mock check. Asked of the host, a module `__getattr__` of the
    student's answered them, and the report of a failing property test became the error of
    sending the judge's printer to the host."""
    return (name.startswith("_") and name.endswith("_")) or name.startswith("hypothesis_internal_")


class RemoteObject:
    """An object that lives in the student host; attribute reads, calls, len and iteration go
    there. `origin` is (module file, name) for the student module's own top-level names."""

    def __init__(self, host: HostSession, number: int, type_name: str, text: str, is_callable: bool,
                 origin: tuple[Path, str] | None = None) -> None:
        self.__dict__.update(_host=host, _host_ref=number, _type=type_name, _text=text,
                             _callable=is_callable, _origin=origin)

    def __getattr__(self, name: str) -> Any:
        if judges_probe(name):
            raise AttributeError(name)
        return self._host.ask(f"{self._describe()}.{name}", "getattr", self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("objects in the student host are read-only from the judge")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        text = self._call_text(args, kwargs)
        started = time.monotonic_ns()
        value = self._host.ask(text, "call", self, args, kwargs)
        if self._origin is not None:  # one of the student's functions: its answer is checked
            self._host.answered(text, value, started, time.monotonic_ns())
        return value

    def __len__(self) -> int:
        value = self._host.ask(f"len({self._describe()})", "len", self)
        if type(value) is not int:
            raise TypeError("len() of a host object gave no int")
        return value

    def __iter__(self) -> Iterator[Any]:
        value = self._host.ask(f"list({self._describe()})", "list", self)
        if not isinstance(value, list):
            raise TypeError("iterating a host object gave no list")
        return iter(value)

    def __getitem__(self, key: Any) -> Any:
        return self._host.ask(f"{self._describe()}[{key!r}]", "getitem", self, key)

    def __repr__(self) -> str:
        return f"<in the student host: {self._text}>"

    def __reduce__(self) -> Any:
        raise TypeError("a host object can only travel back to its host")

    def _describe(self) -> str:
        return self._origin[1] if self._origin else self._text

    def _call_text(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        shown = [_short(a) for a in args] + [f"{k}={_short(v)}" for k, v in kwargs.items()]
        return f"{self._describe()}({', '.join(shown)})"

    def site(self) -> Site | None:
        """The student's `def` line of this function, found in the file's text."""
        if self._origin is None:
            return None
        path, name = self._origin
        line = _function_line(path, name)
        if line is None:
            return None
        return Site(display_path(str(path), (str(path.parent),)), line, name)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class StudentModule(RemoteObject):
    """The student's module as the suites see it: names resolve in the host."""

    def __init__(self, host: HostSession, number: int, path: Path) -> None:
        super().__init__(host, number, "module", path.stem, False)
        self.__dict__.update(__file__=str(path), _path=path)

    def __getattr__(self, name: str) -> Any:
        value = super().__getattr__(name)  # asked as `<module>.<name>`: the module's text is its stem
        if isinstance(value, RemoteObject):
            value.__dict__["_origin"] = (self._path, name)
        return value

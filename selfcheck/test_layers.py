"""No import runs back up the layers: every module of grader/ imports only from its own layer or
the layers below it (docs/ARCHITECTURE.md draws them). Read with `ast`, so imports inside
functions and under TYPE_CHECKING count too, and a new module must be given its place here."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path

from grader.paths import REPO_ROOT

# Lowest first. A name is a module or a package (with everything in it); the longest name that
# holds a module places it. "grader" itself is the package's own __init__ only.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("core", ("grader", "grader.paths", "grader.inert", "grader.feedback", "grader.metadata",
              "grader.process_tree", "grader.machine_load")),
    ("the referee's protocol and client side", ("grader.referee.wire", "grader.referee.client")),
    ("a run's vocabulary: settings, findings, witnesses",
     ("grader.harness.runtime", "grader.harness.findings", "grader.harness.witness")),
    ("the referee", ("grader.referee",)),
    ("the instruments and the journal's analysis", ("grader.harness",)),
    ("the student host", ("grader.sandbox",)),
    ("the judge", ("grader.judge", "grader.testing")),  # testing: the suites' API, over the judge
    ("the grading pipeline", ("grader.grading",)),
    ("the output formats", ("grader.formats",)),
    ("the commands", ("grader.watch", "grader.instructor")),
    ("the command line", ("grader.cli", "grader.__main__")),
)


def layer_of(module: str) -> int | None:
    """The index in LAYERS of the layer that holds `module`, None when no layer does."""
    best: tuple[int, int] | None = None  # (length of the name that matched, layer)
    for index, (_, names) in enumerate(LAYERS):
        for name in names:
            holds = module == name or (name != "grader" and module.startswith(name + "."))
            if holds and (best is None or len(name) > best[0]):
                best = (len(name), index)
    return None if best is None else best[1]


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(module: str, source: str, is_package: bool, known: set[str]) -> set[str]:
    """The grader's modules that `source` (the text of `module`) imports, wherever it does."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".")[: len(module.split(".")) - node.level + is_package]
                base = ".".join([*package, *([node.module] if node.module else [])])
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return {name for name in found if name == "grader" or name.startswith("grader.")}


def upward_imports(sources: Mapping[str, tuple[str, bool]]) -> list[str]:
    """Every import of a module in a higher layer than its importer's, and every module that no
    layer holds; `sources` maps a module's name to (its text, whether it is a package)."""
    known = set(sources)
    problems = [f"{module} is in no layer" for module in sorted(known) if layer_of(module) is None]
    for module, (source, is_package) in sorted(sources.items()):
        own = layer_of(module)
        for target in sorted(imported(module, source, is_package, known)):
            theirs = layer_of(target)
            if own is None:
                continue
            if theirs is None:
                problems.append(f"{module} imports {target}, which is in no layer")
            elif theirs > own:
                problems.append(f"{module} ({LAYERS[own][0]}) imports {target} ({LAYERS[theirs][0]})")
    return problems


def grader_sources(root: Path = REPO_ROOT) -> dict[str, tuple[str, bool]]:
    return {module_name(path, root): (path.read_text(encoding="utf-8"), path.name == "__init__.py")
            for path in sorted((root / "grader").rglob("*.py"))}


def test_no_import_of_the_grader_runs_back_up_the_layers() -> None:
    sources = grader_sources()
    assert len(sources) > 50  # the whole package was read
    assert upward_imports(sources) == []


def test_an_upward_import_is_caught_wherever_it_is_written() -> None:
    sources = {
        "grader.harness.supervisor": ("from grader.sandbox import integrity\n", False),
        "grader.harness.session": ("def f():\n    import grader.judge.plugin\n", False),
        "grader.referee.client": ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                  "    from grader.harness.session import Harness\n", False),
        "grader.sandbox": ("", True),
        "grader.sandbox.integrity": ("", False),
        "grader.judge.plugin": ("", False),
    }
    assert upward_imports(sources) == [
        "grader.harness.session (the instruments and the journal's analysis) imports "
        "grader.judge.plugin (the judge)",
        "grader.harness.supervisor (the instruments and the journal's analysis) imports "
        "grader.sandbox.integrity (the student host)",
        "grader.referee.client (the referee's protocol and client side) imports "
        "grader.harness.session (the instruments and the journal's analysis)",
    ]


def test_imports_down_the_layers_and_within_one_are_accepted() -> None:
    sources = {
        "grader.sandbox.host": ("from grader.harness import instrument_fingerprint\n"
                                "from .wire import Ref\nimport grader.feedback\n", False),
        "grader.sandbox.wire": ("", False),
        "grader.harness.instrument_fingerprint": ("def f():\n    import grader.harness.session\n", False),
        "grader.harness.session": ("from grader.referee.launch import RefereeProcess\n", False),
        "grader.referee.launch": ("from grader.harness.findings import Finding\n", False),
        "grader.harness.findings": ("from grader.referee.client import ask\n", False),
        "grader.referee.client": ("", False),
        "grader.feedback": ("", False),
    }
    assert upward_imports(sources) == []


def test_a_module_no_layer_holds_is_named() -> None:
    sources = {"grader.grading.grade": ("from grader.helpers import x\n", False),
               "grader.helpers": ("", False)}
    assert upward_imports(sources) == [
        "grader.helpers is in no layer",
        "grader.grading.grade imports grader.helpers, which is in no layer",
    ]

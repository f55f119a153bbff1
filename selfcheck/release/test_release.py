"""`python -m grader release`: what students get, and that it gives no answers away.

The end-to-end check makes the release into a fresh git repository and runs it the way a student
would: `pytest` fails on the stubs with the suites' explanations and passes once the solutions are
copied into exercises/.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import pytest

from grader import cli
from grader.grading import release_manifest
from grader.instructor.release import (
    EXCLUDED_TOP,
    ReleaseError,
    build_release,
    check_pyproject,
    main,
)
from grader.instructor.workflow import WORKFLOW_PATH, render
from grader.metadata import load_exercises
from selfcheck.suite_runs import load_variants

from .conftest import SECRET, make_fixture_repo, run_python


@pytest.fixture(scope="module")
def fixture_release(fixture_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_release(fixture_repo, tmp_path_factory.mktemp("fixture-release") / "out").root


@pytest.fixture(scope="module")
def source_release(source_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_release(source_repo, tmp_path_factory.mktemp("source-release") / "out").root


def released(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


# -- leaks ---------------------------------------------------------------------------------


def _function_bodies(source: str) -> dict[str, str]:
    """Every function's arguments and body (not its name), as a comparable AST dump."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    bodies = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            body = [
                s
                for s in node.body
                if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
            ]
            if body and not all(isinstance(s, ast.Pass) for s in body):
                dump = ast.dump(ast.Module(body=body, type_ignores=[])) + ast.dump(node.args)
                bodies[dump] = node.name
    return bodies


def secret_functions(root: Path) -> dict[str, str]:
    """Functions of the solutions and variants that the stubs do not already contain."""
    stubs: set[str] = set()
    for stub in (root / "exercises").glob("*.py"):
        stubs |= _function_bodies(stub.read_text(encoding="utf-8")).keys()
    secrets: dict[str, str] = {}
    sources = [
        (path.relative_to(root).as_posix(), path.read_text(encoding="utf-8"))
        for path in sorted((root / "solutions").glob("*.py"))
    ]
    sources += [(f"selfcheck/variants/{v.id}", v.source()) for v in load_variants(root)]
    for where, text in sources:
        for dump, name in _function_bodies(text).items():
            if dump not in stubs:
                secrets.setdefault(dump, f"{where}:{name}")
    return secrets


CODE_BLOCK = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def find_leaks(source: Path, release: Path) -> list[str]:
    """Everything in `release` that gives away `source`'s solutions, one line per finding."""
    files = released(release)
    leaks = [f"{f} is instructor-only" for f in files if f.split("/", 1)[0] in EXCLUDED_TOP]
    leaks += [f"{f} is this repository's CI" for f in files if f == ".github/workflows/ci.yml"]
    secret_files = {  # trivial files (an empty __init__.py) are the same everywhere
        release_manifest.file_hash(p): p.relative_to(source).as_posix()
        for folder in ("solutions", "selfcheck", "benchmarks")
        for p in (source / folder).rglob("*")
        if p.is_file() and len(p.read_bytes().strip()) > 100
    }
    leaks += [
        f"{f} is a copy of {secret_files[digest]}"
        for f in files
        if (digest := release_manifest.file_hash(release / f)) in secret_files
    ]
    secrets = secret_functions(source)
    assert secrets, "found no solution functions to look for: the check would prove nothing"
    for f in files:
        if f.endswith(".py"):
            code = [(release / f).read_text(encoding="utf-8")]
        elif f.endswith(".md"):  # instructions and docs: their fenced code blocks
            code = CODE_BLOCK.findall((release / f).read_text(encoding="utf-8"))
        else:
            continue
        leaks += [
            f"{f} contains {secrets[dump]}"
            for block in code
            for dump in _function_bodies(block)
            if dump in secrets
        ]
    return leaks


def test_no_solution_code_leaks_into_the_release(source_repo: Path, source_release: Path) -> None:
    assert released(source_release), "the release is empty"
    assert find_leaks(source_repo, source_release) == []


def test_leak_check_finds_a_planted_solution(tmp_path: Path) -> None:
    # A solution function renamed and pasted into a shipped helper or a doc is still found.
    repo = make_fixture_repo(tmp_path / "repo")
    solution = (repo / "solutions/shared_total.py").read_text(encoding="utf-8")
    helper = solution[solution.index("def work") :].split("\n\n\n")[0].replace("work", "hint")
    (repo / "grader/hints_extra.py").write_text(helper + "\n", encoding="utf-8")
    (repo / "exercises/adder.md").write_text(f"# Adding\n\n```python\n{helper}\n```\n")
    release = build_release(repo, tmp_path / "out").root
    assert find_leaks(repo, release) == [
        "exercises/adder.md contains solutions/shared_total.py:work",
        "grader/hints_extra.py contains solutions/shared_total.py:work",
    ]


def test_marked_solution_text_appears_nowhere(fixture_repo: Path, fixture_release: Path) -> None:
    # The stand-in's solutions, variants and benchmarks all carry SECRET; nothing released may.
    files = released(fixture_release)
    assert [f for f in files if SECRET.encode() in (fixture_release / f).read_bytes()] == []
    for stub in ("exercises/adder.py", "exercises/shared_total.py"):
        assert (fixture_release / stub).read_bytes() == (fixture_repo / stub).read_bytes()


def test_stub_identical_to_its_solution_is_refused(tmp_path: Path) -> None:
    repo = make_fixture_repo(tmp_path / "repo")
    shutil.copy2(repo / "solutions/adder.py", repo / "exercises/adder.py")
    with pytest.raises(ReleaseError, match="exercises/adder.py is a copy of solutions/adder.py"):
        build_release(repo, tmp_path / "out")


# -- what students get ---------------------------------------------------------------------


def test_release_keeps_the_students_material(fixture_repo: Path, fixture_release: Path) -> None:
    files = set(released(fixture_release))
    for exercise in load_exercises(fixture_repo / "info.toml"):
        assert {exercise.stub_file, exercise.instructions_file, exercise.test_file} <= files
    assert {"pyproject.toml", "conftest.py", "info.toml", "LICENSE", ".gitignore"} <= files
    assert {"grader/__init__.py", "grader/metadata.py", release_manifest.MANIFEST_NAME} <= files
    readme = (fixture_release / "README.md").read_text(encoding="utf-8")
    assert "Instructor README" not in readme
    assert "python -m pip install -e ." in readme
    assert "python -m grader --exercise adder" in readme and "Total: 10 points." in readme


def test_released_workflow_is_generated_from_the_metadata(
    fixture_repo: Path, fixture_release: Path
) -> None:
    text = (fixture_release / WORKFLOW_PATH).read_text(encoding="utf-8")
    assert text == render(load_exercises(fixture_repo / "info.toml"))
    assert "SHARED-TOTAL_RESULTS: \"${{steps.grade.outputs.shared-total}}\"" in text


def test_manifest_records_the_protected_files(fixture_release: Path) -> None:
    data = json.loads((fixture_release / release_manifest.MANIFEST_NAME).read_text(encoding="utf-8"))
    assert data["version"] == 1
    assert set(data["files"]) == {
        "tests/test_adder.py",
        "tests/test_shared_total.py",
        "pyproject.toml",
        "conftest.py",
        "info.toml",
        WORKFLOW_PATH.as_posix(),
        *(p for p in released(fixture_release) if p.startswith("grader/")),
    }
    assert all(len(h) == 64 and int(h, 16) >= 0 for h in data["files"].values())
    assert release_manifest.changed_files(fixture_release) == []


def test_released_pyproject_needs_nothing_left_out(source_release: Path, tmp_path: Path) -> None:
    assert check_pyproject(source_release) == []
    broken = tmp_path / "broken"
    broken.mkdir()
    text = (source_release / "pyproject.toml").read_text(encoding="utf-8")
    (broken / "pyproject.toml").write_text(
        text.replace('testpaths = ["tests"]', 'testpaths = ["selfcheck"]'), encoding="utf-8"
    )
    problems = check_pyproject(broken)
    assert any("testpaths" in p for p in problems)
    assert any("'README.md'" in p for p in problems)


def test_release_refuses_a_directory_in_use(fixture_repo: Path, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(ReleaseError, match="not an empty directory"):
        build_release(fixture_repo, tmp_path)
    assert main(out=tmp_path, root=fixture_repo) == 2
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_release_inside_the_repository_does_not_copy_itself(tmp_path: Path) -> None:
    repo = make_fixture_repo(tmp_path / "repo")
    first = build_release(repo, repo / "student-template")
    assert not [f for f in first.files if f.startswith("student-template/")]


# -- end to end: a fresh repository made from the release --------------------------------


def _git(args: list[str], cwd: Path) -> str:
    return subprocess.run(
        [
            "git",
            "-c",
            "user.name=Student",
            "-c",
            "user.email=student@example.invalid",
            "-c",
            "init.defaultBranch=main",
            "-c",
            "core.autocrlf=false",
            *args,
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout


BARE_EXCEPTION = re.compile(r"^\s*([\w.]+(Error|Exception|Failure)\b|Traceback)")


def _pytest_failures(
    cwd: Path, report: Path, *args: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """Run a student's `python -m pytest ARGS` there; map each failed test to its message."""
    run = run_python(
        ["-m", "pytest", "-p", "no:cacheprovider", f"--junitxml={report}", *args], cwd=cwd
    )
    failures = {}
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        for problem in [*case.iter("failure"), *case.iter("error")]:
            path = case.get("classname", "").replace(".", "/") + ".py"
            failures[f"{path}::{case.get('name')}"] = problem.get("message", "")
    return run, failures


@pytest.mark.slow
@pytest.mark.timeout(900)  # every suite on the stubs, then all of them on the solutions
def test_release_works_as_a_fresh_repository(source_repo: Path, tmp_path: Path) -> None:
    assert cli.main(["release", str(tmp_path / "template"), "--root", str(source_repo)]) == 0
    clone = tmp_path / "student"
    _git(["init", "-q", str(tmp_path / "template")], tmp_path)
    _git(["add", "."], tmp_path / "template")
    _git(["commit", "-q", "-m", "template"], tmp_path / "template")
    _git(["clone", "-q", str(tmp_path / "template"), str(clone)], tmp_path)
    assert release_manifest.changed_files(clone) == [], "a fresh clone must not look tampered with"

    # The release's own grader is the one a student's `python -m ...` imports.
    where = run_python(["-c", "import grader; print(grader.__file__)"], cwd=clone)
    assert Path(where.stdout.strip()).resolve().parent == (clone / "grader").resolve()

    # Plain `pytest` judges the stubs and fails; so does each exercise's suite, and the first
    # failure of each (-x keeps this quick) is the suite's explanation.
    plain, failures = _pytest_failures(clone, tmp_path / "plain.xml", "-x")
    assert plain.returncode == 1 and failures, plain.stdout + plain.stderr
    exercises = load_exercises(clone / "info.toml")
    for exercise in exercises:
        stub, failures = _pytest_failures(
            clone, tmp_path / f"{exercise.name}.xml", "-x", exercise.test_file
        )
        assert stub.returncode == 1, f"{exercise.test_file} passes on the stub:\n{stub.stdout}"
        ((name, message),) = failures.items()
        assert name.startswith(exercise.test_file + "::")
        # A StudentFailure reads as its explanation (and the student's line), not a traceback.
        assert len(message) > 20 and not BARE_EXCEPTION.match(message), (
            f"{name}: {message}\n{stub.stdout}"
        )

    for exercise in exercises:
        shutil.copy2(
            source_repo / "solutions" / f"{exercise.module}.py", clone / exercise.stub_file
        )
    solved, failures = _pytest_failures(clone, tmp_path / "solved.xml")
    assert solved.returncode == 0 and failures == {}, solved.stdout + solved.stderr
    assert release_manifest.changed_files(clone) == [], "editing exercises/ is not tampering"


@pytest.mark.slow
def test_release_builds_as_a_package_without_the_left_out_parts(
    source_release: Path, tmp_path: Path
) -> None:
    # What `pip install .` in a student repository builds (fetching setuptools, as pip does there).
    built = run_python(
        [
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path),
            str(source_release),
        ],
        cwd=tmp_path,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "grader/__init__.py" in names and "grader/grading/release_manifest.py" in names
    assert not [n for n in names if n.split("/", 1)[0] in EXCLUDED_TOP | {"exercises", "tests"}]

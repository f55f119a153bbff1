"""`python -m grader gradescope OUT.zip`, run for real: the zip unpacked into a temporary
autograder root laid out as Gradescope lays it (`source/` from the zip, `submission/`,
`results/`), its `setup.sh` run once, its `run_autograder` run per submission; results.json
validated against the schema and its scores compared with the grader's own for the same files.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jsonschema
import pytest

from grader import cli
from grader.instructor.gradescope.build import build_autograder, main
from grader.metadata import REPO_ROOT

from .conftest import real_partial, run_python, submission

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="Gradescope runs bash on Linux")

SCHEMA = json.loads((REPO_ROOT / "grader/schemas/gradescope.schema.json").read_text("utf-8"))


def unpack(archive: Path, destination: Path) -> None:
    """Unzip keeping the permission bits, as `unzip` does."""
    with zipfile.ZipFile(archive) as zipped:
        for info in zipped.infolist():
            path = Path(zipped.extract(info, destination))
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                path.chmod(mode)


def script_env(root: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("GITHUB_ACTIONS", "PYTHONPATH", "PYTEST_ADDOPTS", "VIRTUAL_ENV")}
    # The interpreter running these tests first: setup.sh picks a Python >= 3.11 from PATH.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return {**env, "AUTOGRADER_ROOT": str(root), **extra}


def make_tree(archive: Path, root: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Gradescope's build: the zip in <root>/source, setup.sh run from there."""
    (root / "source").mkdir(parents=True)
    unpack(archive, root / "source")
    return subprocess.run(["bash", "setup.sh"], cwd=root / "source", env=script_env(root, **env),
                          capture_output=True, text=True, timeout=900, check=False)


def grade_submission(root: Path, files: dict[str, Path]) -> dict:
    """One Gradescope run: `files` (upload name -> file) in <root>/submission, run_autograder
    copied to <root> as Gradescope does and run; the results.json it wrote."""
    shutil.rmtree(root / "submission", ignore_errors=True)
    for name, path in files.items():
        (root / "submission" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, root / "submission" / name)
    (root / "submission").mkdir(exist_ok=True)
    return run_autograder(root)


def run_autograder(root: Path) -> dict:
    """run_autograder copied to <root> as Gradescope does and run on <root>/submission as it is;
    the results.json it must always write, checked against the schema."""
    (root / "results" / "results.json").unlink(missing_ok=True)
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    done = subprocess.run([str(root / "run_autograder")], cwd=root, env=script_env(root),
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    jsonschema.validate(data, SCHEMA)
    return data


def lost_points(data: dict) -> list[str]:
    """Each test of a Gradescope results.json that scored below its maximum, with its output."""
    return [f"{test.get('name')}: {test.get('score')}/{test.get('max_score')}: {str(test.get('output', ''))[:600]}"
            for test in data.get("tests", []) if test.get("score") != test.get("max_score")]


def upload(root: Path, graded_source: Path) -> Path:
    """A fresh <root>/submission holding the solutions (full marks when graded as they are)."""
    shutil.rmtree(root / "submission", ignore_errors=True)
    shutil.copytree(graded_source / "solutions", root / "submission")
    return root / "submission"


@pytest.mark.parametrize("kind", ["link to a judge's file", "link to /proc/self/mem", "linked folder",
                                  "named pipe", "folder", "too large"])
def test_an_upload_that_is_not_a_regular_file_gets_a_results_file_with_0_points(
        kind: str, autograder_root: Path, graded_source: Path, tmp_path: Path) -> None:
    submission = upload(autograder_root, graded_source)
    counter = submission / "counter.py"
    counter.unlink()
    if kind == "link to a judge's file":
        counter.symlink_to(autograder_root / "source" / "tests" / "test_counter.py")
    elif kind == "link to /proc/self/mem":
        counter.symlink_to("/proc/self/mem")
    elif kind == "linked folder":
        (tmp_path / "elsewhere").mkdir()
        shutil.copy2(graded_source / "solutions" / "counter.py", tmp_path / "elsewhere")
        (submission / "exercises").symlink_to(tmp_path / "elsewhere")
    elif kind == "named pipe":
        os.mkfifo(counter)
    elif kind == "folder":
        counter.mkdir()
    else:
        counter.write_text("# padding\n" * 200_000)
    data = run_autograder(autograder_root)
    assert data["score"] == 0 and data["tests"] == [], data
    assert data["output"].startswith("This upload cannot be graded: "), data["output"]
    expected = {"named pipe": "not a regular file", "folder": "not a regular file",
                "too large": "larger than"}.get(kind, "is a symbolic link")
    assert expected in data["output"], data["output"]


def test_the_same_upload_made_regular_again_gets_full_marks(
        autograder_root: Path, graded_source: Path) -> None:
    upload(autograder_root, graded_source)  # the correct counterpart of the cases above
    assert run_autograder(autograder_root)["score"] == 21


def test_an_internal_error_still_writes_a_results_file(tmp_path: Path) -> None:
    from grader.instructor.gradescope import autograder

    root = tmp_path / "autograder"
    (root / "source").mkdir(parents=True)  # no info.toml: the grader itself cannot go on
    (root / "submission").mkdir()
    assert autograder.run(root) == 0
    data = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    jsonschema.validate(data, SCHEMA)
    assert data["score"] == 0 and "not your code's fault" in data["output"]
    assert "info.toml" in data["output"]


def test_a_grader_that_cannot_start_still_leaves_a_results_file(autograder_zip: Path,
                                                                tmp_path: Path) -> None:
    root = tmp_path / "autograder"  # unpacked, but setup.sh never ran: no venv, no Python
    (root / "source").mkdir(parents=True)
    unpack(autograder_zip, root / "source")
    (root / "submission").mkdir()
    data = run_autograder(root)
    assert data["score"] == 0 and "could not start" in data["output"]


@pytest.fixture(scope="session")
def autograder_zip(graded_source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gradescope") / "autograder.zip"
    build_autograder(graded_source, out)
    return out


@pytest.fixture(scope="session")
def autograder_root(autograder_zip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A built autograder; its venv sees this interpreter's packages, so pip has nothing to
    fetch (the default, a real install from PyPI, is the slow test below)."""
    root = tmp_path_factory.mktemp("autograder")
    done = make_tree(autograder_zip, root, GRADER_VENV_OPTIONS="--system-site-packages")
    assert done.returncode == 0, done.stdout + done.stderr
    return root


def test_the_zip_holds_the_scripts_the_grader_and_the_suites_but_no_answers(
        autograder_zip: Path, graded_source: Path) -> None:
    with zipfile.ZipFile(autograder_zip) as zipped:
        infos = {info.filename: info for info in zipped.infolist()}
        requirements = zipped.read("requirements.txt").decode()
    for script in ("setup.sh", "run_autograder"):
        assert (infos[script].external_attr >> 16) & 0o777 == 0o755
    assert {"grader/__main__.py", "grader/instructor/gradescope/autograder.py", "info.toml", "tests/fixture_judge.py",
            "tests/test_counter.py", "pyproject.toml"} <= set(infos)
    assert not [n for n in infos if n.split("/")[0] in ("solutions", "exercises", "selfcheck")]
    assert not [n for n in infos if "__pycache__" in n]
    pyproject = tomllib.loads((graded_source / "pyproject.toml").read_text(encoding="utf-8"))
    assert requirements.splitlines() == pyproject["project"]["dependencies"]


def test_a_copied_solution_is_refused(graded_source: Path, tmp_path: Path) -> None:
    source = tmp_path / "repo"
    shutil.copytree(graded_source, source)
    shutil.copy2(source / "solutions" / "counter.py", source / "tests" / "helper.py")
    assert cli.main(["gradescope", str(tmp_path / "a.zip"), "--root", str(source)]) == 2
    assert main(out=tmp_path / "b.zip", root=tmp_path) == 2  # not a repository
    assert not (tmp_path / "a.zip").exists() and not (tmp_path / "b.zip").exists()


def own_grade(graded_source: Path, directory: Path, tmp_path: Path,
              capsys: pytest.CaptureFixture[str]) -> dict:
    """The grader's own JSON for the same files (`python -m grader --target DIR --json`), from
    a directory inside a copy of the repository (the fixture's suites name files relative to
    it; the shared source stays as it is)."""
    repo = tmp_path / "repo"
    shutil.copytree(graded_source, repo)
    inside = repo / "graded"
    shutil.copytree(directory, inside)
    out = tmp_path / "own.json"
    cli.main(["--root", str(repo), "--target", str(inside), "--json", str(out),
              "-q", "--color", "never"])
    capsys.readouterr()
    return json.loads(out.read_text(encoding="utf-8"))


@pytest.mark.parametrize("case, layout", [
    ("stubs", "{name}"),  # uploaded at the top level
    ("solutions", "exercises/{name}"),  # inside exercises/
    ("partial", "my-repo-main/exercises/{name}"),  # a zip of the whole repository
])
def test_run_autograder_scores_as_the_grader_does(
        case: str, layout: str, autograder_root: Path, graded_source: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    directory = {"stubs": graded_source / "exercises", "solutions": graded_source / "solutions",
                 "partial": submission("partial")}[case]
    files = {layout.format(name=p.name): p for p in directory.glob("*.py")}
    if case == "partial":  # the student's copy of the tests is not what grades them
        files["my-repo-main/tests/test_counter.py"] = graded_source / "tests" / "fixture_judge.py"
    data = grade_submission(autograder_root, files)
    own = own_grade(graded_source, directory, tmp_path, capsys)

    assert data["score"] == own["score"] == {"stubs": 0, "solutions": 21, "partial": 16}[case]
    own_tests = {f"{e['name']}: {t['name']}": t["score"] for e in own["exercises"]
                 for t in e["tests"]}
    assert {t["name"]: t["score"] for t in data["tests"]} == own_tests
    assert isinstance(data["execution_time"], int) and data["execution_time"] >= 0
    if case == "partial":
        (negative,) = [t for t in data["tests"] if t["name"] == "counter: test_negative"]
        assert negative["output"].startswith("At exercises/counter.py:1:\nadd(-2, -3) returned 5")


# Files a submission adds to make pytest or Python run its code in the judge (selfcheck/cheats).
NO_OP_TESTS = """\
import _pytest.python

_pytest.python.Function.runtest = lambda self: None
"""
LOADABLE_EXTRAS = {
    "exercises/conftest.py": "def pytest_collection_modifyitems(items):\n"
                             "    for item in items:\n        item.runtest = lambda: None\n",
    "conftest.py": NO_OP_TESTS,
    "sitecustomize.py": NO_OP_TESTS,
    "pytest_timeout.py": NO_OP_TESTS,
    "my-repo-main/conftest.py": NO_OP_TESTS,
    "my-repo-main/exercises/conftest.py": NO_OP_TESTS,
}


def test_files_an_upload_adds_to_load_its_code_in_the_judge_are_never_used(
        autograder_root: Path, graded_source: Path, tmp_path: Path) -> None:
    extras = tmp_path / "extras"
    files = {p.name: p for p in (graded_source / "exercises").glob("*.py")}  # the stubs
    for name, text in LOADABLE_EXTRAS.items():
        (extras / name).parent.mkdir(parents=True, exist_ok=True)
        (extras / name).write_text(text, encoding="utf-8")
        files[name] = extras / name
    data = grade_submission(autograder_root, files)
    assert data["score"] == 0, json.dumps(data, indent=1)[:2000]
    grading = autograder_root / "grading"  # only the exercise modules were taken from the upload
    assert sorted(p.name for p in (grading / "exercises").iterdir() if p.suffix == ".py") == [
        "counter.py", "greeting.py", "sleeper.py"]
    assert not [n for n in ("sitecustomize.py", "pytest_timeout.py") if (grading / n).exists()]


def test_a_missing_file_is_named_and_costs_only_its_exercise(
        autograder_root: Path, graded_source: Path) -> None:
    files = {p.name: p for p in (graded_source / "solutions").glob("*.py")
             if p.name != "sleeper.py"}
    data = grade_submission(autograder_root, files)
    assert data["output"].startswith("Not submitted: sleeper.py")
    assert data["score"] == 15  # counter 10 + greeting 5; sleeper's 6 lost


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_setup_sh_installs_from_pypi_by_default(autograder_zip: Path, graded_source: Path,
                                                tmp_path: Path) -> None:
    """The default: a virtual environment of its own under the root, filled from PyPI."""
    root = tmp_path / "autograder"
    done = make_tree(autograder_zip, root)
    assert done.returncode == 0, done.stdout + done.stderr
    check = subprocess.run(
        [str(root / "venv/bin/python"), "-c",
         "import sys, pytest, hypothesis; print(sys.prefix != sys.base_prefix, pytest.__file__)"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    in_venv, where = check.stdout.split()
    assert in_venv == "True" and Path(where).resolve().is_relative_to(root.resolve())
    data = grade_submission(root, {p.name: p for p in submission("partial").glob("*.py")})
    assert data["score"] == 16


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_real_exercise_set_scores_as_the_grader_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """This repository's autograder on the solutions and a partial submission. The grader's own
    grading of the partial (`python -m grader`) runs beside the two Gradescope runs, which take
    turns in their one autograder tree."""
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    archive = tmp_path / "autograder.zip"
    assert cli.main(["gradescope", str(archive)]) == 0
    root = tmp_path / "autograder"
    done = make_tree(archive, root, GRADER_VENV_OPTIONS="--system-site-packages")
    assert done.returncode == 0, done.stdout + done.stderr
    partial = real_partial(tmp_path / "partial")
    out = tmp_path / "own.json"
    with ThreadPoolExecutor(max_workers=1) as beside:
        own_run = beside.submit(run_python, ["-m", "grader", "--target", str(partial), "--tests-from", str(REPO_ROOT),
                                             "--json", str(out), "-q", "--color", "never"],
                                REPO_ROOT, 600)  # --tests-from: no state written into this repository
        solved = grade_submission(root, {p.name: p for p in (REPO_ROOT / "solutions").glob("*.py")})
        data = grade_submission(root, {f"exercises/{p.name}": p for p in partial.glob("*.py")})
        graded = own_run.result()
    assert solved["score"] == 100, lost_points(solved)
    assert graded.returncode == 1, graded.stdout + graded.stderr  # the partial fails some tests
    own = json.loads(out.read_text(encoding="utf-8"))
    assert 0 < data["score"] == own["score"] < 100
    print(f"gradescope: solutions {solved['score']}, partial {data['score']} "
          f"(grader {own['score']})")

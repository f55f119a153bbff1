"""Run a generated workflow's job for real, with stand-ins for the actions it uses.

`run:` steps run with bash in the checkout, in an environment like the one GitHub Actions gives
(CI, GITHUB_ACTIONS, GITHUB_WORKSPACE, a fresh GITHUB_OUTPUT and GITHUB_STEP_SUMMARY file per
step, the step's `env`), in order, each after every earlier step succeeded. `uses:` steps are
stood in for:

* `actions/checkout`: the checkout is the directory given (already made by the test);
* `actions/setup-python`: a given directory of executables (a virtual environment) goes first
  on PATH;
* `classroom-resources/autograding-grading-reporter`: `reporter()` below, which follows what
  that action's code does: for each id of its `runners` input (split on commas and spaces) it
  decodes the base64 JSON in `<ID upper-cased>_RESULTS`, adds up every test's `score` and every
  runner's `max_score` (skipping runners whose `max_score` is 0), prints the notices
  `Points X/Y` (title `Autograding complete`) and `{"totalPoints":X,"maxPoints":Y}` (title
  `Autograding report`) with JavaScript's number formatting, and fails when a runner's status
  is `fail` or `error`.

Expressions are resolved only in the forms the generated workflow uses
(`${{steps.ID.outputs.NAME}}`); any other expression or step condition raises, so a workflow
that grows one is not silently run wrong.
"""

from __future__ import annotations

import base64
import json
import math
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

_OUTPUT_REF = re.compile(r"\$\{\{\s*steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)\s*\}\}")
_COMMAND = re.compile(r"^::(?P<name>[a-z-]+)(?: (?P<props>[^:]*))?::(?P<message>.*)$")
JOB_CONDITION = "github.actor != 'github-classroom[bot]'"  # true: the actor is the student


@dataclass
class StepRun:
    name: str
    outcome: str  # success, failure, skipped
    stdout: str = ""
    stderr: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    summary: str = ""


@dataclass
class JobRun:
    steps: list[StepRun]

    @property
    def success(self) -> bool:
        return all(step.outcome == "success" for step in self.steps)

    def step(self, name_fragment: str) -> StepRun:
        (found,) = [s for s in self.steps if name_fragment in s.name]
        return found

    def commands(self, name: str) -> list[tuple[dict[str, str], str]]:
        """Workflow commands `::name props::message` printed by every step, decoded."""
        found = []
        for step in self.steps:
            for line in step.stdout.splitlines():
                match = _COMMAND.match(line)
                if match and match["name"] == name:
                    found.append((_properties(match["props"] or ""), _unescape(match["message"])))
        return found

    def notices(self, title: str) -> list[str]:
        return [message for props, message in self.commands("notice")
                if props.get("title") == title]


def _unescape(text: str) -> str:
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def _properties(text: str) -> dict[str, str]:
    props = {}
    for item in filter(None, text.split(",")):
        key, _, value = item.partition("=")
        props[key] = _unescape(value.replace("%3A", ":").replace("%2C", ","))
    return props


def read_output_file(path: Path) -> dict[str, str]:
    """$GITHUB_OUTPUT as the runner reads it: `name=value` lines and `name<<DELIMITER` blocks."""
    outputs: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body = []
            while lines[index] != delimiter:
                body.append(lines[index])
                index += 1
            index += 1
            outputs[name] = "\n".join(body)
        else:
            name, value = line.split("=", 1)
            outputs[name] = value
    return outputs


def js_number(value: float) -> str:
    """A number as JavaScript's String() and JSON.stringify write it (finite, not tiny)."""
    if math.isfinite(value) and value == int(value) and abs(value) < 1e21:
        return str(int(value))
    return repr(value)


def reporter(inputs: dict[str, str], env: dict[str, str]) -> tuple[int, str]:
    """The grading reporter's behaviour: (exit code, stdout)."""
    out: list[str] = []
    runners = [r for r in re.split(r"[\s,]", inputs.get("runners", "")) if r]
    try:
        results = []
        for runner in runners:
            encoded = env[f"{runner.strip().upper()}_RESULTS"]
            results.append((runner, json.loads(base64.b64decode(encoded).decode("utf-8"))))
    except (KeyError, ValueError) as error:
        return 1, f"::error::{error}\n"
    total, maximum = 0, 0
    for runner, result in results:
        runner_total = 0
        for test in result["tests"]:
            runner_total += test["score"]
        out.append(f"Total points for {runner}: {runner_total:.2f}/{result['max_score']}")
        if not result["max_score"]:
            continue
        maximum += result["max_score"]
        for test in result["tests"]:
            total += test["score"]
    if maximum:
        summary = f'{{"totalPoints":{js_number(total)},"maxPoints":{js_number(maximum)}}}'
        out.append(f"::notice title=Autograding complete::Points {js_number(total)}/"
                   f"{js_number(maximum)}")
        out.append(f"::notice title=Autograding report::{summary}")
    statuses = [result["status"] for _, result in results]
    if "fail" in statuses:
        out.append("::error::Some tests failed.")
        return 1, "\n".join(out) + "\n"
    if "error" in statuses:
        out.append("::error::Some tests errored.")
        return 1, "\n".join(out) + "\n"
    return 0, "\n".join(out) + "\n"


def _resolve(text: str, outputs: dict[str, dict[str, str]]) -> str:
    def value(match: re.Match[str]) -> str:
        return outputs.get(match[1], {}).get(match[2], "")  # a missing output reads as ""

    resolved = _OUTPUT_REF.sub(value, str(text))
    if "${{" in resolved:
        raise NotImplementedError(f"the stand-in cannot evaluate {text!r}")
    return resolved


# The one step condition the generated workflow uses: after a step that succeeded, even if a
# later one failed.
_AFTER_STEP = re.compile(r"^\$\{\{ !cancelled\(\) && steps\.(?P<id>[\w-]+)\.outcome == 'success' \}\}$")


def load_job(workflow: Path) -> dict[str, Any]:
    data = YAML(typ="safe").load(workflow.read_text(encoding="utf-8"))
    (job,) = data["jobs"].values()
    if job.get("if", JOB_CONDITION) != JOB_CONDITION:
        raise NotImplementedError(f"job condition {job['if']!r}")
    return job


def run_job(workflow: Path, workspace: Path, python_bin: Path, scratch: Path,
            base_env: dict[str, str] | None = None) -> JobRun:
    """Run the workflow's one job in `workspace` (the checkout); `python_bin` is setup-python's."""
    job = load_job(workflow)
    env = dict(base_env if base_env is not None else os.environ)
    for name in ("GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "PYTEST_ADDOPTS",
                 "PYTHONPATH", "VIRTUAL_ENV", "NO_COLOR", "FORCE_COLOR"):
        env.pop(name, None)
    env.update({"CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(workspace),
                "RUNNER_TEMP": str(scratch)})
    scratch.mkdir(parents=True, exist_ok=True)
    outputs: dict[str, dict[str, str]] = {}
    outcomes: dict[str, str] = {}
    runs: list[StepRun] = []
    for number, step in enumerate(job["steps"]):
        name = step.get("name", f"step {number}")
        if "if" in step:
            condition = _AFTER_STEP.match(step["if"])
            if condition is None:
                raise NotImplementedError(f"step condition {step['if']!r}")
            runs_it = outcomes.get(condition["id"]) == "success"  # !cancelled(): never cancelled here
        else:
            runs_it = all(r.outcome == "success" for r in runs)
        if not runs_it:
            runs.append(StepRun(name, "skipped"))
            continue
        step_env = {**env, **{k: _resolve(v, outputs) for k, v in step.get("env", {}).items()}}
        uses = step.get("uses", "")
        if uses.startswith("actions/checkout@"):
            assert (workspace / ".git").exists() or any(workspace.iterdir())
            runs.append(StepRun(name, "success"))
        elif uses.startswith("actions/setup-python@"):
            env["PATH"] = f"{python_bin}{os.pathsep}{env.get('PATH', '')}"
            runs.append(StepRun(name, "success"))
        elif uses.startswith("classroom-resources/autograding-grading-reporter@"):
            inputs = {k: _resolve(v, outputs) for k, v in step.get("with", {}).items()}
            code, stdout = reporter(inputs, step_env)
            runs.append(StepRun(name, "success" if code == 0 else "failure", stdout))
        elif uses.startswith("actions/upload-artifact@"):
            # Uploads what the path holds (nothing is an error only if asked to be).
            path = workspace / step["with"]["path"]
            files = sorted(p.relative_to(workspace).as_posix() for p in path.rglob("*") if p.is_file()) \
                if path.exists() else []
            ok = bool(files) or step["with"].get("if-no-files-found") in ("ignore", "warn")
            runs.append(StepRun(name, "success" if ok else "failure", "\n".join(files)))
        elif "run" in step:
            output_file = scratch / f"output-{number}"
            summary_file = scratch / f"summary-{number}"
            script = scratch / f"step-{number}.sh"
            output_file.touch()
            summary_file.touch()
            script.write_text(_resolve(step["run"], outputs) + "\n", encoding="utf-8")
            step_env.update({"GITHUB_OUTPUT": str(output_file),
                             "GITHUB_STEP_SUMMARY": str(summary_file)})
            minutes = step.get("timeout-minutes", job.get("timeout-minutes", 360))
            done = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                cwd=workspace, env=step_env, capture_output=True, text=True,
                timeout=minutes * 60, check=False,
            )  # fmt: skip
            step_outputs = read_output_file(output_file)
            if "id" in step:
                outputs[step["id"]] = step_outputs
            runs.append(StepRun(name, "success" if done.returncode == 0 else "failure",
                                done.stdout, done.stderr, step_outputs,
                                summary_file.read_text(encoding="utf-8")))
        else:
            raise NotImplementedError(f"no stand-in for step {name!r} ({uses or 'no run'})")
        if "id" in step:
            outcomes[step["id"]] = runs[-1].outcome
    return JobRun(runs)

"""Student text is inert in every output: a message that would retitle the terminal, clear the
screen and print a fake green "10/10 passed" reaches the table, JSON, Gradescope, GitHub's
annotations and summary, the classroom outputs and the HTML report only as visible escapes."""

from __future__ import annotations

import json
import re
from pathlib import Path

from grader.grading.release_manifest import MANIFEST_NAME, write_manifest
from grader.grading.runner import SuiteRun
from grader.grading.scoring import score_exercise
from grader.inert import inert_text
from grader.metadata import Exercise

HOSTILE = "\x1b]0;pwned\x07\x1b[2J\x1b[32m10/10 passed\x1b[0m\r\x9b1A\x00done"
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # any control character but tab and newline


def test_control_characters_are_made_visible_and_tab_and_newline_kept() -> None:
    assert inert_text(HOSTILE) == ("\\x1b]0;pwned\\x07\\x1b[2J\\x1b[32m10/10 passed\\x1b[0m"
                                   "\\x0d\\x9b1A\\x00done")
    assert inert_text("line one\n\tline two: é ✓") == "line one\n\tline two: é ✓"
    assert not RAW.search(inert_text("".join(map(chr, range(0x00, 0xa0)))))


def test_results_are_built_inert_from_the_judges_events() -> None:
    exercise = Exercise(name="ex", module="ex", title="An exercise", points=10, timeout=5)
    events = [
        {"event": "collected", "tests": ["test_a"]},
        {"event": "result", "test": "test_a", "status": "failed", "message": HOSTILE,
         "file": f"exercises/ex{HOSTILE}.py", "line": 3, "concept": "wrong result",
         "witness": {"text": HOSTILE, "steps": [{"label": HOSTILE}]}},
    ]
    result = score_exercise(exercise, SuiteRun(events=events))
    (test,) = result.tests
    for text in (result.message, result.file, test.message, test.file,
                 json.dumps(test.witness, ensure_ascii=False)):
        assert not RAW.search(text) and "\\x1b[2J" in text, text


COUNTER = f'''
def add(a, b):
    raise ValueError({HOSTILE!r})
'''


def test_a_hostile_exception_message_reaches_no_output_raw(own_repo: Path, grade, tmp_path: Path) -> None:
    (own_repo / "exercises" / "counter.py").write_text(COUNTER, encoding="utf-8")
    write_manifest(own_repo, own_repo / MANIFEST_NAME)  # as released: on GitHub none is tampering
    summary, outputs = tmp_path / "summary.md", tmp_path / "outputs"
    run = grade(own_repo, "--exercise", "counter", "--json", str(tmp_path / "r.json"),
                "--gradescope", str(tmp_path / "g.json"), "--classroom", "--color", "never",
                env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary),
                     "GITHUB_OUTPUT": str(outputs)})
    assert run.code == 0  # --classroom: the reporter step, not this exit code, fails the job
    texts = {
        "terminal and ::error annotations": run.stdout + run.stderr,
        "JSON": (tmp_path / "r.json").read_text(encoding="utf-8"),
        "Gradescope": (tmp_path / "g.json").read_text(encoding="utf-8"),
        "job summary": summary.read_text(encoding="utf-8"),
        "classroom outputs": outputs.read_text(encoding="utf-8"),
        "HTML report": (own_repo / "grading-results" / "report.html").read_text(encoding="utf-8"),
    }
    for where, text in texts.items():
        assert not RAW.search(text.replace("\r\n", "\n")), f"a raw control character in the {where}"
    # The student still sees what they wrote, made visible, where the message is shown whole.
    message = json.loads(texts["JSON"])["exercises"][0]["tests"][0]["message"]
    assert "\\x1b]0;pwned\\x07\\x1b[2J\\x1b[32m10/10 passed" in message
    assert "::error" in run.stdout

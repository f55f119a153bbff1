"""`--gradescope PATH`: results.json in Gradescope's autograder format.

Gradescope shows each entry of `tests` as a box with its own score, so there is one entry per
test (per concept), named `exercise: test`, numbered `exercise.test` in info.toml order. The
student sees the same words as in the terminal table: the message and their `file:line`.
Described by grader/schemas/gradescope.schema.json.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grader.grading.results import PASSED, GradeReport, TestResult, format_points


def test_output(test: TestResult) -> str:
    if test.status == PASSED:
        return ""
    parts = []
    if test.location:
        parts.append(f"At {test.location}:")
    if test.message:
        parts.append(test.message)
    return "\n".join(parts) or test.status


def report_to_gradescope(report: GradeReport) -> dict[str, Any]:
    tests = []
    for number, exercise in enumerate(report.exercises, start=1):
        for sub, test in enumerate(exercise.tests, start=1):
            tests.append({
                "name": f"{exercise.name}: {test.name}",
                "number": f"{number}.{sub}",
                "score": test.score,
                "max_score": test.max_score,
                "status": "passed" if test.status == PASSED else "failed",
                "output": test_output(test),
                "tags": [exercise.name],
                "visibility": "visible",
            })
    summary = [f"{format_points(report.score)}/{format_points(report.max_score)} points."]
    nxt = report.next_exercise
    if nxt is not None:
        summary.append(f"Next: {nxt.name} ({nxt.title}).")
        if nxt.hint:
            summary.append(f"Hint: {nxt.hint}")
    if report.tampered:
        summary.append("Files that decide the grade differ from the release: "
                       + ", ".join(report.tampered))
    return {
        "score": report.score,
        "execution_time": int(round(report.duration)),
        "output": "\n".join(summary),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "extra_data": {"results_version": 1, "target": report.target, "tampered": report.tampered},
        "tests": tests,
    }


def write_gradescope(report: GradeReport, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report_to_gradescope(report), indent=2, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")

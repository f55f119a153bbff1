"""`--json PATH`: the grader's own machine-readable results, version 1.

Documented in docs/grader.md and described by grader/schemas/results.schema.json. The
`version` field changes only when a field is removed or its meaning changes; new fields may be
added within a version, so readers should ignore fields they do not know.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grader.grading.results import ExerciseResult, GradeReport, TestResult

FORMAT_VERSION = 1


def test_to_json(test: TestResult) -> dict[str, Any]:
    data = {
        "name": test.name,
        "status": test.status,
        "score": test.score,
        "max_score": test.max_score,
        "message": test.message,
        "file": test.file,
        "line": test.line,
        "concept": test.concept,
        "duration": round(test.duration, 3),
    }
    if test.witness is not None:  # only concurrency failures have one
        data["witness"] = test.witness
    return data


def exercise_to_json(result: ExerciseResult) -> dict[str, Any]:
    return {
        "name": result.name,
        "title": result.title,
        "status": result.status,
        "score": result.score,
        "max_score": result.max_score,
        "message": result.message,
        "file": result.file,
        "line": result.line,
        "hint": result.hint,
        "duration": round(result.duration, 3),
        "tests": [test_to_json(t) for t in result.tests],
    }


def report_to_json(report: GradeReport) -> dict[str, Any]:
    nxt = report.next_exercise
    return {
        "version": FORMAT_VERSION,
        "target": report.target,
        "score": report.score,
        "max_score": report.max_score,
        "full_marks": report.full_marks,
        "next_exercise": nxt.name if nxt else None,
        "tampered": report.tampered,
        "duration": round(report.duration, 3),
        "exercises": [exercise_to_json(e) for e in report.exercises],
    }


def write_json(report: GradeReport, path: Path) -> None:
    """Write the results file (creating its directory), UTF-8 with a final newline."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report_to_json(report), indent=2, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")

"""What the last grading found, so `--list` can show each exercise's status instantly.

Like rustlings' state file: after every run the grader records, per target and exercise, the
status, the points and a hash of the module that was graded. `--list` reads it back and says
"changed since graded" when the student's file no longer matches. The file lives in
grading-results/ (ignored by git); failing to read or write it never fails a grading.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from grader.grading.results import GradeReport, format_points
from grader.metadata import Exercise

STATE_FILE = Path("grading-results") / "last-run.json"
STATE_VERSION = 1


def _module_hash(target: Path, exercise: Exercise) -> str | None:
    try:
        return hashlib.sha256((target / f"{exercise.module}.py").read_bytes()).hexdigest()
    except OSError:
        return None


def _load(root: Path) -> dict[str, Any]:
    try:
        data = json.loads((root / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
        return {}
    return data


def save(root: Path, target: Path, report: GradeReport, exercises: list[Exercise]) -> None:
    """Merge this run's results into the state file (best effort)."""
    data = _load(root) or {"version": STATE_VERSION, "targets": {}}
    entries = data.setdefault("targets", {}).setdefault(report.target, {})
    by_name = {e.name: e for e in exercises}
    for result in report.exercises:
        exercise = by_name.get(result.name)
        if exercise is None:
            continue
        entries[result.name] = {
            "status": result.status,
            "score": result.score,
            "max_score": result.max_score,
            "module_sha256": _module_hash(target, exercise),
        }
    try:
        path = root / STATE_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    except OSError:
        pass


def statuses(root: Path, target: Path, target_label: str,
             exercises: list[Exercise]) -> dict[str, str]:
    """exercise name -> "passed 10/10", "partial 2.5/5 (changed since graded)", ..."""
    entries = _load(root).get("targets", {}).get(target_label, {})
    shown = {}
    for exercise in exercises:
        entry = entries.get(exercise.name)
        if not isinstance(entry, dict):
            continue
        text = (f"{entry.get('status')} {format_points(float(entry.get('score', 0)))}"
                f"/{format_points(float(entry.get('max_score', 0)))}")
        if entry.get("module_sha256") != _module_hash(target, exercise):
            text += " (changed since graded)"
        shown[exercise.name] = text
    return shown


def passed_unchanged(root: Path, target: Path, target_label: str,
                     exercises: list[Exercise]) -> set[str]:
    """Names of the exercises whose last grading gave full marks to the module as it is now
    (what `python -m grader watch` need not grade again to know where to start)."""
    entries = _load(root).get("targets", {}).get(target_label, {})
    return {e.name for e in exercises
            if isinstance(entries.get(e.name), dict)
            and entries[e.name].get("status") == "passed"
            and entries[e.name].get("module_sha256") == _module_hash(target, e)}

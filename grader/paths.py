"""Where the grader is, and the names `--target` gives to this repository's exercise folders:
one definition each, for the grader, the judge and the instruments alike."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent  # the directory that holds grader/
TARGET_NAMES = ("exercises", "solutions")  # `--target NAME`: that folder of REPO_ROOT

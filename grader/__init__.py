"""Grading harness and tools for the multiprocessing exercises.

Subpackages and modules:
  judge/          the pytest process that judges: plugin, proxies, checks, verdicts, results
  sandbox/        the student host: the only place student code runs, confined
  harness/        instruments that make concurrency bugs deterministic and explain them
  metadata        reads info.toml, the single source of truth for the exercise set
  feedback        the failure type the suites raise, carrying the student's file and line
  cli, grading, runner, scoring, formats/   `python -m grader`: run suites, score, report
  workflow, release, release_manifest, batch   the instructor's tools
"""

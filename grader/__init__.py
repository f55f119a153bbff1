"""Grading harness and tools for the multiprocessing exercises.

Subpackages and modules:
  harness/        instruments that make concurrency bugs deterministic and explain them
  metadata        reads info.toml, the single source of truth for the exercise set
  feedback        the failure type the suites raise, carrying the student's file and line
  pytest_plugin   --target / --start-method options and the fixtures the suites use
"""

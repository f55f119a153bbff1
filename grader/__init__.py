"""Grading harness and tools for the multiprocessing exercises.

Subpackages and modules, by role (docs/ARCHITECTURE.md draws the layers and one grading's route):
  cli, __main__   `python -m grader`: grading, and cli.COMMANDS, the subcommands' dispatch table
  grading/        the student's grading pipeline: run the suites, score them, the results
  formats/        the results as a terminal table, JSON, Gradescope, GitHub, the HTML report
  watch/          `grader watch`: grade again on every save
  instructor/     the instructor's commands: check, new, workflow, release, batch, gradescope
  judge/          the pytest process that judges: plugin, proxies, checks, verdicts, results
  sandbox/        the student host: the only place student code runs, confined
  harness/        instruments that make concurrency bugs deterministic and explain them
  referee/        the trusted process that holds a run's values and locks and writes its journal
  metadata, feedback, inert, paths, process_tree   shared by all: info.toml, the failure the
                  suites raise, student text made inert, where the grader is, process lifecycle
"""

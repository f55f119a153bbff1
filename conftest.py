"""Root conftest, for `pytest` run by hand: loads the grading plugin (--target, --start-method,
the harness fixtures and the rules' quoting). The grader's judge collects no conftest.py: it
names the plugin itself (grader.grading.runner)."""

pytest_plugins = ["grader.judge.plugin"]

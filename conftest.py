"""Root conftest: loads the grading plugin (--target, --start-method and the harness fixtures)."""

pytest_plugins = ["grader.judge.plugin"]

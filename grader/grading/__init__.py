"""The student's grading pipeline: `python -m grader` from a target to a report.

    grade             the setup (root, target, pristine tests), the exercises chosen, one grading
    runner            one suite in its own isolated pytest process (the judge), with a time budget
    scoring           the judge's events -> points per test and exercise (weights, guards)
    results           the result dataclasses every output format reads
    state             the last grading of a checkout, for --list
    release_manifest  the release's hashes of what decides a grade, and what a checkout changed
    tampered_exercises  what a changed protected file costs: the exercises it touches score 0
"""

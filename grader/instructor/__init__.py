"""The instructor's commands, one module or sub-package each (cli.COMMANDS names them).

    check        `grader check`: solutions full marks, stubs fail, what an author has left to do
    new/         `grader new NAME`: a new exercise's five pieces (scaffold), what is left (authoring)
    workflow     `grader workflow`: .github/workflows/classroom.yml from info.toml
    release      `grader release OUT`: the student template and its manifest
    batch        `grader batch DIR...`: a class's checkouts graded into a CSV
    gradescope/  `grader gradescope OUT.zip`: the zip (build) and what runs in Gradescope (autograder)
"""

"""`grader gradescope OUT.zip`: the autograder zip (build) and the program it runs inside
Gradescope for each submission (autograder)."""

"""`grader new NAME`: a new exercise's pieces (scaffold) and what its author still has to write
(authoring, which `grader check` lists too)."""

"""`python -m grader watch`: re-grade an exercise the moment its file is saved (like rustlings).

core.py is the loop (no I/O of its own, so a test can drive it); changes.py notices saves,
keys.py reads single keys, jobs.py runs one grading through `python -m grader` in a child
process that can be stopped, screen.py draws what the student sees, command.py wires them up.
"""

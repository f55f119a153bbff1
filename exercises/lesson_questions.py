"""The lesson's two questions.

Read exercises/lesson_questions.md first. For each question, set QUESTION_1 and
QUESTION_2 below to the letter of your answer, as a string: for example "A".
Check your answers with:

    pytest tests/test_lesson_questions.py

Question 1
----------
With `import random` you call the function as `random.randint(0, 10)`.
If you write this instead:

    from random import *

how do you call randint? (The options are in QUESTION_1_OPTIONS: each one is a Python
expression. Try them in a Python shell after `from random import *`.)

Question 2
----------
Several processes run this function, all with the same lock:

    def add_one(counter, lock, times):
        for _ in range(times):
            lock.acquire()
            counter.value += 1

When times is 2 or more, or when there are two or more processes, the program never
finishes. Why not? (The options are in QUESTION_2_OPTIONS.)
"""

QUESTION_1_OPTIONS: dict[str, str] = {
    "A": "random.randint(0, 10)",
    "B": "Random.randint(0, 10)",
    "C": "randint(0, 10)",
    "D": "random(0, 10)",
}

QUESTION_2_OPTIONS: dict[str, str] = {
    "A": "counter.value += 1 is not atomic, so the processes keep retrying it forever.",
    "B": "The lock is acquired but never released. The next acquire() - by another process, "
    "or by the same process on its next time round the loop - waits for a release() "
    "that never comes.",
    "C": "Each process works on its own copy of the lock, so the processes never see each "
    "other finish.",
    "D": "join() waits until the lock is free, and the main program never calls release().",
}

# Your answers: replace None with a letter, for example QUESTION_1 = "A". The grader reads
# the letters written here; it does not run this file, so computed answers do not count.
QUESTION_1: str | None = None
QUESTION_2: str | None = None

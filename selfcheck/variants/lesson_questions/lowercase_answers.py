"""Correct answers, written in lower case with spaces around the letter.

expect: pass
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

# The answers.
QUESTION_1: str | None = " c "
QUESTION_2: str | None = "B"

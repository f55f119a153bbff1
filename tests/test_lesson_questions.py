"""Exercise 5: the lesson's two questions (exercises/lesson_questions.py).

Question 1 is checked by really running the chosen option after `from random import *`.
Question 2 is checked against a fingerprint of the right letter, so this file does
not spell the answer out. Run with `pytest tests/test_lesson_questions.py`.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from grader.feedback import Site
from grader.harness.runtime import display_path
from grader.judge.checks import require

MODULE = "lesson_questions"
pytestmark = pytest.mark.timeout(30)  # no processes here: anything slower is stuck
# The options as the exercise states them. Answers are judged against these, never against
# option texts read from the student's file (which the student could rewrite).
QUESTION_1_OPTIONS = {
    "A": "random.randint(0, 10)",
    "B": "Random.randint(0, 10)",
    "C": "randint(0, 10)",
    "D": "random(0, 10)",
}
QUESTION_2_LETTERS = ("A", "B", "C", "D")
# sha256 of "question 2: " + the right letter, so this file does not spell the answer out.
QUESTION_2_FINGERPRINT = "b33cc742d1441ebb2cdc4735c5c4d141be6c56689170a5b2c3ed275b534838cc"


@pytest.fixture
def mod(student_module):
    return student_module(MODULE)


def answer_site(mod, number: int) -> Site | None:
    """The line where the student sets QUESTION_<number> (read from the file's text)."""
    source = Path(mod.__file__)
    for line_number, line in enumerate(source.read_text().splitlines(), 1):
        if re.match(rf"QUESTION_{number}\s*(:[^=]*)?=", line):
            return Site(display_path(str(source), (str(source.parent),)), line_number)
    return None


def chosen_letter(mod, number: int, letters) -> str:
    answer = getattr(mod, f"QUESTION_{number}", None)
    require(
        isinstance(answer, str) and answer.strip().upper() in letters,
        f"QUESTION_{number} is {answer!r}: set it to the letter of one option "
        f"({', '.join(sorted(letters))}), as a string, for example \"A\".",
        site=answer_site(mod, number),
        concept="wrong result",
    )
    return answer.strip().upper()


def fingerprint(letter: str) -> str:
    return hashlib.sha256(f"question 2: {letter}".encode()).hexdigest()


@pytest.mark.rule("Q1", "Q2")
def test_question_1_how_to_call_randint_after_a_star_import(mod) -> None:
    expression = QUESTION_1_OPTIONS[chosen_letter(mod, 1, QUESTION_1_OPTIONS)]
    namespace: dict[str, object] = {}
    exec("from random import *", namespace)  # noqa: S102 - the question is about exactly this
    try:
        result = eval(expression, namespace)  # noqa: S307
    except Exception as error:  # noqa: BLE001 - the failure is the lesson
        require(False, f"After `from random import *`, your choice `{expression}` fails with "
                f"{type(error).__name__}: {error}. Which names does the star import bring in?",
                site=answer_site(mod, 1), concept="wrong result")
    require(isinstance(result, int) and 0 <= result <= 10,
            f"After `from random import *`, `{expression}` gave {result!r}, not a number from 0 to 10.",
            site=answer_site(mod, 1), concept="wrong result")


@pytest.mark.rule("Q1", "Q3")
def test_question_2_why_the_unmatched_acquire_never_finishes(mod) -> None:
    letter = chosen_letter(mod, 2, QUESTION_2_LETTERS)
    require(fingerprint(letter) == QUESTION_2_FINGERPRINT,
            "That is not why the program never finishes. Hint: after acquire(), who could ever call "
            "release() on that lock? Think about what the next acquire() does.",
            site=answer_site(mod, 2), concept="wrong result")

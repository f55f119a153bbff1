"""Exercise 5: the lesson's two questions (exercises/lesson_questions.py).

Each answer is what the file says: the letter written in `QUESTION_<n> = "A"`, read from the
source with `ast` (grader/judge/written_answers.py); the student's module is never run, so an answer
it computes or serves some other way does not count. The answers are judged against the
answer key named in info.toml (fingerprints, so this file does not spell them out); where the
key was left out of the student template, this check confirms the answers' format and says
who grades them. Run with `pytest tests/test_lesson_questions.py`.
"""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path

import pytest

from grader.testing import (
    Site,
    StudentFailure,
    WrittenAnswer,
    exercise_by_name,
    read_source,
    require,
    site_at,
    written_answers,
)

MODULE = "lesson_questions"
TESTS_ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.timeout(30)  # no processes here: anything slower is stuck
# The options as the exercise states them. Answers are judged by letter, never against option
# texts read from the student's file (which the student could rewrite).
QUESTION_1_OPTIONS = {
    "A": "random.randint(0, 10)",
    "B": "Random.randint(0, 10)",
    "C": "randint(0, 10)",
    "D": "random(0, 10)",
}
QUESTION_2_LETTERS = ("A", "B", "C", "D")
NAMES = ("QUESTION_1", "QUESTION_2")
WRITE_IT = 'Write the letter itself, as a string, for example QUESTION_{n} = "A".'


def answer_key() -> dict[str, str] | None:
    """The key's fingerprints by name, or None where it was left out of this copy."""
    exercise = exercise_by_name(MODULE, TESTS_ROOT / "info.toml")
    path = TESTS_ROOT / exercise.answer_key if exercise.answer_key else None
    if path is None or not path.is_file():
        return None
    return tomllib.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def answers(target_dir: Path) -> tuple[Path, dict[str, WrittenAnswer]]:
    """The student's file and what it writes for each answer (read, never run)."""
    path = target_dir / f"{MODULE}.py"
    try:
        source = read_source(path)
    except OSError as error:
        raise StudentFailure(f"Cannot read {MODULE}.py: {error}.", concept="wrong result") from None
    try:
        return path, written_answers(source, NAMES)
    except SyntaxError as error:
        raise StudentFailure(
            f"Python cannot read {MODULE}.py: {error.msg} (line {error.lineno}). Fix the syntax "
            "error first; no test can run until the file imports.", concept="syntax error") from None


def fingerprint(number: int, letter: str) -> str:
    return hashlib.sha256(f"question {number}: {letter}".encode()).hexdigest()


def chosen_letter(answers: tuple[Path, dict[str, WrittenAnswer]], number: int, letters) -> tuple[str, Site]:
    """The letter the file writes for question `number`, and where; a clear failure otherwise."""
    path, written = answers
    answer = written[f"QUESTION_{number}"]
    site = site_at(path, answer.line) if answer.line else None
    problems = {
        "missing": f"QUESTION_{number} is not set in your file. {WRITE_IT}",
        "computed": f"QUESTION_{number} is set by an expression, not written as a letter: an "
                    f"answer is what the file says, not what it computes. {WRITE_IT}",
        "chained": f"QUESTION_{number} is set together with other names. Give it a line of its "
                   f"own. {WRITE_IT}",
        "set elsewhere": f"QUESTION_{number} is set here by code, not only by `QUESTION_{number} "
                         f"= ...`: an answer is what the file writes, not what the program "
                         f"does with it. {WRITE_IT}",
    }
    if answer.problem:
        require(False, problems[answer.problem].format(n=number), site=site, concept="wrong result")
    value = answer.value
    require(
        isinstance(value, str) and value.strip().upper() in letters,
        f"QUESTION_{number} is {value!r}: set it to the letter of one option "
        f"({', '.join(sorted(letters))}), as a string, for example \"A\".",
        site=site,
        concept="wrong result",
    )
    return value.strip().upper(), site


def judged_by_the_key(number: int, letter: str) -> bool:
    """Whether the key accepts `letter`; where there is no key, the check stops here, saying so."""
    key = answer_key()
    if key is None:
        pytest.skip(f"Your answer to question {number}, {letter}, is a letter written in the file, "
                    "as asked. Your instructor's grading scores it: the answer key is not in your "
                    "copy of the tests.")
    return key.get(f"QUESTION_{number}") == fingerprint(number, letter)


@pytest.mark.rule("Q1", "Q2")
def test_question_1_how_to_call_randint_after_a_star_import(answers) -> None:
    letter, site = chosen_letter(answers, 1, QUESTION_1_OPTIONS)
    if judged_by_the_key(1, letter):
        return
    expression = QUESTION_1_OPTIONS[letter]  # the wrong choice, run to show why it is wrong
    namespace: dict[str, object] = {}
    exec("from random import *", namespace)  # noqa: S102 - the question is about exactly this
    try:
        result = eval(expression, namespace)  # noqa: S307
    except Exception as error:  # noqa: BLE001 - the failure is the lesson
        require(False, f"After `from random import *`, your choice `{expression}` fails with "
                f"{type(error).__name__}: {error}. Which names does the star import bring in?",
                site=site, concept="wrong result")
    require(False, f"After `from random import *`, `{expression}` gave {result!r}, but it is not "
            "the way to call randint that the question asks for.", site=site, concept="wrong result")


@pytest.mark.rule("Q1", "Q3")
def test_question_2_why_the_unmatched_acquire_never_finishes(answers) -> None:
    letter, site = chosen_letter(answers, 2, QUESTION_2_LETTERS)
    require(judged_by_the_key(2, letter),
            "That is not why the program never finishes. Hint: after acquire(), who could ever call "
            "release() on that lock? Think about what the next acquire() does.",
            site=site, concept="wrong result")

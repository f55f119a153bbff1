"""What a student reads for a failed property test: the failure, and the example that showed it."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from grader.feedback import StudentFailure
from grader.judge.checks import property_settings
from grader.judge.explain import explain


@property_settings(max_examples=5)
@given(start=st.integers(0, 10), amounts=st.lists(st.integers(1, 5), min_size=1, max_size=2))
def overdraws(mod: object, start: int, amounts: list[int]) -> None:
    if sum(amounts) > start:
        raise StudentFailure(f"{amounts} from ${start} went below $0.", concept="check-then-act")


@property_settings(max_examples=5)
@given(start=st.integers(0, 10), amounts=st.lists(st.integers(1, 5), min_size=1, max_size=2))
@example(start=1, amounts=[1, 1])  # tried first, as the suites' minimal concurrent cases are
def overdraws_at_the_given_example(mod: object, start: int, amounts: list[int]) -> None:
    if sum(amounts) > start:
        raise StudentFailure(f"{amounts} from ${start} went below $0.", concept="check-then-act")


class _Module:
    def __repr__(self) -> str:  # as the judge's stand-in for the student's module shows itself
        return "<in the student host: bank_account>"


def test_a_property_failure_names_its_example_without_the_judges_fixtures() -> None:
    with pytest.raises(StudentFailure) as raised:
        overdraws(mod=_Module())
    explanation = explain(raised.value)
    assert explanation is not None and explanation.concept == "check-then-act"
    assert explanation.message.startswith("[1] from $0 went below $0.")
    assert "Found with the example start=0, amounts=[1]." in explanation.message
    assert "mod=" not in explanation.message and "student host" not in explanation.message


def test_a_failure_at_an_example_the_suite_gives_names_that_example() -> None:
    with pytest.raises(StudentFailure) as raised:
        overdraws_at_the_given_example(mod=_Module())
    explanation = explain(raised.value)
    assert explanation is not None
    assert explanation.message.startswith("[1, 1] from $1 went below $0.")
    assert "Found with the example start=1, amounts=[1, 1]." in explanation.message
    assert "mod=" not in explanation.message and "student host" not in explanation.message


def test_an_error_without_an_example_is_told_as_it_is() -> None:
    explanation = explain(ValueError("no such amount"))
    assert explanation is not None and explanation.message == "ValueError: no such amount"

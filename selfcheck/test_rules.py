"""The instructions' rules and the suites keep in step (fast: no processes, no student code).

Every rule of exercises/<module>.md, a sentence ending in `(rule B1)`, is enforced by some test
of tests/test_<module>.py marked `@pytest.mark.rule("B1")`; every id a marker names is defined;
every test enforces at least one rule; and a failure of a marked test quotes its rules'
sentences, through the judge's rules plugin (grader.judge.rules).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from grader.feedback import Site, StudentFailure
from grader.judge import domains
from grader.judge import plugin as judge_plugin
from grader.judge import rules as rules_plugin
from grader.metadata import load_exercises

REPO = Path(__file__).resolve().parent.parent
EXERCISES = load_exercises()
MARKER = re.compile(r"\(rule\b[^)]*\)")


CONFTEST = rules_plugin  # the quoting hooks the judge plugin registers


def markdown(module: str) -> str:
    return (REPO / "exercises" / f"{module}.md").read_text(encoding="utf-8")


def marked_tests(module: str) -> dict[str, list[str]]:
    """test name -> the rule ids of its `@pytest.mark.rule(...)` decorators, read from the source."""
    tree = ast.parse((REPO / "tests" / f"test_{module}.py").read_text(encoding="utf-8"))
    tests = {}
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef) or not node.name.startswith("test_"):
            continue
        ids = []
        for decorator in node.decorator_list:
            if (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)
                    and decorator.func.attr == "rule" and ast.unparse(decorator.func.value) == "pytest.mark"):
                for argument in decorator.args:
                    assert isinstance(argument, ast.Constant) and isinstance(argument.value, str), (
                        f"{module}.{node.name}: rule ids must be string literals")
                    ids.append(argument.value)
        tests[node.name] = ids
    return tests


def names_used_by_tests(module: str) -> dict[str, set[str]]:
    """test name -> every name its body reads (`AMOUNT` in `for a in AMOUNT.refused`)."""
    tree = ast.parse((REPO / "tests" / f"test_{module}.py").read_text(encoding="utf-8"))
    return {node.name: {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
            for node in tree.body if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}


def suite_module_name(module: str) -> str | None:
    tree = ast.parse((REPO / "tests" / f"test_{module}.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and [ast.unparse(t) for t in node.targets] == ["MODULE"]:
            return ast.literal_eval(node.value)
    return None


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.module)
def test_every_rule_marker_in_the_instructions_is_well_formed(exercise) -> None:
    text = markdown(exercise.module)
    written = MARKER.findall(text)
    rules = CONFTEST.rules_of(text)
    assert written, f"exercises/{exercise.module}.md states no rule"
    assert len(rules) == len(written), f"malformed rule markers in exercises/{exercise.module}.md: {written}"
    ids = [rule_id for rule_id, _ in rules]
    assert len(ids) == len(set(ids)), f"a rule id is defined twice in exercises/{exercise.module}.md: {ids}"
    for rule_id, sentence in rules:
        assert rule_id[0] == ids[0][0], f"{rule_id}: one letter per exercise in exercises/{exercise.module}.md"
        assert len(sentence.split()) >= 4 and "(rule" not in sentence, f"{rule_id}: {sentence!r}"


def test_no_two_exercises_share_a_rule_letter() -> None:
    # Read from the instructions rather than listed here, so that an exercise added with
    # `python -m grader new` (which picks a free letter) needs no edit of this file.
    letters = {exercise.module: {rule_id[0] for rule_id, _ in CONFTEST.rules_of(markdown(exercise.module))}
               for exercise in EXERCISES}
    assert all(len(used) == 1 for used in letters.values()), letters
    assert len({next(iter(used)) for used in letters.values()}) == len(letters), letters


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.module)
def test_every_rule_is_enforced_by_a_test_and_every_marker_names_a_rule(exercise) -> None:
    defined = set(CONFTEST.rules(exercise.module))
    tests = marked_tests(exercise.module)
    named = {rule_id for ids in tests.values() for rule_id in ids}
    assert defined - named == set(), f"rules no test of tests/test_{exercise.module}.py enforces"
    assert named - defined == set(), f"markers name rules exercises/{exercise.module}.md does not define"
    unmarked = [name for name, ids in tests.items() if not ids]
    assert not unmarked, f"tests that name no rule they enforce: {unmarked}"


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.module)
def test_a_failure_quotes_the_rules_its_test_enforces(exercise) -> None:
    assert suite_module_name(exercise.module) == exercise.module, "the suite's MODULE names its exercise"
    for name, ids in marked_tests(exercise.module).items():
        failure = StudentFailure("4 processes x 10 increments gave 39.", site=Site("exercises/x.py", 3),
                                 concept="lost update")
        quoted = CONFTEST.with_rules(failure, exercise.module, ids)
        assert isinstance(quoted, StudentFailure), name
        assert quoted.message.startswith("4 processes x 10 increments gave 39.\n"), name
        assert (quoted.site, quoted.concept) == (failure.site, failure.concept), name
        for rule_id in ids:
            sentence = CONFTEST.rules(exercise.module)[rule_id]
            assert f"Rule {rule_id} (exercises/{exercise.module}.md): {sentence}" in quoted.message, name


def test_the_suites_quote_rules_from_a_hook_pytest_loads() -> None:
    hook = getattr(CONFTEST, "pytest_runtest_call", None)
    assert hook is not None and hook.pytest_impl["wrapper"], "grader.judge.rules lost its quoting hook"
    assert "grader.judge.rules" in judge_plugin.pytest_plugins, "the judge plugin does not load it"
    text = (REPO / "pyproject.toml").read_text()
    assert '"rule(*ids)' in text, "the rule marker is not registered in pyproject.toml"


def test_a_judge_fault_is_not_dressed_as_a_broken_rule() -> None:
    assert CONFTEST.with_rules(KeyError("journal"), "bank_account", ["B1"]) is None
    assert CONFTEST.with_rules(StudentFailure("x"), "bank_account", []) is None


def test_rule_sentences_are_read_as_written() -> None:
    text = """# Title

Some idea. It costs $2.50 or `1.5`. Keep it safe (rule X1), said someone.

```python
x = 1  # (rule X9) inside code is not a rule
```

* `f(a)`: if `a` is wrong, raise `ValueError` (rule X2). Otherwise add **it**
  to the *total* (rule X3).
1. Create it in the parent (rule X4).
"""
    assert CONFTEST.rules_of(text) == [
        ("X1", "Keep it safe."),
        ("X2", "`f(a)`: if `a` is wrong, raise `ValueError`."),
        ("X3", "Otherwise add it to the total."),
        ("X4", "Create it in the parent."),
    ]


# A rule that refuses input states a domain; the suite must try its edges (issue 18).
REFUSING = re.compile(r"ValueError|refuse", re.IGNORECASE)


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.module)
def test_every_domain_rule_is_tried_at_its_edges(exercise) -> None:
    constants = {id(value): name for name, value in vars(domains).items() if isinstance(value, domains.Domain)}
    used = names_used_by_tests(exercise.module)
    tests = marked_tests(exercise.module)
    for rule_id, sentence in CONFTEST.rules(exercise.module).items():
        if not REFUSING.search(sentence):
            continue
        domain = domains.BY_RULE.get(rule_id)
        assert domain is not None, f"{rule_id} refuses input but grader/judge/domains.py names no domain for it"
        assert domain.refused, rule_id
        name = constants[id(domain)]
        trying = [test for test, ids in tests.items() if rule_id in ids and name in used[test]]
        assert trying, f"no test of rule {rule_id} tries the edges of {name} ({domain.what})"


def test_the_amount_domain_has_the_edges_a_hurried_check_lets_through() -> None:
    import math
    from decimal import Decimal
    from fractions import Fraction

    refused, accepted = domains.AMOUNT.refused, domains.AMOUNT.accepted
    assert any(type(v) is float and v.is_integer() and v > 0 for v in refused), "a whole-valued float"
    assert any(type(v) is Decimal for v in refused) and any(type(v) is Fraction for v in refused)
    assert True in refused and False in refused and any(v is True for v in refused)
    assert any(type(v) is float and v == 0 and math.copysign(1, v) < 0 for v in refused), "negative zero"
    assert any(type(v) is int and v > 2**63 for v in accepted), "a huge int is an amount"
    assert all(type(v) is int and v > 0 for v in accepted)

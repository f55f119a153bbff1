"""The suites' rules: every test names the rules of exercises/<module>.md it enforces, with
`@pytest.mark.rule("B1")`, and a failure quotes them, so a student reads which promise of the
instructions the code broke, in the instructions' own words.

A rule is the sentence of the instructions that ends with its id, written `(rule B1)`. This is a
pytest plugin that grader.judge.plugin registers (it was tests/conftest.py): the judge collects
no conftest.py, so nothing in a graded tree can replace it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from grader.feedback import StudentFailure
from grader.judge.explain import explain
from grader.metadata import REPO_ROOT

INSTRUCTIONS = REPO_ROOT / "exercises"
RULE_ID = re.compile(r"\(rule ([A-Z]\d+)\)")
# A sentence ends at `.`, `!` or `?` followed by a space and the next sentence's first character.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`*\"(])")
_EMPHASIS = re.compile(r"\*{1,2}(\w[^*`]*\w)\*{1,2}")
_LIST_ITEM = re.compile(r"^\s*(?:[*-]|\d+\.)\s+")


def _blocks(text: str) -> list[str]:
    """The paragraphs and list items of a Markdown text, each on one line; code is left out."""
    blocks: list[str] = []
    current: list[str] = []
    fenced = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            blocks.append(" ".join(current))
            current = []
            continue
        if fenced:
            continue
        if not line.strip() or line.lstrip().startswith("#") or _LIST_ITEM.match(line):
            blocks.append(" ".join(current))
            current = []
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            line = _LIST_ITEM.sub("", line)
        current.append(line.strip())
    blocks.append(" ".join(current))
    return [block for block in blocks if block]


def rules_of(text: str) -> list[tuple[str, str]]:
    """(id, sentence) for each `(rule X1)` in an exercise's instructions, in order. The sentence
    runs from its start up to the marker; other rules' markers and `*` emphasis are left out."""
    found = []
    for block in _blocks(text):
        for match in RULE_ID.finditer(block):
            before = block[:match.start()]
            start = max((m.end() for m in _SENTENCE_END.finditer(before)), default=0)
            sentence = _EMPHASIS.sub(r"\1", RULE_ID.sub("", before[start:]))
            sentence = " ".join(sentence.split()).rstrip(" ,;:")
            found.append((match.group(1), sentence + "."))
    return found


def rules(module: str, instructions: Path = INSTRUCTIONS) -> dict[str, str]:
    """The rules of <instructions>/<module>.md, id -> sentence ({} when the file is missing)."""
    path = instructions / f"{module}.md"
    return dict(rules_of(path.read_text(encoding="utf-8"))) if path.is_file() else {}


def rule_ids(item: pytest.Item) -> list[str]:
    """The rule ids a test is marked with, in order."""
    return [str(i) for mark in item.iter_markers("rule") for i in mark.args]


def quote_rules(message: str, module: str, ids: list[str],
                instructions: Path = INSTRUCTIONS) -> str:
    """`message`, followed by the rules the failed test enforces, in the instructions' words."""
    known = rules(module, instructions)
    lines = [f"Rule {i} (exercises/{module}.md): {known.get(i, 'see the instructions')}" for i in ids]
    return message.rstrip() + "\n" + "\n".join(lines) if lines else message


def with_rules(error: BaseException, module: str, ids: list[str],
               instructions: Path = INSTRUCTIONS) -> StudentFailure | None:
    """The student's explanation of `error` with the rules quoted, or None if it is not about the
    student's code (a fault of the judge stays as it is)."""
    explanation = explain(error, fallback=False)
    if explanation is None or not ids:
        return None
    return StudentFailure(quote_rules(explanation.message, module, ids, instructions),
                          site=explanation.site,
                          concept=explanation.concept, witness=explanation.witness)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    try:
        return (yield)
    except Exception as error:
        module = getattr(getattr(item, "module", None), "MODULE", None)
        instructions = item.config.rootpath / "exercises"  # the tests' own checkout
        quoted = with_rules(error, str(module), rule_ids(item), instructions) if module else None
        if quoted is None:
            raise
        raise quoted from None

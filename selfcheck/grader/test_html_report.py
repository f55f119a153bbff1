"""The HTML report: well-formed, self-contained, one lane per process, the student's lines shown.

Parsed with the standard library only: `html.parser` checks that every element is closed in
order, `xml.etree` parses each SVG timeline.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

from grader.formats.html_report import REPORT_FILE, render_html
from grader.grading.results import ExerciseResult, GradeReport, TestResult
from grader.harness.witness import Witness
from grader.harness.witness_drawing import (
    check_then_act_witness,
    deadlock_witness,
    lost_update_witness,
)
from selfcheck.harness.journals import (
    BANK,
    FILE,
    check_then_act_journal,
    deadlock_journal,
    lost_update_journal,
)

SVG = "{http://www.w3.org/2000/svg}"
VOID = {"meta", "br", "hr", "img", "input", "link"}


class Balanced(HTMLParser):
    """Fails on any element closed out of order or left open (the markup is XML-clean)."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        pass

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, f"</{tag}> closes <{self.open[-1] if self.open else None}>"
        self.open.pop()


def witnesses() -> dict[str, Witness]:
    deadlock = deadlock_witness(
        deadlock_journal().events, [801, 802],
        held={801: [("A", f"{FILE}:40")], 802: [("B", f"{FILE}:40")]},
        waiting={801: ("B", f"{FILE}:41"), 802: ("A", f"{FILE}:41")},
    )
    return {
        "lost update": lost_update_witness(lost_update_journal().events, "counter", FILE),
        "check-then-act": check_then_act_witness(check_then_act_journal().events, file=BANK),
        "deadlock": deadlock,
    }


def report() -> GradeReport:
    tests = []
    for concept, witness in witnesses().items():
        site = witness.steps[-1].site or f"{FILE}:1"
        file, line = site.rsplit(":", 1)
        tests.append(TestResult(f"test_{concept.replace(' ', '_').replace('-', '_')}", "failed", 0.0, 5.0,
                                f"Something about the {concept} <here> & there.\n{witness.text()}",
                                file, int(line), concept, witness=witness.to_dict()))
    static = Witness.unavailable("unreleased lock", "found by reading your code, not seen in a run.")
    tests.append(TestResult("test_static", "failed", 0.0, 5.0, "acquire() at line 9 is never released",
                            FILE, 9, "unreleased lock", witness=static.to_dict()))
    tests.append(TestResult("test_fine", "passed", 5.0, 5.0))
    exercise = ExerciseResult("locked_increment", "Lost updates", "partial", 5.0, 25.0, tests,
                              tests[0].message, tests[0].file, tests[0].line)
    done = ExerciseResult("shared_value", "Warm-up", "passed", 10.0, 10.0, [TestResult("test_ok", "passed", 10, 10)])
    return GradeReport("exercises", [done, exercise])


def svgs(page: str) -> list[ET.Element]:
    return [ET.fromstring(part) for part in re.findall(r"<svg\b.*?</svg>", page, flags=re.S)]


def test_the_report_is_well_formed_and_self_contained() -> None:
    page = render_html(report())
    parser = Balanced()
    parser.feed(page)
    parser.close()
    assert parser.open == []
    ET.fromstring(page.split("\n", 1)[1])  # the whole page (after the doctype) is well-formed XML
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert "@font-face" not in page
    assert re.findall(r"https?://[^\s\"']+", page) == ["http://www.w3.org/2000/svg"] * len(svgs(page))
    assert all(target.startswith("#") for target in re.findall(r"url\(([^)]*)\)", page))
    assert "prefers-color-scheme: dark" in page
    assert "&lt;here&gt; &amp; there" in page  # messages are escaped


def test_each_concurrency_failure_gets_a_timeline_with_one_lane_per_process() -> None:
    page = render_html(report())
    drawn = witnesses()
    pictures = svgs(page)
    assert len(pictures) == len(drawn)
    for svg, witness in zip(pictures, drawn.values(), strict=True):
        lanes = svg.findall(f".//{SVG}g[@class='lane']")
        assert [lane.get("data-lane") for lane in lanes] == list(witness.lanes)
        labels = [t.text for lane in lanes for t in lane.findall(f"{SVG}text[@class='lane-label']")]
        assert labels == list(witness.lanes)
        marks = svg.findall(f".//{SVG}circle")
        assert len(marks) == len(witness.steps)
        tips = " ".join(t.text or "" for t in svg.iter(f"{SVG}title"))
        for step in witness.steps:
            assert step.site in tips  # the student's file:line, on the mark itself
    deadlock = pictures[2]
    edges = deadlock.findall(f".//{SVG}path[@class='edge']")
    assert len(edges) == 2  # the wait-for cycle, drawn
    assert len(deadlock.findall(f".//{SVG}rect")) == 2  # both holds, never released
    assert all("open" in rect.get("class", "") for rect in deadlock.findall(f".//{SVG}rect"))
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))


def test_the_students_lines_and_the_steps_are_in_the_page() -> None:
    page = render_html(report())
    for witness in witnesses().values():
        for step in witness.steps:
            assert f"<code>{step.site}</code>" in page
    assert f"{FILE}:28" in page and f"{BANK}:43" in page
    assert "No timeline to show: found by reading your code" in page
    assert "5 / 25" in page and "15 / 35 points" in page


def test_grading_writes_the_report_and_says_where_unless_told_not_to(own_repo: Path, grade) -> None:
    run = grade(own_repo, "--exercise", "counter", "-q", "--color", "never")
    path = own_repo / REPORT_FILE
    assert path.is_file() and str(REPORT_FILE) in run.stderr
    page = path.read_text(encoding="utf-8")
    Balanced().feed(page)
    assert "counter" in page
    path.unlink()
    grade(own_repo, "--exercise", "counter", "-q", "--color", "never", "--no-report")
    assert not path.exists()

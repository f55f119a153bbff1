"""Run a student suite in a fresh pytest process against some target, and read its results.

The self-check judges the suites from outside, as the grader and CI do: each run is its own
pytest process (no state shared with the self-check), reporting through the grader's
results plugin, so every test's status and diagnosed concept can be asserted on.
"""

from __future__ import annotations

import multiprocessing
import re
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from grader.judge.results_channel import ResultsPipe

REPO = Path(__file__).resolve().parent.parent
# The start method a suite run uses unless told otherwise (`--start-method`).
DEFAULT_START_METHOD = multiprocessing.get_context().get_start_method()

# A variant's declared concept is diagnosed when any failing test names a concept of its family:
# a lock kept at `continue` may show as "unreleased lock" (static check) or "self-deadlock"
# (the next acquire), and opposite lock orders as "lock order" or, when the run deadlocks, "deadlock".
FAMILIES = {
    "unreleased lock": {"unreleased lock", "self-deadlock"},
    "self-deadlock": {"unreleased lock", "self-deadlock"},
    "lock order": {"lock order", "deadlock"},
    # A check made outside the lock is first of all an unprotected read: the lockset rule
    # names it as a lost-update risk before the overdraft shows.
    "check-then-act": {"check-then-act", "lost update"},
}


# The id of a test parametrized by start method (and runs), e.g. `test_x[spawn-1]`.
PINNED_ID = re.compile(r"\[(?:fork|spawn|forkserver)-\d+\]$")

LEAK_MARKERS = ("Traceback (most recent call last)", "ExceptionGroup", "FlakyFailure", "grader/harness/",
                "grader/judge/", "grader/sandbox/", "site-packages/", "_pytest/")


@dataclass
class SuiteRun:
    """The outcome of one suite run: per-test status and concept, plus pytest's output."""

    returncode: int
    results: list[dict[str, object]] = field(default_factory=list)
    output: str = ""
    # The tests the run collected (after any were left out), as the results name them.
    collected: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[dict[str, object]]:
        return [r for r in self.results if r.get("status") != "passed"]

    @property
    def concepts(self) -> set[str]:
        return {str(r["concept"]) for r in self.failed if r.get("concept")}

    def witness_problems(self) -> list[str]:
        """Concurrency failures without a witness, or whose message does not show it."""
        from grader.harness.witness import CONCURRENCY_CONCEPTS

        problems = []
        for result in self.failed:
            if result.get("concept") not in CONCURRENCY_CONCEPTS:
                continue
            witness = result.get("witness")
            if not isinstance(witness, dict) or not witness.get("text"):
                problems.append(f"{result['test']}: no witness")
            elif witness["text"] not in str(result.get("message")) and "(cut:" not in str(result.get("message")):
                problems.append(f"{result['test']}: the message does not show its witness")
            elif witness.get("drawn") and not witness.get("steps"):
                problems.append(f"{result['test']}: a drawn witness without steps")
        return problems

    def drew_a_witness(self) -> bool:
        return any((r.get("witness") or {}).get("drawn") for r in self.failed)

    def diagnoses(self, concept: str) -> bool:
        return bool(self.concepts & FAMILIES.get(concept, {concept}))

    def leaks(self) -> list[str]:
        """What a student must never see in a failure: a traceback, an exception group, a frame
        of the judge, the harness or a library (in the results or pytest's failure reports)."""
        texts = [self.failure_reports(), *(str(r.get("message") or "") for r in self.failed)]
        return sorted({marker for marker in LEAK_MARKERS for text in texts if marker in text})

    def failure_reports(self) -> str:
        """pytest's FAILURES section of the output: what a student reads below the table."""
        if "= FAILURES =" not in self.output:
            return ""
        failures = self.output.split("= FAILURES =", 1)[1]
        return re.split(r"=+ (?:warnings summary|short test summary info)", failures, maxsplit=1)[0]

    def with_pinned_from(self, default: SuiteRun) -> SuiteRun:
        """This run (made with `-p selfcheck.pinned_start_method`) completed with the results of
        the tests it left out, taken from `default`, the same suite's full run on the same target
        under the default start method: those tests pin their own start method, so their
        judgment is the same in both runs (see selfcheck/pinned_start_method.py)."""
        left_out = [name for name in default.collected if name not in self.collected]
        unpinned = [name for name in left_out if not PINNED_ID.search(name)]
        if unpinned:
            raise ValueError(f"tests left out that do not pin a start method: {unpinned}")
        taken = [result for result in default.results if result["test"] in left_out]
        failed = any(result.get("status") != "passed" for result in taken)
        return SuiteRun(self.returncode or int(failed), self.results + taken, self.output,
                        self.collected + left_out)

    def summary(self) -> str:
        lines = [f"exit {self.returncode}"]
        lines += [f"  {r['test']}: {r['status']} [{r.get('concept')}] {str(r.get('message'))[:160]}" for r in self.failed]
        return "\n".join(lines) + ("\n" + self.output[-2000:] if not self.results else "")


def run_suite(suites: list[str], target: Path, *extra: str, timeout: float = 600) -> SuiteRun:
    """`python -m pytest <suites> --target <target>` in a subprocess, from the repository root,
    reporting through the grader's results pipe."""
    results = ResultsPipe()
    command = [
        sys.executable, "-m", "pytest", *suites, "--target", str(target), "-q",
        "-p", "no:cacheprovider", "-p", "grader.judge.results_plugin", *results.arguments(),
        "--grader-root", str(REPO), *extra,
    ]
    try:
        process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True, **results.popen_options())
    except BaseException:
        results.close_unused()
        raise
    results.started()
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    events = results.events()
    collected = [str(name) for e in events if e.get("event") == "collected" for name in e.get("tests", [])]
    return SuiteRun(process.returncode, [e for e in events if e.get("event") == "result"], output, collected)


@dataclass(frozen=True)
class Variant:
    """A solution with a few edits, and the verdict the suite must give it.

    Variants are kept as edits of solutions/<module>.py (selfcheck/variants/<module>.toml), not as
    copies: each stays "the solution with one mistake" when the solution changes, and an edit
    that no longer applies fails loudly instead of testing stale code.
    """

    module: str
    name: str
    summary: str
    # "pass", "fail", or "unseen": correct, but made in a way the judge cannot watch (a subclass
    # of Process), so its failures may only say that the grader could not see it (issue 18).
    expect: str
    concept: str | None
    edits: tuple[tuple[str, str], ...]
    solution: Path
    # Which class of judging gap (issue 10) the variant stands for, if any: "promise" (a rule
    # of the instructions), "vacuous" (the work not done by concurrent children), "atomicity"
    # (an operation over two locations split into separate holds) or "property" (found by a
    # property test). These are judged again under every start method.
    gap: str | None = None

    @property
    def id(self) -> str:
        return f"{self.module}/{self.name}"

    def source(self) -> str:
        """The solution with this variant's edits applied (each `old` must occur exactly once)."""
        text = self.solution.read_text()
        for old, new in self.edits:
            if text.count(old) != 1:
                raise ValueError(f"{self.id}: an edit's old text occurs {text.count(old)} times, not once:\n{old}")
            text = text.replace(old, new, 1)
        return text


def load_variants(root: Path = REPO) -> list[Variant]:
    """Every variant declared in root/selfcheck/variants/<module>.toml, as edits of root/solutions."""
    variants = []
    for path in sorted((root / "selfcheck" / "variants").glob("*.toml")):
        solution = root / "solutions" / f"{path.stem}.py"
        for item in tomllib.loads(path.read_text())["variant"]:
            edits = tuple((edit["old"], edit["new"]) for edit in item["edit"])
            variants.append(Variant(
                path.stem, item["name"], item["summary"], item["expect"], item.get("concept"), edits, solution,
                item.get("gap"),
            ))
    return variants


def run_variant(variant: Variant, *extra: str) -> SuiteRun:
    """Judge a variant exactly as a student's file: copied as exercises/<module>.py somewhere else
    (`extra`: more pytest options, such as `--start-method spawn`)."""
    with tempfile.TemporaryDirectory(prefix="variant-") as scratch:
        target = Path(scratch) / "exercises"
        target.mkdir()
        (target / f"{variant.module}.py").write_text(variant.source())
        return run_suite([f"tests/test_{variant.module}.py"], target, *extra)

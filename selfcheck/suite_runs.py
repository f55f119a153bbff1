"""Run a student suite in a fresh pytest process against some target, and read its results.

The self-check judges the suites from outside, as the grader and CI do: each run is its own
pytest process (no state shared with the self-check), reporting through the grader's
results plugin, so every test's status and diagnosed concept can be asserted on.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VARIANTS = Path(__file__).resolve().parent / "variants"

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


@dataclass
class SuiteRun:
    """The outcome of one suite run: per-test status and concept, plus pytest's output."""

    returncode: int
    results: list[dict[str, object]] = field(default_factory=list)
    output: str = ""

    @property
    def failed(self) -> list[dict[str, object]]:
        return [r for r in self.results if r.get("status") != "passed"]

    @property
    def concepts(self) -> set[str]:
        return {str(r["concept"]) for r in self.failed if r.get("concept")}

    def diagnoses(self, concept: str) -> bool:
        return bool(self.concepts & FAMILIES.get(concept, {concept}))

    def summary(self) -> str:
        lines = [f"exit {self.returncode}"]
        lines += [f"  {r['test']}: {r['status']} [{r.get('concept')}] {str(r.get('message'))[:160]}" for r in self.failed]
        return "\n".join(lines) + ("\n" + self.output[-2000:] if not self.results else "")


def run_suite(suites: list[str], target: Path, *extra: str, timeout: float = 600) -> SuiteRun:
    """`python -m pytest <suites> --target <target>` in a subprocess, from the repository root."""
    with tempfile.TemporaryDirectory(prefix="suite-run-") as scratch:
        results_file = Path(scratch) / "results.jsonl"
        command = [
            sys.executable, "-m", "pytest", *suites, "--target", str(target), "-q",
            "-p", "no:cacheprovider", "-p", "grader.results_plugin", "--grader-results", str(results_file),
            "--grader-root", str(REPO), *extra,
        ]
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=timeout)
        results = []
        if results_file.exists():
            for line in results_file.read_text().splitlines():
                event = json.loads(line)
                if event.get("event") == "result":
                    results.append(event)
        return SuiteRun(done.returncode, results, done.stdout + done.stderr)


@dataclass(frozen=True)
class Variant:
    """A changed copy of a solution, and what the suite must say about it."""

    module: str
    name: str
    path: Path
    expect: str  # "pass" or "fail"
    concept: str | None

    @property
    def id(self) -> str:
        return f"{self.module}/{self.name}"


def load_variants() -> list[Variant]:
    variants = []
    for path in sorted(VARIANTS.glob("*/*.py")):
        header = path.read_text().split('"""')[1]
        fields = dict(
            line.split(":", 1) for line in header.splitlines()[1:] if line.split(":", 1)[0].strip() in ("expect", "concept")
        )
        fields = {k.strip(): v.strip() for k, v in fields.items()}
        variants.append(Variant(path.parent.name, path.stem, path, fields["expect"], fields.get("concept")))
    return variants


def run_variant(variant: Variant) -> SuiteRun:
    """Judge a variant exactly as a student's file: copied as exercises/<module>.py somewhere else."""
    with tempfile.TemporaryDirectory(prefix="variant-") as scratch:
        target = Path(scratch) / "exercises"
        target.mkdir()
        shutil.copy(variant.path, target / f"{variant.module}.py")
        return run_suite([f"tests/test_{variant.module}.py"], target)

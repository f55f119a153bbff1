"""What the harness found, and the exceptions that carry it.

Concept names are shared with the self-check's variant corpus and the grader, so a
failure can be traced to the idea a student should revisit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from grader.feedback import Site, StudentFailure

if TYPE_CHECKING:  # a child process needs findings, not the witnesses' drawing code
    from grader.harness.witness import Witness

LOST_UPDATE = "lost update"
UNRELEASED_LOCK = "unreleased lock"
SELF_DEADLOCK = "self-deadlock"
FOREIGN_RELEASE = "foreign release"
DEADLOCK = "deadlock"
LOCK_ORDER = "lock order"
START_JOIN_ORDER = "start/join order"
MISSING_JOIN = "missing join"
CHILD_CRASH = "child crash"
TOO_SLOW = "did not finish"
INTERFERENCE = "interference"
CONCURRENCY = "no concurrency"
ATOMICITY = "atomicity"
# Concepts of the suites' own checks (grader.judge), named here with the harness's.
CHECK_THEN_ACT = "check-then-act"
WRONG_RESULT = "wrong result"
VALIDATION = "validation"

# Most telling first: when several findings stem from one bug (a lock left held makes the
# next acquire hang, which trips the deadline), the student reads about the cause.
PRIORITY = (
    INTERFERENCE,
    SELF_DEADLOCK,
    UNRELEASED_LOCK,
    FOREIGN_RELEASE,
    DEADLOCK,
    LOCK_ORDER,
    LOST_UPDATE,
    ATOMICITY,
    CHILD_CRASH,
    START_JOIN_ORDER,
    CONCURRENCY,
    MISSING_JOIN,
    TOO_SLOW,
)


@dataclass(frozen=True)
class Finding:
    """One diagnosed problem: its concept, a message for students, and the line it is about."""

    concept: str
    message: str
    site: Site | None = None
    details: tuple[str, ...] = field(default=())
    witness: Witness | None = field(default=None, compare=False)  # how it happened, from the journal

    @property
    def rank(self) -> int:
        return PRIORITY.index(self.concept) if self.concept in PRIORITY else len(PRIORITY)

    def full_message(self) -> str:
        text = "\n".join((self.message, *(f"  {line}" for line in self.details)))
        return f"{text}\n{self.witness.text()}" if self.witness is not None else text

    def failure(self) -> ConcurrencyFailure:
        return ConcurrencyFailure(self)


def most_telling(findings: list[Finding]) -> Finding | None:
    return min(findings, key=lambda f: f.rank, default=None)


class ConcurrencyFailure(StudentFailure):
    """Raised in the test process: a concurrency bug, explained, with the student's line."""

    def __init__(self, finding: Finding) -> None:
        # Without a witness of its own, the judge gives it one where the report is made.
        witness = finding.witness.to_dict() if finding.witness is not None else None
        super().__init__(finding.full_message(), site=finding.site, concept=finding.concept, witness=witness)
        self.finding = finding


class HarnessStop(BaseException):
    """Raised inside a child process to stop it at a bug the harness has already recorded.

    A BaseException, so that a student's `except Exception:` cannot swallow it.
    """


def self_deadlock_finding(name: str, first: Site | None, second: Site | None) -> Finding:
    return Finding(
        SELF_DEADLOCK,
        f"This process asked for {name} at {second} while it was still holding it from {first}. "
        "A Lock has no idea who holds it: the second acquire() would wait forever for a release "
        "that only this same, now waiting, process could do. Make sure every acquire() is "
        "matched by a release() before the next acquire().",
        second,
    )


def foreign_release_finding(name: str, site: Site | None) -> Finding:
    return Finding(
        FOREIGN_RELEASE,
        f"{name} was released at {site} by a process that was not holding it. Only the process "
        "that acquired a lock should release it; otherwise another process's critical section "
        "is opened up while it is still inside it.",
        site,
    )

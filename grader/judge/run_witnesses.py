"""The witness of a failure a suite raised itself: drawn, where the report is made, from the
runs its own test closed.

A suite that counts (ten processes, a hundred increments, the total must be exact) raises its
failure after the runs, from the results alone. The judge keeps the journals of the runs each
test closed, on that test's student host (a fresh one per test: nothing passes from one test to
the next), and when the test fails with a concurrency concept and no witness of its own, the
judge plugin's hook around the test's call attaches the schedule of the latest run that showed
it, or a plain word that the journal cannot show one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from grader.feedback import StudentFailure
from grader.harness.findings import CHECK_THEN_ACT, LOST_UPDATE
from grader.harness.witness import CONCURRENCY_CONCEPTS, Witness
from grader.harness.witness_drawing import check_then_act_witness, lost_update_witness

Event = dict[str, Any]

# Runs kept per test, newest last. A witness is drawn only when a failure asks for one, so a
# passing run costs no more than keeping its events.
KEPT_RUNS = 64


class ClosedRuns:
    """The journals of the runs one test closed that read, wrote or locked anything."""

    def __init__(self) -> None:
        self.runs: list[Sequence[Event]] = []

    def remember(self, events: Sequence[Event]) -> None:
        """Keep what a finished run's journal shows, for a failure the test raises about it later."""
        if any(e["k"] in ("access", "acquire") for e in events):
            self.runs.append(events)
            del self.runs[:-KEPT_RUNS]

    def recall(self, concept: str | None) -> Witness | None:
        """The witness of `concept` from the latest run that showed anything (a lucky later run
        does not erase an earlier one's)."""
        if concept is None:
            return None
        for events in reversed(self.runs):
            found = _witnesses_of(events)
            if found:
                return found.get(concept)
        return None

    def witness_for(self, concept: str | None) -> Witness | None:
        """For a failure raised by a suite: the kept witness, or a plain word that there is none."""
        if concept not in CONCURRENCY_CONCEPTS:
            return None
        found = self.recall(concept)
        if found is not None:
            return found
        return Witness.unavailable(
            concept or "",
            "the journal of this test's runs does not show it (it was found by checking your code or the results).")


def _witnesses_of(events: Sequence[Event]) -> dict[str, Witness]:
    found: dict[str, Witness] = {}
    try:
        lost = lost_update_witness(events)
        if lost.drawn and any(step.role == "lost" for step in lost.steps):
            found[LOST_UPDATE] = lost
        stale = check_then_act_witness(events)
        if stale.drawn:
            found[CHECK_THEN_ACT] = stale
    except Exception:  # noqa: BLE001 - a witness is an extra: never a failure of the run
        return {}
    return found


def attach_witnesses(raised: Iterable[BaseException], runs: ClosedRuns) -> None:
    """Give every concurrency failure among `raised` (a test's error, or the leaves of
    Hypothesis's exception group) that carries no witness of its own the one `runs` show."""
    for leaf in raised:
        if isinstance(leaf, StudentFailure) and leaf.witness is None:
            witness = runs.witness_for(leaf.concept)
            if witness is not None:
                leaf.add_witness(witness.to_dict(), witness.text())

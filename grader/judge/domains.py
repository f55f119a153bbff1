"""The domains the instructions state, with the values at their boundaries the suites try.

A rule such as "an amount is an `int`, not a `bool`, above 0" (rule B1) is only kept if the suite
tries the values a hurried check lets through: a whole-valued float (`amount % 1 == 0`), a
`Decimal` or a `Fraction` that equals a whole number, `True`, a huge int, negative zero. Each
domain lists what must be refused and what must be accepted; `selfcheck/test_rules.py` checks
that every rule of the instructions that refuses input names its domain here, and that a test
of that rule uses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction


@dataclass(frozen=True)
class Domain:
    """What a rule accepts, as edge values: `refused` must raise ValueError, `accepted` must not."""

    what: str
    refused: tuple[object, ...]
    accepted: tuple[object, ...] = ()


# Rules B1, B3, B9: an amount of money is an int, not a bool, above 0.
AMOUNT = Domain(
    "an int, not a bool, above 0",
    refused=(0, -5, 2.5, 10.0, -0.0, Decimal(10), Fraction(10), "10", None, True, False),
    accepted=(1, 2**62, 10**30),
)
# Rule D5: a transfer moves more than $0 between two different accounts that exist.
TRANSFER = Domain(
    "(src, dst, amount): two different existing accounts, an amount above 0",
    refused=((0, 0, 10), (1, 1, 10), (0, 1, 0), (1, 0, -5), (0, 1, -0.0), (0, 2, 10), (-1, 0, 10), (1, -2, 5)),
    accepted=((0, 1, 1),),
)
# Rule W7: run_many needs at least one value.
VALUES = Domain("a list of at least one value", refused=([],), accepted=([7],))

# Which domain each rule that refuses input states.
BY_RULE = {"B1": AMOUNT, "B3": AMOUNT, "B9": AMOUNT, "D5": TRANSFER, "W7": VALUES}

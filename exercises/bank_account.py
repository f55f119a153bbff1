"""The bank account: deposits and withdrawals made by several processes at once.

Read exercises/bank_account.md first. Then watch the money go missing:

    python exercises/bank_account.py

and check your work with:

    pytest tests/test_bank_account.py
"""

from multiprocessing import *
from typing import Any


def deposit(balance: Any, lock: Any, amount: int) -> None:
    """Add `amount` dollars to the shared balance."""
    # TODO: refuse an amount that is not a whole number above 0 (raise ValueError); True and
    # False are not amounts (rule B1).
    # TODO: another process can change the balance between the read and the write below (rule B2).
    current = balance.value
    balance.value = current + amount


def withdraw(balance: Any, lock: Any, amount: int) -> bool:
    """Take `amount` dollars out of the shared balance if there is enough.

    Returns True if the money was taken out, False if there was not enough.
    """
    # TODO: refuse an amount that is not a whole number above 0 (raise ValueError) (rule B3).
    # TODO: between the check and the subtraction, another process can take the money (rule B4).
    if balance.value >= amount:
        balance.value = balance.value - amount
        return True
    return False


def run_deposits(start: int, amounts: list[int]) -> int:
    """Open an account with `start` dollars, make each deposit in its own process, return the balance."""
    # TODO: check every amount before starting any process, so that a bad amount
    # means no deposit at all happens (rule B9).
    balance = RawValue("i", start)
    lock = Lock()
    processes = [Process(target=deposit, args=(balance, lock, amount)) for amount in amounts]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    return balance.value


def _teller(balance: Any, lock: Any, amount: int, times: int) -> None:
    """Demo helper: one teller on a busy day makes the same deposit `times` times."""
    for _ in range(times):
        deposit(balance, lock, amount)


def _cashier(balance: Any, lock: Any, paid_out: Any, slot: int, times: int) -> None:
    """Demo helper: try `times` withdrawals of $1, counting the ones that succeed in paid_out[slot]."""
    for _ in range(times):
        if withdraw(balance, lock, 1):
            paid_out[slot] += 1


if __name__ == "__main__":
    results = [run_deposits(100, [50, 25]) for _ in range(10)]
    print(f"run_deposits(100, [50, 25]) ten times: {results} (expected 175)")
    print("Two quick deposits rarely collide, so this usually looks fine. A busy day does not:")

    times = 200_000
    balance = RawValue("i", 100)
    lock = Lock()
    tellers = [Process(target=_teller, args=(balance, lock, amount, times)) for amount in (50, 25)]
    for teller in tellers:
        teller.start()
    for teller in tellers:
        teller.join()
    expected = 100 + times * (50 + 25)
    print(f"{times} deposits of $50 and {times} of $25 onto $100:")
    missing = expected - balance.value
    verdict = f"${missing} went missing" if missing else "every dollar is there"
    print(f"  balance ${balance.value}, expected ${expected}: {verdict}")

    balance = RawValue("i", times)
    paid_out = RawArray("i", 2)
    cashiers = [
        Process(target=_cashier, args=(balance, lock, paid_out, slot, times)) for slot in (0, 1)
    ]
    for cashier in cashiers:
        cashier.start()
    for cashier in cashiers:
        cashier.join()
    print(f"Two cashiers each try {times} withdrawals of $1 from ${times}:")
    together = sum(paid_out) + balance.value
    print(f"  paid out ${sum(paid_out)}, balance now ${balance.value}, together ${together}")
    if together != times or balance.value < 0:
        print(f"  ...but the account only ever held ${times}!")

"""run_deposits joins each process right after starting it

expect: fail
concept: start/join order
"""

from multiprocessing import *
from typing import Any


def _check_amount(amount: object) -> None:
    """Refuse anything but a whole number of dollars above zero.

    bool is a subclass of int in Python (True == 1), so it is refused explicitly.
    """
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValueError(f"an amount must be a whole number of dollars above 0, not {amount!r}")


def deposit(balance: Any, lock: Any, amount: int) -> None:
    """Add `amount` to the shared balance while holding `lock`.

    Reading the balance and writing the new one happen in one hold of the lock, so two
    deposits at the same moment cannot overwrite each other.
    """
    _check_amount(amount)
    with lock:
        balance.value = balance.value + amount


def withdraw(balance: Any, lock: Any, amount: int) -> bool:
    """Take `amount` out of the shared balance if there is enough; say whether it happened.

    The check ("is there enough?") and the subtraction happen in ONE hold of the lock:
    if the lock were released in between, another withdrawal could spend the same money
    and the balance could go below zero.
    """
    _check_amount(amount)
    lock.acquire()
    try:
        if balance.value >= amount:
            balance.value = balance.value - amount
            return True
        return False
    finally:
        lock.release()


def run_deposits(start: int, amounts: list[int]) -> int:
    """Open an account with `start` dollars, make each deposit in its own process, return the balance.

    Every amount is checked before anything happens, so a bad amount leaves no deposit
    half done. run_deposits(100, [50, 25]) is always 175.
    """
    for amount in amounts:
        _check_amount(amount)
    balance = RawValue("i", start)
    lock = Lock()
    processes = [Process(target=deposit, args=(balance, lock, amount)) for amount in amounts]
    for process in processes:
        process.start()
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
    print(f"run_deposits(100, [50, 25]) = {run_deposits(100, [50, 25])} (expected 175)")

    times = 200_000
    balance = RawValue("i", 100)
    lock = Lock()
    tellers = [Process(target=_teller, args=(balance, lock, amount, times)) for amount in (50, 25)]
    for teller in tellers:
        teller.start()
    for teller in tellers:
        teller.join()
    expected = 100 + times * (50 + 25)
    print(f"A busy day, {times} deposits of $50 and {times} of $25 onto $100:")
    print(f"  balance ${balance.value}, expected ${expected}")

    balance = RawValue("i", 100)
    print(f"withdraw $30 from $100: {withdraw(balance, lock, 30)}, balance ${balance.value}")
    print(f"withdraw $80 from $70: {withdraw(balance, lock, 80)}, balance ${balance.value}")

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
    print(
        f"  paid out ${sum(paid_out)}, balance ${balance.value} (the two always add up to ${times})"
    )

"""Worker functions, each one pattern a student might write (line numbers matter to tests)."""

import multiprocessing
import time


def no_lock(counter, lock, times):
    for _ in range(times):
        counter.value += 1  # LINE: no_lock


def with_lock(counter, lock, times):
    for _ in range(times):
        with lock:
            counter.value += 1


def try_finally(counter, lock, times):
    for _ in range(times):
        lock.acquire()
        try:
            counter.value += 1
        finally:
            lock.release()


def coarse_lock(counter, lock, times):
    with lock:
        for _ in range(times):
            counter.value += 1


def lock_only_write(counter, lock, times):
    for _ in range(times):
        current = counter.value  # LINE: unlocked read
        with lock:
            counter.value = current + 1


def lock_only_read(counter, lock, times):
    for _ in range(times):
        with lock:
            current = counter.value
        counter.value = current + 1  # LINE: unlocked write


def own_lock(counter, lock, times):
    mine = multiprocessing.Lock()
    for _ in range(times):
        with mine:
            counter.value += 1


def keeps_lock(counter, lock, times):
    lock.acquire()  # LINE: never released
    counter.value += times


def acquire_twice(counter, lock, times):
    for _ in range(times):
        lock.acquire()  # LINE: acquire in loop
        if counter.value >= 0:
            continue
        lock.release()


def release_unheld(counter, lock, times):
    lock.release()  # LINE: foreign release


def crash(counter, lock, times):
    with lock:
        counter.value += 1
    return 1 // (times - times)  # LINE: crash


def spin_forever(counter, lock, times):
    while True:  # LINE: spin
        time.sleep(0.01)


def take_in_order(balances, locks, first, second):
    locks[first].acquire()  # LINE: first lock
    time.sleep(0.2)
    locks[second].acquire()  # LINE: second lock
    balances[first] -= 1
    balances[second] += 1
    locks[second].release()
    locks[first].release()


def behind_the_instrument(counter, lock, times):
    """One recorded write, then the rest straight into the shared memory (no record)."""
    with lock:
        counter.value = counter.value
    for _ in range(times):
        with lock:
            counter._raw.value += 1


def slices_and_reads(counts, lock, times):
    """Whole-array reads and slice writes, unlocked: honest, if racy."""
    for _ in range(times):
        counts[:] = [value + 1 for value in counts[:]]

"""Ways a parent waits for its children (substituted in by the tests): by polling their end,
correctly, and by a sleep, which is no wait at all."""

import multiprocessing
import time


def add(counter, lock, times):
    for _ in range(times):
        with lock:
            counter.value += 1


def _run(wait, n=3, times=5):
    counter = multiprocessing.RawValue("i", 0)
    lock = multiprocessing.Lock()
    processes = [multiprocessing.Process(target=add, args=(counter, lock, times)) for _ in range(n)]
    for process in processes:
        process.start()
    wait(processes)
    return counter.value


def run_polling_is_alive(n=3, times=5):
    def wait(processes):
        while any(process.is_alive() for process in processes):
            time.sleep(0.01)
    return _run(wait, n, times)


def run_polling_exitcode(n=3, times=5):
    def wait(processes):
        for process in processes:
            while process.exitcode is None:
                process.join(0.05)
    return _run(wait, n, times)


def run_sleeping(n=3, times=5):
    def wait(processes):
        time.sleep(0.5)
    return _run(wait, n, times)

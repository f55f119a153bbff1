from multiprocessing import Lock, Process, RawValue

from selfcheck.harness.examples.workers import no_lock


def run(n=3, times=5):
    counter = RawValue("i", 0)
    lock = Lock()
    processes = [Process(target=no_lock, args=(counter, lock, times)) for _ in range(n)]
    for p in processes:
        p.start()
    for p in processes:
        p.join()
    return counter.value

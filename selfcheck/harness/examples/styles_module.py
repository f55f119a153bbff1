import multiprocessing


def bump(counts, lock):
    lock = multiprocessing.Lock()
    with lock:
        counts[0] += 1


def run(n=3):
    counts = multiprocessing.RawArray("i", 2)
    lock = multiprocessing.Lock()
    processes = [multiprocessing.Process(target=bump, args=(counts, lock)) for _ in range(n)]
    for p in processes:
        p.start()
        p.join()
    return list(counts)


def run_unjoined(n=3):
    counts = multiprocessing.RawArray("i", 2)
    lock = multiprocessing.Lock()
    processes = [multiprocessing.Process(target=bump, args=(counts, lock)) for _ in range(n)]
    for p in processes:
        p.start()
    return list(counts)

"""Every other way of making the lesson's objects (issue 18): contexts, sharedctypes, synchronize,
Value and Array with and without their own lock, RLock, and a Process subclass the harness
leaves alone."""

import multiprocessing
import multiprocessing.sharedctypes
import multiprocessing.synchronize


def add(counter, lock, times):
    for _ in range(times):
        with lock:
            counter.value += 1


def add_own(counter, times):
    for _ in range(times):
        with counter.get_lock():
            counter.value += 1


def made_in_a_context(method=None):
    ctx = multiprocessing.get_context(method)
    return ctx.Lock(), ctx.RLock(), ctx.RawValue("i", 0), ctx.RawArray("i", 2), ctx.Value("i", 0), ctx.Process()


def made_by_module():
    import multiprocessing as mp  # the real module, not the one substituted in this module's globals

    return (multiprocessing.sharedctypes.Value("i", 0, lock=False), mp.Array("i", 2),
            multiprocessing.synchronize.Lock(ctx=mp.get_context()), multiprocessing.context.Process())


def run_context(n=3, times=5):
    ctx = multiprocessing.get_context("spawn")
    counter, lock = ctx.RawValue("i", 0), ctx.Lock()
    processes = [ctx.Process(target=add, args=(counter, lock, times)) for _ in range(n)]
    for p in processes:
        p.start()
    for p in processes:
        p.join()
    return counter.value


def run_own_lock(n=3, times=5):
    counter = multiprocessing.Value("i", 0)
    processes = [multiprocessing.Process(target=add_own, args=(counter, times)) for _ in range(n)]
    for p in processes:
        p.start()
    for p in processes:
        p.join()
    return counter.value


class Worker(multiprocessing.Process):
    pass


def made_unseen():
    return Worker()

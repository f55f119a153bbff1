"""The referee: the trusted process that holds a checked run's shared values and locks.

    wire      the transport: one socket per process and thread, each message with the sender's
              kernel-verified process id (Linux); JSON messages, bounded in size
    server    the referee itself: values, locks, wait-for graph, schedule control, the journal
    client    what a student process uses: one call per operation, its answer awaited
    launch    starts a referee for a run, asks it for values, stops it

The student's processes hold only stand-ins (`grader/harness/tracked_lock.py`, `guarded.py`).
Whatever they do, the journal the judge reads is the referee's, written by trusted code.
"""

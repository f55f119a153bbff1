"""Supervised processes: a drop-in for `multiprocessing.Process` that the harness can always stop.

In the child, a small bootstrap runs before the student's target: it makes the child the
leader of its own process group (so the whole tree can be killed at once), arms
`faulthandler` so the parent can ask where the child is stuck, starts a watchdog thread
that ends the child if the parent goes away or the run's hard deadline passes, waits at
the start gate, and journals a crash with the student's traceback.

In the parent, `start()` and `join()` are recorded, and `join()` waits in short slices so
the harness can watch the journal for deadlocks while the student's code is waiting.
"""

from __future__ import annotations

import faulthandler
import importlib
import multiprocessing
import multiprocessing.context as mpc
import os
import signal
import sys
import threading
import time
import traceback
from multiprocessing.context import BaseContext
from typing import Any

from grader.harness import instrument_fingerprint
from grader.harness.findings import HarnessStop
from grader.harness.runtime import (
    RunConfig,
    caller_site,
    emit,
    is_student_file,
    parent_harness,
    process_state,
    site_of_frame,
    site_to_json,
)

CAN_DUMP_STACKS = hasattr(signal, "SIGUSR1") and hasattr(faulthandler, "register")


GATE_POLL = 0.05  # seconds between a waiting child's looks at the run's latest arrival


def _wait_at_gate(gate: Any, latest: Any, timeout: float) -> None:
    """Wait until the parent opens the gate, or until `timeout` seconds have passed in which no
    process of the run was started or arrived (`latest`: a clock reading the run's processes
    share). Spawned children can take seconds to start on a loaded machine: the first to
    arrive must not give up on the last before the parent could open the gate for all."""
    latest.value = max(latest.value, time.monotonic())
    while not gate.wait(GATE_POLL):
        if time.monotonic() - latest.value > timeout:
            return


class _SupervisedMixin:
    """Shared by the per-start-method classes below (they must be importable by name)."""

    _harness_config: RunConfig
    _harness_gate: Any
    _harness_arrivals: Any
    _harness_latest: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # `ctx.Process(...)` in student code gets a supervised process from `Process.__new__`
        # (see substitution), and Python then calls `__init__` again: once is enough.
        if "_harness_made" in vars(self):
            return
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        self._harness_made = True

    def _supervise(self, config: RunConfig, gate: Any, arrivals: Any, latest: Any) -> None:
        self._harness_config = config
        self._harness_gate = gate
        self._harness_arrivals = arrivals
        self._harness_latest = latest

    # -- parent side ---------------------------------------------------------------------
    def start(self) -> None:
        harness = parent_harness(self._harness_config)
        site = caller_site(self._harness_config)
        super().start()  # type: ignore[misc]
        if harness is not None:
            harness._on_start(self, site)  # type: ignore[attr-defined]

    def join(self, timeout: float | None = None) -> None:
        harness = parent_harness(self._harness_config)
        if harness is None:
            super().join(timeout)  # type: ignore[misc]
            return
        harness._on_join(self, timeout, caller_site(self._harness_config))  # type: ignore[attr-defined]

    def _plain_join(self, timeout: float | None) -> None:
        super().join(timeout)  # type: ignore[misc]

    # A program may wait with `while p.is_alive(): p.join(0.1)`: when its own code sees the
    # child's end (is_alive() false, an exit code), it has waited for it, as a join does.
    def is_alive(self) -> bool:
        alive = super().is_alive()  # type: ignore[misc]
        if not alive:
            self._end_seen(sys._getframe(1))
        return alive

    @property
    def exitcode(self) -> int | None:
        code = multiprocessing.process.BaseProcess.exitcode.fget(self)  # type: ignore[attr-defined]
        if code is not None:
            self._end_seen(sys._getframe(1))
        return code

    def _end_seen(self, frame: Any) -> None:
        config = self.__dict__.get("_harness_config")
        if config is None or not is_student_file(frame.f_code.co_filename, config.student_dirs):
            return  # the harness's own look, or a process not started yet
        harness = parent_harness(config)
        if harness is not None:
            harness._on_end_seen(self, site_of_frame(frame, config.student_dirs))  # type: ignore[attr-defined]

    def __reduce_ex__(self, protocol: Any) -> Any:
        """Pickled for a spawned or fork-server child: unpickling it there first takes the
        child's fingerprint of the harness, then rebuilds the process, whose target and
        arguments import the student's module (which may change the harness at import)."""
        rebuild, args, *rest = super().__reduce_ex__(protocol)
        config = self.__dict__.get("_harness_config")
        child_modules = config.child_modules if config is not None else ()
        return (_after_baseline, (_Baseline(child_modules), rebuild, args), *rest)

    # -- child side ----------------------------------------------------------------------
    def run(self) -> None:
        config = self._harness_config
        _bootstrap_child(config)
        if config.use_gate and self._harness_gate is not None:
            emit(config, "arrive")  # alive and waiting: the proof that the processes overlapped
            self._harness_arrivals.release()
            _wait_at_gate(self._harness_gate, self._harness_latest, config.gate_timeout)
        emit(config, "run", name=self.name)  # type: ignore[attr-defined]
        code = 0
        before, after = config.child_delays
        try:
            if before:
                time.sleep(before)
            super().run()  # type: ignore[misc]
            if after:
                time.sleep(after)
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 1
        except HarnessStop:
            code = 1
        except BaseException as error:  # noqa: BLE001 - every crash is reported to the student
            code = 1
            _journal_crash(config, error)
        finally:
            state = process_state()  # the locks it still holds, the referee adds itself
            fingerprint = state.fingerprint
            emit(config, "exit", code=code, tampered=instrument_fingerprint.changed(fingerprint) if fingerprint else [])
        if code:
            raise SystemExit(code)


class _Baseline:
    """Unpickled first: takes the spawned child's baseline before anything of the student's."""

    def __init__(self, child_modules: tuple[str, ...]) -> None:
        self.child_modules = child_modules

    def __reduce__(self) -> Any:
        return (instrument_fingerprint.spawned_baseline, (self.child_modules,))


def _after_baseline(_: None, rebuild: Any, args: tuple[Any, ...]) -> Any:
    return rebuild(*args)


def _journal_crash(config: RunConfig, error: BaseException) -> None:
    frames = traceback.extract_tb(error.__traceback__)
    student = [f for f in frames if any(f.filename.startswith(d) for d in config.student_dirs)]
    tb = error.__traceback__
    innermost = None
    while tb is not None:
        innermost = tb.tb_frame
        tb = tb.tb_next
    site = site_of_frame(innermost, config.student_dirs) if innermost is not None else None
    lines = traceback.format_list(student) if student else []
    emit(
        config,
        "crash",
        error=type(error).__name__,
        message=str(error)[:500],
        site=site_to_json(site),
        traceback="".join(lines)[-3000:],
    )


def _bootstrap_child(config: RunConfig) -> None:
    for fd in config.private_fds:  # a forked child inherits the host's channel to the judge
        try:
            os.close(fd)
        except OSError:
            pass
    if hasattr(os, "setpgid"):
        try:
            os.setpgid(0, 0)
        except OSError:
            pass
    state = process_state()
    if CAN_DUMP_STACKS:
        stacks = open(os.path.join(config.journal_dir, f"{os.getpid()}.stack"), "w")  # noqa: SIM115
        state.keep.append(stacks)
        faulthandler.register(signal.SIGUSR1, file=stacks, all_threads=False)
    threading.Thread(target=_watch_parent, args=(config,), daemon=True).start()
    state.fingerprint = instrument_fingerprint.baseline()  # a spawned child's was taken before its target was unpickled
    _substitute_in_child(config)


def _watch_parent(config: RunConfig) -> None:
    """End this child if its parent has gone or the run's hard deadline has passed.

    POSIX re-parents an orphan (its parent id changes); on Windows the parent's sentinel,
    which multiprocessing gives every child, tells the same.
    """
    parent_id = os.getppid()
    parent = multiprocessing.parent_process()
    while True:
        time.sleep(0.2)
        orphaned = os.getppid() != parent_id or (parent is not None and not parent.is_alive())
        if orphaned or (config.hard_deadline and time.time() > config.hard_deadline):
            os._exit(70)


def _substitute_in_child(config: RunConfig) -> None:
    """Spawned children import the student's module afresh: instrument it there too."""
    if not config.substitute_modules or config.start_method == "fork":
        return
    from grader.harness.substitution import Factories, substitute

    factories = Factories(config)
    for name in config.substitute_modules:
        module = sys.modules.get(name) or importlib.import_module(name)
        substitute(module, factories)


_CLASSES: dict[str, type] = {}


class SupervisedSpawnProcess(_SupervisedMixin, mpc.SpawnProcess):
    pass


_CLASSES["spawn"] = SupervisedSpawnProcess

if sys.platform != "win32":

    class SupervisedForkProcess(_SupervisedMixin, mpc.ForkProcess):
        pass

    class SupervisedForkServerProcess(_SupervisedMixin, mpc.ForkServerProcess):
        pass

    _CLASSES["fork"] = SupervisedForkProcess
    _CLASSES["forkserver"] = SupervisedForkServerProcess


def process_class(ctx: BaseContext) -> type:
    """The supervised Process class for this context's start method."""
    return _CLASSES[ctx.get_start_method()]

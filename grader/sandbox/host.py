"""The student host: the one process (with its children) where a test's student code runs.

The judge starts a fresh host for each test. The host confines itself (see `confinement`),
imports the student's module with the harness's instruments substituted in, and then only
answers requests: import a module, read an attribute, call a function, make a harness, let a
run settle. Requests arrive pickled from the trusted judge; replies leave as bounded JSON
(`wire`), so nothing the student's code does here can execute in the judge or reach its
results: at most it can misreport its own behaviour, which the judge checks against the
instruments' journal.
"""

from __future__ import annotations

import faulthandler
import gc
import importlib
import io
import os
import pickle
import signal
import sys
import traceback
from typing import Any

from grader.feedback import StudentFailure
from grader.harness import instrument_fingerprint
from grader.harness.findings import HarnessStop
from grader.harness.runtime import display_path
from grader.sandbox.confinement import SandboxSettings, confine_host
from grader.sandbox.wire import Ref, encode_reply, frame, reply_value, unframe

HOST_STACK_FILE = "host.stack"
# The grader's modules a run's children may run besides the instruments: the suites' process
# targets. A spawned child loads them before its fingerprint, as this host does before its own.
CHILD_MODULES = ("grader.sandbox.workers",)


class _RequestUnpickler(pickle.Unpickler):
    def __init__(self, data: bytes, objects: dict[int, Any]) -> None:
        super().__init__(io.BytesIO(data))
        self._objects = objects

    def persistent_load(self, pid: Any) -> Any:
        kind, number = pid
        if kind != "ref" or number not in self._objects:
            raise pickle.UnpicklingError(f"unknown reference {pid!r}")
        return self._objects[number]


class RequestServer:
    """The table of objects the judge holds references to, and the request handlers."""

    def __init__(self, settings: SandboxSettings, private_fds: tuple[int, ...] = ()) -> None:
        self.settings = settings
        self.private_fds = private_fds
        self.student_dirs = (str(os.path.realpath(settings.target_dir)),)
        self.objects: dict[int, Any] = {}
        self._next = 1
        self.last_op = ""
        self.last_number = 0  # the judge's number of the request being answered

    def keep(self, value: Any) -> int:
        number = self._next
        self._next += 1
        self.objects[number] = value
        return number

    def handle(self, raw: bytes) -> bytes:
        self.last_number, self.last_op = 0, ""
        try:
            number, body = unframe(raw)
            self.last_number = number
            request = _RequestUnpickler(body, self.objects).load()
            op, *args = request
            self.last_op = op
            handler = getattr(self, f"op_{op}")
        except Exception as error:  # noqa: BLE001 - a broken request is reported, not fatal
            return encode_reply({"error": self.describe(error)})
        try:
            return handler(*args)
        except BaseException as error:  # noqa: BLE001 - everything the student's code raises
            return encode_reply({"error": self.describe(error)})

    def describe(self, error: BaseException) -> dict[str, Any]:
        frames = [
            [display_path(f.filename, self.student_dirs), f.lineno or 0, f.name]
            for f in traceback.extract_tb(error.__traceback__)
            if any(f.filename.startswith(d + os.sep) for d in self.student_dirs)
        ]
        info: dict[str, Any] = {
            "type": type(error).__name__[:80],
            "mro": [cls.__name__ for cls in type(error).__mro__][:12],
            "message": _text(error)[:2000],
            "frames": frames[-8:],
            "harness": isinstance(error, (StudentFailure, HarnessStop)),
        }
        if isinstance(error, SyntaxError):
            info["lineno"] = error.lineno or 0
            info["msg"] = str(error.msg)[:500]
        return info

    # -- requests -------------------------------------------------------------------------
    def op_import(self, name: str) -> bytes:
        module = sys.modules.get(name) or importlib.import_module(name)
        return encode_reply({"value": {"ref": self.keep(module), "type": "module", "repr": name,
                                       "callable": False}})

    def op_getattr(self, obj: Any, name: str) -> bytes:
        return reply_value(getattr(obj, name), self.keep)

    def op_call(self, obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bytes:
        return reply_value(obj(*args, **kwargs), self.keep)

    def op_len(self, obj: Any) -> bytes:
        return reply_value(len(obj), self.keep)

    def op_list(self, obj: Any) -> bytes:
        return reply_value(list(obj), self.keep)

    def op_getitem(self, obj: Any, key: Any) -> bytes:
        return reply_value(obj[key], self.keep)

    def op_harness(self, journal_dir: str, start_method: str | None, options: dict[str, Any]) -> bytes:
        from grader.harness import Harness

        os.makedirs(journal_dir, exist_ok=True)
        harness = Harness(start_method, self.student_dirs, journal_dir=journal_dir,
                          private_fds=self.private_fds, child_modules=CHILD_MODULES, **options)
        return reply_value(harness, self.keep)

    def op_drop(self, numbers: list[int]) -> bytes:
        for number in numbers:
            self.objects.pop(number, None)
        return encode_reply({"ok": True})


def _text(error: BaseException) -> str:
    try:
        return str(error)
    except Exception:  # noqa: BLE001 - a student's __str__ may raise
        return ""


def _preload_for_fork_server() -> None:
    """A fork server started by the student's code loads the harness and the suites' targets
    once, so its children are forked with them, as fork children are, instead of each importing
    them again. The student's own module is never preloaded: it loads in each child, as usual."""
    import multiprocessing

    if "forkserver" in multiprocessing.get_all_start_methods():
        multiprocessing.set_forkserver_preload([*instrument_fingerprint.CHILD_INSTRUMENTS, *CHILD_MODULES])


def serve(connection: Any, settings: SandboxSettings) -> None:
    """The host's whole life: confine, then answer requests until the judge hangs up."""
    confinement = confine_host(settings, {connection.fileno()})
    sys.path.insert(0, os.path.realpath(settings.target_dir))
    if hasattr(signal, "SIGUSR1") and hasattr(faulthandler, "register"):
        stacks = open(os.path.join(settings.sandbox_dir, HOST_STACK_FILE), "w")  # noqa: SIM115
        faulthandler.register(signal.SIGUSR1, file=stacks, all_threads=False)
    import grader.harness.session  # noqa: F401 - everything the host will use, loaded before the fingerprint
    import grader.sandbox.workers  # noqa: F401

    _preload_for_fork_server()
    # Everything inherited from the judge (pytest, Hypothesis) is left out of garbage
    # collection here and in the runs' forked children: their collections, and the one
    # before exit, then cost what the student's objects cost, not what the judge's do.
    gc.freeze()
    # The fingerprints are locals of this function, not attributes of an object the student's
    # code can reach from its own frames and re-take after changing the harness.
    harness = instrument_fingerprint.fingerprint()
    instrument_fingerprint.set_baseline(harness)
    everything = instrument_fingerprint.fingerprint(instrument_fingerprint.EVERYTHING, screened=False)  # checked once
    host = RequestServer(settings, private_fds=(connection.fileno(),))
    connection.send_bytes(frame(0, encode_reply({"ok": {"user": confinement.user, "landlock": confinement.landlock_abi,
                                               "closed": confinement.closed_descriptors,
                                               "private": confinement.private_dirs,
                                               "notes": confinement.notes}})))
    while True:
        try:
            raw = connection.recv_bytes()
        except (EOFError, OSError):
            break
        if raw == b"bye":
            break
        reply = host.handle(raw)
        tampered = instrument_fingerprint.changed(harness)
        if not instrument_fingerprint.is_baseline(harness):
            tampered = tampered or ["grader.harness.instrument_fingerprint._BASELINE"]
        if not tampered and host.last_op == "import":
            tampered = instrument_fingerprint.changed(everything)
        if tampered:
            reply = encode_reply({"error": {"type": "interference", "mro": [], "message": "",
                                            "frames": [], "interference": tampered}})
        connection.send_bytes(frame(host.last_number, reply))
    for value in list(host.objects.values()):
        close = getattr(value, "close", None)
        if type(value).__name__ == "Harness" and close is not None:
            close(False)
    host.objects.clear()
    gc.collect()  # finalizes every lock's named semaphore before the process ends
    os._exit(0)


__all__ = ["Ref", "serve", "RequestServer", "HOST_STACK_FILE"]


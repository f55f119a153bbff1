"""A stand-in for `multiprocessing.Lock` whose lock lives in the run's referee.

`acquire()` asks the referee and waits for its answer; `release()` tells it. The referee keeps
who holds the lock, journals the wait, the acquire and the release under the caller's verified
process id, and refuses at once a second acquire by the holder or a release by a process that
does not hold it: this stand-in then stops its process with the student's line. The site sent
along is used only for messages.
"""

from __future__ import annotations

from multiprocessing import context
from types import TracebackType
from typing import Any

from grader.feedback import Site
from grader.harness.findings import FOREIGN_RELEASE, SELF_DEADLOCK, Finding, HarnessStop
from grader.harness.runtime import RunConfig, caller_site, in_child, site_from_json, site_to_json
from grader.referee.client import ask

_STOPS = {"self_deadlock": SELF_DEADLOCK, "foreign_release": FOREIGN_RELEASE}


class TrackedLock:
    """`acquire(block=True, timeout=None)`, `release()` and `with`, like `multiprocessing.Lock`."""

    _reentrant = False

    def __init__(self, config: RunConfig, name: str, uid: str | None = None) -> None:
        self._config = config
        self.name = name
        self.uid = str(ask(config.referee, "lock", name=name, reentrant=self._reentrant, uid=uid)["uid"])

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    def __getstate__(self) -> dict[str, Any]:
        # As a real lock: passed to a child process when it is created, not through a queue.
        context.assert_spawning(self)
        return self.__dict__

    def acquire(self, block: bool = True, timeout: float | None = None) -> bool:
        return self._acquire(block, timeout, caller_site(self._config))

    def _acquire(self, block: bool, timeout: float | None, site: Site | None) -> bool:
        reply = ask(self._config.referee, "acquire", uid=self.uid, block=bool(block),
                    timeout=None if timeout is None else float(timeout), site=site_to_json(site))
        self._stop_if_told(reply)
        return bool(reply.get("ok"))

    def release(self) -> None:
        self._release(caller_site(self._config))

    def _release(self, site: Site | None) -> None:
        self._stop_if_told(ask(self._config.referee, "release", uid=self.uid, site=site_to_json(site)))

    def _stop_if_told(self, reply: dict[str, Any]) -> None:
        """The referee refused a bug that must not go on (it would hang or hide): stop here."""
        concept = _STOPS.get(reply.get("stop"))  # type: ignore[arg-type]
        if concept is None:
            return
        finding = Finding(concept, str(reply.get("message", "")), site_from_json(reply.get("site")))  # type: ignore[arg-type]
        if in_child(self._config):
            raise HarnessStop(finding.message)
        raise finding.failure()

    def __enter__(self) -> bool:
        return self._acquire(True, None, caller_site(self._config))

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._release(caller_site(self._config))


class TrackedRLock(TrackedLock):
    """`multiprocessing.RLock`: the process holding it may take it again, and gives it up at its
    last release. The referee counts the holds; only the outermost are journaled."""

    _reentrant = True

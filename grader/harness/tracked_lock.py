"""A drop-in for `multiprocessing.Lock` that records who holds it and where.

Every acquire is journaled before it blocks ("wait") and after it succeeds ("acquire");
every release is journaled before the real release. That ordering makes the parent's
picture of the locks conservative: if the journal shows a cycle of waiting processes, it
is a real deadlock.
"""

from __future__ import annotations

import time
import uuid
from multiprocessing.context import BaseContext
from types import TracebackType

from grader.feedback import Site
from grader.harness.findings import FOREIGN_RELEASE, SELF_DEADLOCK, Finding, HarnessStop
from grader.harness.runtime import (
    Held,
    RunConfig,
    caller_site,
    emit,
    in_child,
    process_state,
    site_to_json,
)


class TrackedLock:
    """`acquire(block=True, timeout=None)`, `release()` and `with`, like `multiprocessing.Lock`."""

    def __init__(self, ctx: BaseContext, config: RunConfig, name: str) -> None:
        self._lock = ctx.Lock()
        self._config = config
        self.uid = uuid.uuid4().hex[:12]
        self.name = name
        emit(config, "lock", lock=self.uid, name=name)

    def __repr__(self) -> str:
        return f"<TrackedLock {self.name}>"

    def acquire(self, block: bool = True, timeout: float | None = None) -> bool:
        return self._acquire(block, timeout, caller_site(self._config))

    def _acquire(self, block: bool, timeout: float | None, site: Site | None) -> bool:
        state = process_state()
        mine = next((held for held in state.held if held.uid == self.uid), None)
        if mine is not None and block and timeout is None:
            self._stop(self_deadlock_finding(self.name, mine.site, site), "self_deadlock")
        emit(
            self._config,
            "wait",
            lock=self.uid,
            name=self.name,
            site=site_to_json(site),
            held=[[h.uid, h.name, site_to_json(h.site)] for h in state.held],
        )
        got = self._lock.acquire(block, timeout) if timeout is not None else self._lock.acquire(block)
        if not got:
            emit(self._config, "gave_up", lock=self.uid)
            return False
        if not state.held:
            state.holds_started += 1
        state.held.append(Held(self.uid, self.name, site, state.holds_started))
        emit(self._config, "acquire", lock=self.uid, name=self.name, site=site_to_json(site))
        return True

    def release(self) -> None:
        self._release(caller_site(self._config))

    def _release(self, site: Site | None) -> None:
        state = process_state()
        index = next((i for i in range(len(state.held) - 1, -1, -1) if state.held[i].uid == self.uid), None)
        if index is None:
            self._stop(foreign_release_finding(self.name, site), "foreign_release")
        del state.held[index]
        emit(self._config, "release", lock=self.uid, name=self.name, site=site_to_json(site))
        pause = self._config.pauses.after_release
        self._lock.release()
        if pause and in_child(self._config):
            time.sleep(pause)

    def _stop(self, finding: Finding, kind: str) -> None:
        """Record a bug that must not go on (it would hang or hide), then stop this process."""
        emit(
            self._config,
            kind,
            lock=self.uid,
            name=self.name,
            message=finding.message,
            site=site_to_json(finding.site),
        )
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
    last release. Only the outermost acquire and release are journaled: the inner ones never wait."""

    def _acquire(self, block: bool, timeout: float | None, site: Site | None) -> bool:
        state = process_state()
        mine = next((held for held in state.held if held.uid == self.uid), None)
        if mine is None:
            return super()._acquire(block, timeout, site)
        state.held.append(Held(self.uid, self.name, site, mine.hold))
        return True

    def _release(self, site: Site | None) -> None:
        state = process_state()
        mine = [i for i, held in enumerate(state.held) if held.uid == self.uid]
        if len(mine) > 1:
            del state.held[mine[-1]]
            return
        super()._release(site)


def self_deadlock_finding(name: str, first: Site | None, second: Site | None) -> Finding:
    return Finding(
        SELF_DEADLOCK,
        f"This process asked for {name} at {second} while it was still holding it from {first}. "
        "A Lock has no idea who holds it: the second acquire() would wait forever for a release "
        "that only this same, now waiting, process could do. Make sure every acquire() is "
        "matched by a release() before the next acquire().",
        second,
    )


def foreign_release_finding(name: str, site: Site | None) -> Finding:
    return Finding(
        FOREIGN_RELEASE,
        f"{name} was released at {site} by a process that was not holding it. Only the process "
        "that acquired a lock should release it; otherwise another process's critical section "
        "is opened up while it is still inside it.",
        site,
    )

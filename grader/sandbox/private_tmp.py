"""A student host's own /dev/shm and /tmp (Linux, as root): nothing shared with other gradings.

multiprocessing's named semaphores (spawn, forkserver) are files in /dev/shm, and /tmp holds
every grading's sandbox. Shared, they let one submission take another's locks or read its
files, and what a host leaves there outlives it. Here the host enters a mount namespace of its
own with a fresh, size-capped tmpfs on each: its semaphores and files are invisible to every
other grading and vanish with its last process. Directories the host must still reach (its
sandbox, the code it runs) are bound back in at their usual paths.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Iterable

PRIVATE_DIRS = ("/dev/shm", "/tmp")
TMPFS_SIZE = 64 * 1024 * 1024  # bytes per private tmpfs
TMPFS_FILES = 4096  # files (inodes) per private tmpfs
_CLONE_NEWNS = 0x00020000
_MS_NOSUID, _MS_NODEV, _MS_BIND, _MS_REC, _MS_PRIVATE = 0x2, 0x4, 0x1000, 0x4000, 0x40000
_MNT_DETACH = 0x2


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        number = ctypes.get_errno()
        raise OSError(number, f"{what}: {os.strerror(number)}")


def _bytes(text: str | None) -> bytes | None:
    return None if text is None else os.fsencode(text)


def _mount(source: str | None, target: str, kind: str | None, flags: int, options: str | None) -> None:
    _check(_libc().mount(_bytes(source), _bytes(target), _bytes(kind), ctypes.c_ulong(flags), _bytes(options)),
           f"mount {target}")


def _under(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def supported() -> bool:
    """Whether this process could give a host a private /dev/shm and /tmp (tried in a child)."""
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        return False
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child only reports success through its exit code
        try:
            _check(_libc().unshare(_CLONE_NEWNS), "unshare")
            _mount(None, "/", None, _MS_REC | _MS_PRIVATE, None)
            _mount("tmpfs", "/dev/shm", "tmpfs", _MS_NOSUID | _MS_NODEV, "size=1m,mode=1777")
            os._exit(0)
        except BaseException:  # noqa: BLE001 - any failure means "not here"
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def concurrency_warning(jobs: int) -> str | None:
    """What `grader batch --jobs N` must say where concurrent gradings would share /dev/shm."""
    if jobs <= 1 or supported():
        return None
    return (f"grader batch: warning: --jobs {jobs} grades students at once in a shared /dev/shm and "
            "/tmp (a private mount per student needs Linux and a root grader): one submission can "
            "take another's locks or read its files. Use --jobs 1 here, or see docs/threat-model.md.")


def isolate(keep: Iterable[str]) -> list[str]:
    """Enter a private mount namespace with a fresh tmpfs on /dev/shm and /tmp; `keep` (paths the
    host needs, possibly beneath them) stay reachable where they were. Returns the directories
    made private. Raises OSError where the platform refuses (not root, no namespaces)."""
    if not sys.platform.startswith("linux"):
        raise OSError("private /dev/shm and /tmp need Linux mount namespaces")
    targets = [os.path.realpath(d) for d in PRIVATE_DIRS if os.path.isdir(d)]
    wanted = sorted({os.path.realpath(p) for p in keep if p and os.path.exists(p)})
    kept: list[str] = []
    for path in wanted:  # the outermost of nested paths is enough; never a whole private dir
        if any(_under(path, t) and path != t for t in targets) and not any(_under(path, k) for k in kept):
            kept.append(path)
    folders = {path for path in kept if os.path.isdir(path)}
    _check(_libc().unshare(_CLONE_NEWNS), "unshare")
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE, None)  # nothing mounted here shows outside
    # Opened inside the new namespace (a bind mount's source must be in the caller's): the
    # originals, still reachable through these once the tmpfs hides them.
    handles = {path: os.open(path, os.O_PATH) for path in kept}
    mounted: list[str] = []
    try:
        for target in targets:
            _mount("tmpfs", target, "tmpfs", _MS_NOSUID | _MS_NODEV,
                   f"size={TMPFS_SIZE},nr_inodes={TMPFS_FILES},mode=1777")
            mounted.append(target)
        for path, handle in handles.items():
            if path in folders:
                os.makedirs(path, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
            _mount(f"/proc/self/fd/{handle}", path, None, _MS_BIND | _MS_REC, None)
    except OSError:
        for target in reversed(mounted):  # back to the machine's view: shared, but complete
            _libc().umount2(os.fsencode(target), _MNT_DETACH)
        raise
    finally:
        for handle in handles.values():
            os.close(handle)
    return targets

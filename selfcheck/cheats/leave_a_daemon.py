# exercise: locked_increment
# Leave a process behind: double fork into a new session, write its pid where the self-check
# looks (CHEAT_PID_FILE; where /dev/shm is the host's own, the self-check cannot see it, so the
# daemon also takes the name CHEAT_TAG), then wait to write forged results once grading is over.
import ctypes
import os
import time

_marker = os.environ.get("CHEAT_PID_FILE", "/dev/shm/cheat-daemon.pid")
_tag = os.environ.get("CHEAT_TAG", "")
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        try:
            if _tag:
                ctypes.CDLL(None).prctl(15, _tag.encode()[:15], 0, 0, 0)  # PR_SET_NAME
        except (OSError, AttributeError):
            pass
        try:
            with open(_marker, "w") as _out:
                _out.write(str(os.getpid()))
        except OSError:
            pass
        time.sleep(120)
        os._exit(0)
    os._exit(0)
time.sleep(0.2)

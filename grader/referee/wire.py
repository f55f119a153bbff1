"""How student processes reach the referee, and how the referee knows who is asking.

On Linux every process (and thread) has its own `SOCK_SEQPACKET` connection to the referee's
listening socket, and every message carries the credentials the kernel attaches to it
(`SO_PASSCRED`): the process id the referee records is the sender's, whoever opened the
connection or passed it on. A process can only claim its own id (claiming another needs
`CAP_SYS_ADMIN`, which no student process has). Elsewhere (macOS, Windows) the connection is a
`multiprocessing.connection` one and the first message names the process: the referee then
trusts that claim, which docs/threat-model.md states.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import sys
from typing import Any

# The C types a shared value or array may have: the referee holds these and no others. Here, in
# the protocol, because every student process checks them too, and must not load the referee's
# server (nor its imports) to do so.
TYPECODES = {"c": "c_char", "u": "c_wchar", "b": "c_byte", "B": "c_ubyte", "h": "c_short", "H": "c_ushort",
             "i": "c_int", "I": "c_uint", "l": "c_long", "L": "c_ulong", "q": "c_longlong",
             "Q": "c_ulonglong", "f": "c_float", "d": "c_double"}
C_TYPES = frozenset({*TYPECODES.values(), "c_bool", "c_int8", "c_int16", "c_int32", "c_int64", "c_uint8",
                     "c_uint16", "c_uint32", "c_uint64", "c_longdouble", "c_size_t", "c_ssize_t"})


def value_to_wire(value: Any) -> Any:
    """A shared value's element as JSON carries it: bytes (a `c_char`) as {"b": latin-1 text}."""
    return {"b": value.decode("latin-1")} if isinstance(value, bytes) else value


def value_from_wire(value: Any) -> Any:
    """The inverse of value_to_wire; anything else is returned as it came."""
    if isinstance(value, dict) and set(value) == {"b"} and isinstance(value["b"], str):
        return value["b"].encode("latin-1", "replace")
    return value

MAX_MESSAGE = 64 * 1024  # bytes: an operation is small; anything larger is refused
VERIFIED = sys.platform.startswith("linux") and hasattr(socket, "SO_PASSCRED")
_UCRED = struct.Struct("3i")


class WireError(Exception):
    """A message that is not one: too large, not JSON, not an object, or with no sender."""


def encode(message: dict[str, Any]) -> bytes:
    data = json.dumps(message, separators=(",", ":")).encode()
    if len(data) > MAX_MESSAGE:
        raise WireError(f"a message of {len(data)} bytes (at most {MAX_MESSAGE})")
    return data


def decode(data: bytes) -> dict[str, Any]:
    try:
        message = json.loads(data)
    except (ValueError, RecursionError) as error:
        raise WireError(f"not JSON: {error}") from None
    if not isinstance(message, dict):
        raise WireError("not a JSON object")
    return message


class Listener:
    """The referee's end: accepts connections; `receive(conn)` gives (pid, message) or None at EOF."""

    def __init__(self, directory: str) -> None:
        self.address = os.path.join(directory, "referee.sock")
        if VERIFIED:
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
            self._socket.bind(self.address)
            self._socket.listen(128)
            os.chmod(self.address, 0o777)  # a host that dropped to `nobody` must reach it
            self._listener = None
        else:
            from multiprocessing.connection import Listener as PortableListener

            family = "AF_PIPE" if sys.platform == "win32" else "AF_UNIX"
            if family == "AF_PIPE":
                self.address = rf"\\.\pipe\mp-referee-{os.getpid()}-{os.urandom(6).hex()}"
            self._listener = PortableListener(self.address, family=family, backlog=128)

    def accept(self) -> Any:
        if self._listener is not None:
            return _PortableEnd(self._listener.accept())
        conn, _ = self._socket.accept()
        return _VerifiedEnd(conn)

    def close(self) -> None:
        (self._listener or self._socket).close()


class _VerifiedEnd:
    """One accepted connection on Linux: each message with the sender's kernel credentials."""

    def __init__(self, conn: socket.socket) -> None:
        self._conn = conn

    def receive(self) -> tuple[int, bytes] | None:
        data, ancillary, flags, _ = self._conn.recvmsg(MAX_MESSAGE + 1, socket.CMSG_SPACE(_UCRED.size))
        if not data and not ancillary:
            return None
        pid = next((_UCRED.unpack(payload[:_UCRED.size])[0] for level, kind, payload in ancillary
                    if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS), None)
        if pid is None or flags & socket.MSG_TRUNC or len(data) > MAX_MESSAGE:
            return (-1, b"")  # no credentials, or too long: refused
        return pid, data

    def send(self, data: bytes) -> bool:
        try:
            self._conn.send(data, socket.MSG_DONTWAIT)  # a client that never reads cannot stall the referee
            return True
        except OSError:
            return False

    def close(self) -> None:
        try:  # shut down first: a reader thread blocked on it wakes, and the peer sees the end
            self._conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self._conn.close()
        except OSError:
            pass


class _PortableEnd:
    """One accepted `multiprocessing.connection`: the sender is the pid its first message claims."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self._pid: int | None = None

    def receive(self) -> tuple[int, bytes] | None:
        try:
            data = self._conn.recv_bytes(MAX_MESSAGE + 1)
        except (EOFError, OSError):
            return None
        if self._pid is None:
            try:
                self._pid = int(decode(data).get("pid", -1))
            except (WireError, TypeError, ValueError):
                self._pid = -1
        return self._pid, data

    def send(self, data: bytes) -> bool:
        try:
            self._conn.send_bytes(data)
            return True
        except (OSError, ValueError):
            return False

    def close(self) -> None:
        self._conn.close()


class Connection:
    """A student process's end: send one message, wait for its answer."""

    def __init__(self, address: str) -> None:
        self.pid = os.getpid()
        if VERIFIED:
            self._socket: Any = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            self._socket.connect(address)
            self._portable = None
        else:
            from multiprocessing.connection import Client

            self._socket = None
            self._portable = Client(address, family="AF_PIPE" if sys.platform == "win32" else "AF_UNIX")

    def ask(self, message: dict[str, Any]) -> dict[str, Any]:
        if self._portable is not None:
            self._portable.send_bytes(encode({**message, "pid": self.pid}))
            reply = self._portable.recv_bytes(MAX_MESSAGE + 1)
        else:
            self._socket.sendall(encode(message))
            reply = self._socket.recv(MAX_MESSAGE + 1)
        if not reply:
            raise ConnectionError("the referee has gone")
        return decode(reply)

    def close(self) -> None:
        try:
            (self._portable or self._socket).close()
        except OSError:
            pass

"""What travels between the judge and a student host, and in which direction it is trusted.

Judge -> host: pickled requests. The judge is trusted, so the host may unpickle them.
Host -> judge: JSON only, never pickle, of bounded size. The host runs student code, so its
replies are untrusted data: plain values come back as values, anything else (a lock, a
process, a function) as a reference the judge can only pass back or ask about.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

MAX_REPLY = 4 * 1024 * 1024  # bytes: a reply above this is refused, not read
MAX_DEPTH = 20
MAX_ITEMS = 100_000


@dataclass(frozen=True)
class Ref:
    """An object living in the host, named by its number in the host's table."""

    id: int


@dataclass(frozen=True)
class StudentAttr:
    """`module.name` of a student module, resolved in the host (a picklable function stand-in)."""

    module: str
    name: str


class _TooBig(Exception):
    pass


def encode_value(value: Any, keep: Any, depth: int = 0, budget: list[int] | None = None) -> Any:
    """Host side: plain data as tagged JSON; everything else stored with `keep` as a reference.

    Only exact built-in types count as plain (a subclass of int may lie about equality).
    """
    budget = budget if budget is not None else [MAX_ITEMS]
    budget[0] -= 1
    if budget[0] < 0 or depth > MAX_DEPTH:
        raise _TooBig
    kind = type(value)
    if value is None or kind in (bool, str):
        return value
    if kind is int:
        return value if abs(value) < 2**63 else {"int": str(value)}
    if kind is float:
        return value if math.isfinite(value) else {"float": repr(value)}
    if kind in (list, tuple):
        items = [encode_value(item, keep, depth + 1, budget) for item in value]
        return {"list" if kind is list else "tuple": items}
    if kind is dict:
        return {"dict": [[encode_value(k, keep, depth + 1, budget), encode_value(v, keep, depth + 1, budget)]
                         for k, v in value.items()]}
    return {"ref": keep(value), "type": kind.__name__[:80], "repr": _safe_repr(value),
            "callable": callable(value)}


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)[:200]
    except Exception:  # noqa: BLE001 - a student's __repr__ may raise anything
        return f"<{type(value).__name__}>"


def encode_reply(payload: dict[str, Any]) -> bytes:
    try:
        data = json.dumps(payload, ensure_ascii=True).encode()
    except (_TooBig, ValueError, TypeError, RecursionError):
        data = json.dumps({"error": {"type": "ValueError", "mro": ["ValueError"],
                                     "message": "the value is too large to return", "frames": []}}).encode()
    if len(data) > MAX_REPLY:
        data = json.dumps({"error": {"type": "ValueError", "mro": ["ValueError"],
                                     "message": "the value is too large to return", "frames": []}}).encode()
    return data


def reply_value(value: Any, keep: Any) -> bytes:
    try:
        return encode_reply({"value": encode_value(value, keep)})
    except (_TooBig, RecursionError):
        return encode_reply({"error": {"type": "ValueError", "mro": ["ValueError"],
                                       "message": "the value is too large to return", "frames": []}})


class ProtocolError(Exception):
    """The host's reply is not what the protocol allows (student code wrote on the channel?)."""


def decode_value(data: Any, make_ref: Any, depth: int = 0) -> Any:
    """Judge side: tagged JSON back to plain values and references; anything else is refused."""
    if depth > MAX_DEPTH + 2:
        raise ProtocolError("reply nested too deeply")
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, dict) and len(data) == 1:
        ((tag, inner),) = data.items()
        if tag == "list" and isinstance(inner, list):
            return [decode_value(item, make_ref, depth + 1) for item in inner]
        if tag == "tuple" and isinstance(inner, list):
            return tuple(decode_value(item, make_ref, depth + 1) for item in inner)
        if tag == "dict" and isinstance(inner, list):
            result = {}
            for pair in inner:
                if not (isinstance(pair, list) and len(pair) == 2):
                    raise ProtocolError("bad dict item")
                key = decode_value(pair[0], make_ref, depth + 1)
                try:
                    result[key] = decode_value(pair[1], make_ref, depth + 1)
                except TypeError as error:  # an unhashable key: a reference, say
                    raise ProtocolError("bad dict key") from error
            return result
        if tag == "int" and isinstance(inner, str) and inner.lstrip("-").isdigit():
            return int(inner)
        if tag == "float" and inner in ("inf", "-inf", "nan"):
            return float(inner)
    if isinstance(data, dict) and set(data) == {"ref", "type", "repr", "callable"}:
        if not isinstance(data["ref"], int):
            raise ProtocolError("bad reference")
        return make_ref(data["ref"], str(data["type"]), str(data["repr"]), bool(data["callable"]))
    raise ProtocolError("unexpected value in reply")


def frame(number: int, body: bytes) -> bytes:
    """A request, or its reply, headed by the request's number.

    The number lets the judge drop a reply to an earlier request whose wait was cut short (a
    pytest-timeout stop, say) instead of taking it as the answer to the next one.
    """
    return b"%d\n" % number + body


def unframe(raw: bytes) -> tuple[int, bytes]:
    """(request number, body) of a framed message."""
    head, newline, body = raw.partition(b"\n")
    if not newline or not head.isdigit() or len(head) > 20:
        raise ProtocolError("the message names no request")
    return int(head), body


def parse_reply(raw: bytes) -> dict[str, Any]:
    """A reply is a JSON object with exactly one of "value", "error" or "ok"."""
    try:
        reply = json.loads(raw)
    except (ValueError, RecursionError) as error:
        raise ProtocolError("the reply is not JSON") from error
    if not isinstance(reply, dict) or len(reply) != 1 or next(iter(reply)) not in ("value", "error", "ok"):
        raise ProtocolError("the reply has the wrong shape")
    return reply

"""The protocol and the tamper check, each proven on what it must refuse and what it must accept."""

from __future__ import annotations

import json
import os

import pytest

from grader.harness import instrument_fingerprint as integrity
from grader.sandbox.wire import (
    MAX_REPLY,
    ProtocolError,
    decode_value,
    encode_reply,
    frame,
    parse_reply,
    reply_value,
    unframe,
)


def _roundtrip(value):
    kept = []
    encoded = json.loads(reply_value(value, lambda obj: kept.append(obj) or len(kept)))["value"]
    return decode_value(encoded, lambda n, t, r, c: ("ref", n, t)), kept


def test_plain_values_come_back_as_values() -> None:
    value = {"a": [1, (2, 3.5), None, True, "x"], 7: 2**70, "inf": float("inf")}
    decoded, kept = _roundtrip(value)
    assert decoded == value and not kept
    assert type(decoded["a"][1]) is tuple and decoded["a"][4] == "x"


def test_objects_and_lying_subclasses_stay_in_the_host() -> None:
    class Always(int):
        def __eq__(self, other):
            return True

    decoded, kept = _roundtrip([Always(3), object()])
    assert [d[0] for d in decoded] == ["ref", "ref"] and decoded[0][2] == "Always"
    assert decoded[0] != 3 and len(kept) == 2


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b'{"value": 1, "ok": 2}', b'{"pickle": "x"}'])
def test_replies_of_the_wrong_shape_are_refused(raw: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_reply(raw)


@pytest.mark.parametrize("value", [{"ref": "1", "type": "x", "repr": "", "callable": False},
                                   {"set": [1]}, {"dict": [[[1], 2]]}, {"int": "12a"}, {"float": "1e5"}])
def test_values_the_protocol_does_not_know_are_refused(value) -> None:
    with pytest.raises(ProtocolError):
        decode_value(value, lambda *a: a)


def test_a_message_carries_its_requests_number() -> None:
    assert unframe(frame(12, b'{"value": 1}\n')) == (12, b'{"value": 1}\n')


@pytest.mark.parametrize("raw", [b'{"value": 1}', b"-1\n{}", b"1x\n{}", b"9" * 21 + b"\n{}"])
def test_a_message_without_a_request_number_is_refused(raw: bytes) -> None:
    with pytest.raises(ProtocolError):
        unframe(raw)


def test_a_reply_too_large_becomes_an_error_not_a_flood() -> None:
    reply = json.loads(encode_reply({"value": "x" * (MAX_REPLY + 10)}))
    assert "error" in reply and "too large" in reply["error"]["message"]


def _victim() -> int:
    return 1


def test_the_fingerprint_notices_a_replaced_function_even_at_the_same_address() -> None:
    before = integrity.fingerprint()
    assert integrity.changed(before) == []
    original = os.write
    os.write = lambda fd, data: len(data)  # what a cheat does to silence the journal
    try:
        assert "os.write" in integrity.changed(before)
    finally:
        os.write = original
    assert integrity.changed(before) == []


def test_the_fingerprint_notices_a_replaced_method_of_the_harness() -> None:
    from grader.harness import guarded

    before = integrity.fingerprint()
    original = guarded._Guarded.__dict__["_read"]
    guarded._Guarded._read = lambda self, indices: [0]
    try:
        assert any("_Guarded._read" in change for change in integrity.changed(before))
    finally:
        guarded._Guarded._read = original
    assert integrity.changed(before) == []


def _probe_module():
    """A stand-in harness module (its name is under `grader.`, so it is watched) with a closure,
    keyword defaults, a property and a cached function: every kind of in-place edit has a target."""
    import functools
    import types

    module = types.ModuleType("grader._fingerprint_probe")
    pause = 0.002

    def widened(seconds=0.002, *, twice=False):
        return pause

    class Instrument:
        @property
        def value(self):
            return 1

        @staticmethod
        def helper():
            return 2

    def pause_for(seconds):
        return seconds

    module.widened, module.pause_for, module.Instrument = widened, pause_for, Instrument
    module.cached = functools.lru_cache(maxsize=4)(lambda path: path)
    Instrument.__module__ = module.__name__
    return module


IN_PLACE_EDITS = {
    "code": (lambda m: setattr(m.pause_for, "__code__", (lambda seconds: 0).__code__), "pause_for"),
    "defaults": (lambda m: setattr(m.widened, "__defaults__", (0.0,)), "widened"),
    "keyword defaults": (lambda m: m.widened.__kwdefaults__.update(twice=True), "widened"),
    "closure": (lambda m: setattr(m.widened.__closure__[0], "cell_contents", 0.0), "widened"),
    "property": (lambda m: setattr(m.Instrument.value.fget, "__code__", (lambda self: 0).__code__), "value.fget"),
    "static method": (lambda m: setattr(m.Instrument.helper, "__code__", (lambda: 0).__code__), "helper"),
    "cached function": (lambda m: setattr(m.cached.__wrapped__, "__code__", (lambda path: "x").__code__), "cached"),
}


@pytest.mark.parametrize("edit", IN_PLACE_EDITS, ids=list(IN_PLACE_EDITS))
def test_the_fingerprint_notices_in_place_edits_of_a_function(edit: str) -> None:
    import sys

    module = _probe_module()
    sys.modules[module.__name__] = module
    try:
        before = integrity.fingerprint()
        assert integrity.changed(before) == []
        change, label = IN_PLACE_EDITS[edit]
        change(module)
        assert any(label in name for name in integrity.changed(before)), integrity.changed(before)
        assert integrity.changed(integrity.fingerprint()) == []  # the edited state is a new baseline
    finally:
        del sys.modules[module.__name__]

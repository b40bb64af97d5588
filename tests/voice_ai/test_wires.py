"""Every registered Wire takes malformed input from either side without raising: a vendor or a client of `agent
serve` sending garbage must not break the connector."""

from __future__ import annotations

import json

import numpy as np
import pytest

from voxsim.voice_ai.wires import WIRES

GARBAGE: list[str | bytes] = [
    "", "not json", "[]", "null", "42", '{"type": 5}', '{"type": ""}', b"\x00\x01\x02", b"{\"type\": \"x\"}",
    json.dumps({"type": "audio", "audio_event": "x"}), json.dumps({"type": "ping", "ping_event": []}),
    json.dumps({"serverContent": {"modelTurn": {"parts": {"inlineData": 1}}}}),
    json.dumps({"serverContent": {"modelTurn": {"parts": [{"inlineData": {"mimeType": "audio/pcm", "data": "!"}}]}}}),
    json.dumps({"realtimeInput": {"audio": {"data": 3}, "mediaChunks": "abc"}}),
    json.dumps({"setup": "x"}), json.dumps({"user_audio_chunk": None}),
    json.dumps({"type": "input_audio_buffer.append", "audio": "%%%"}),
]


@pytest.mark.parametrize("vendor", sorted(WIRES))
def test_malformed_messages_are_dropped_not_raised(vendor: str):
    wire = WIRES[vendor]({"agentId": 5, "authorizations": "x", "connectConfig": "y", "model": None})
    wire.connect("ws://127.0.0.1:1/x")
    wire.opening()
    wire.reported("ws://127.0.0.1:1/x")
    for message in GARBAGE:
        wire.server_message(message)
        wire.client_message(message)
        wire.serve_setup(message)
    for payload in (None, "text", [], {"type": 3}):
        wire.client_frame("SomethingUnknown", payload)
    wire.serve_frame(("SomethingUnknown", {}))
    assert wire.caller_audio(np.zeros(160, dtype=np.int16))
    assert wire.serve_audio(np.zeros(160, dtype=np.int16))

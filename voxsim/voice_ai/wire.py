"""A vendor's real wire protocol, both ways: what passthrough speaks to a real (or the user's mock) endpoint in the
scenario's place, and what `voxsim agent serve` speaks as the vendor to a client of its own.

The connector's frames are `(customEvent, payload)` (`dialect.Frame`); a wire message is a text or a binary
WebSocket message. Audio crosses as PCM16 at the vendor's rates (`input_rate` from the caller, `output_rate`
from the agent).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from voxsim.media.graph import Frame as Pcm
from voxsim.voice_ai.dialect import Frame

__all__ = ["Message", "Wire", "b64_pcm", "json_object", "pcm_b64", "snake", "typed_message"]

Message = str | bytes


def snake(name: str) -> str:
    """A connector frame's name as a vendor's snake_case message type: `ClientToolResult` -> `client_tool_result`."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def typed_message(name: str, payload: Any) -> str:
    """A scenario's frame as a vendor's JSON message with a `type`: the payload's own, else the frame's name in
    snake_case (`ClientToolResult` -> `client_tool_result`)."""
    body = dict(payload) if isinstance(payload, dict) else {}
    given = body.get("type")
    body["type"] = given if isinstance(given, str) and given else snake(name)
    return json.dumps(body)


def json_object(message: Message) -> dict[str, Any] | None:
    """A message's JSON object (in a text or a binary message), else None."""
    try:
        value = json.loads(message)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def pcm_b64(pcm: Pcm) -> str:
    """PCM16 as the base64 of its little-endian bytes."""
    return base64.b64encode(np.asarray(pcm, dtype="<i2").tobytes()).decode("ascii")


def b64_pcm(data: object) -> Pcm | None:
    """base64 little-endian PCM16 (an odd last byte dropped), else None."""
    if not isinstance(data, str):
        return None
    try:
        raw = base64.b64decode(data)
    except (binascii.Error, ValueError):
        return None
    return np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2").astype(np.int16)


class Wire:
    """One vendor's wire protocol. Subclasses override what they speak."""

    vendor = ""
    input_rate = 16000
    output_rate = 16000

    setup_first = False  # agent serve: the client's first message configures the session (Gemini's `setup`)

    def __init__(self, parameters: Mapping[str, Any]) -> None:
        self.parameters = dict(parameters)

    # ------------------------------------------------------------ passthrough: voxsim as the client

    def connect(self, endpoint: str) -> tuple[str, dict[str, str]]:
        """The URL and headers to open the vendor's socket with, from the configured endpoint."""
        return endpoint, {}

    def reported(self, url: str) -> list[Frame]:
        """What the platform's connector reports itself once the vendor's socket at `url` is open, before the
        vendor's messages (the HTTP response of the request that gave it the socket's URL)."""
        return []

    def opening(self) -> list[Message]:
        """What the client sends first, before any of the scenario's frames."""
        return []

    def client_frame(self, name: str, payload: Any) -> list[Message]:
        """A scenario's frame (its method) as the vendor's client message(s)."""
        return []

    def caller_audio(self, pcm: Pcm) -> list[Message]:
        """The call's audio (at `input_rate`) as the vendor's client message(s)."""
        return []

    def server_message(self, message: Message) -> tuple[list[Frame], Pcm | None, list[Message]]:
        """A vendor message: the frames the scenario sees, the agent's audio in it (at `output_rate`), and any
        answer the protocol wants at once (a pong)."""
        return [], None, []

    # ------------------------------------------------------------ agent serve: voxsim as the vendor

    @classmethod
    def serve_parameters(cls, query: Mapping[str, str], headers: Mapping[str, str]) -> dict[str, Any]:
        """The client parameters (as a scenario's factory takes them) that a vendor client's connection gives:
        its query string, and the credentials in its headers."""
        return dict(query)

    def serve_setup(self, message: Message) -> dict[str, Any]:
        """With `setup_first`: the client parameters the client's first message gives (they update those of
        `serve_parameters` before the dialect is made)."""
        return {}

    def serve_frame(self, frame: Frame) -> list[Message]:
        """A frame the scripted agent made, as the vendor's server message(s)."""
        return []

    def serve_audio(self, pcm: Pcm) -> list[Message]:
        """The agent's audio (at `output_rate`) as the vendor's server message(s)."""
        return []

    def client_message(self, message: Message) -> tuple[Frame | None, Pcm | None]:
        """A vendor client's message: the frame the dialect takes (as if a scenario sent it), or caller audio
        (at `input_rate`)."""
        return None, None

"""What every vendor dialect shares: the frames a connector exchanges with a scenario, ids, and the interface.

A frame is the connector's JSON message `{"customEvent": <Name>, "payload": {...}}`; the scenario's client
turns `<Name>` into its event (`OpenAI.RealtimeAPI.<Name>`, ...). A `Dialect` knows one vendor: which frames
each thing the agent does becomes (saying a line, calling a tool, hearing the caller, an error), and what each
frame the scenario sends means (`ClientInput`). It does no IO; `connector.py` drives it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ClientInput", "Dialect", "Frame", "Ids", "frame_text", "pascal", "words"]

Frame = tuple[str, dict[str, Any]]
"""(customEvent, payload)."""


def pascal(wire_type: str) -> str:
    """A vendor's wire `type` as the connector's event name: `input_audio_buffer.speech_started` ->
    `InputAudioBufferSpeechStarted`."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[._]", wire_type) if part)


def frame_text(frame: Frame) -> str:
    return json.dumps({"customEvent": frame[0], "payload": frame[1]}, separators=(",", ":"))


def words(text: str) -> list[str]:
    """`text` cut into transcript deltas: each word with the space before it."""
    parts = text.split(" ")
    return [parts[0]] + [" " + p for p in parts[1:]] if text else []


class Ids:
    """Deterministic ids: `prefix` + a counter, per connector (the same run gives the same ids)."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}

    def __call__(self, prefix: str) -> str:
        n = self._counts.get(prefix, 0) + 1
        self._counts[prefix] = n
        return f"{prefix}{n:04d}"


@dataclass
class ClientInput:
    """What a frame of the scenario means to the agent. `kind`: "" (nothing for the agent), "text" (user text
    injected), "tool_result", "respond" (a response is asked for), "cancel", "start" (the conversation may start:
    see `Dialect.greets_on`), "say" (the agent is made to say `text`), "hangup" (the agent ends the call, saying
    `text` first when there is one). `replies` go back at once."""

    kind: str = ""
    text: str = ""
    call_id: str = ""
    result: str = ""
    is_error: bool = False
    replies: list[Frame] = field(default_factory=list)
    warning: str = ""  # a mistake the scenario made, for the session log
    end_call: bool = False  # tool_result: the agent ends the call once its turn is done


class Dialect:
    """One vendor (see the module docstring). Subclasses set the class attributes and override the methods."""

    vendor = ""
    label = ""  # for log lines: "OpenAI"
    greets_on = "connect"  # when the greeting is said: "connect", "respond" (a response request), "input", or
    # "start": on the scenario's "start" frame or `start_wait` seconds after connect, after the `started()` frames
    start_wait = 0.5
    explicit_response = False  # injected text and tool results are answered only on a response request
    audio_rate = 16000  # what the connector sends the agent's audio at (PCM16)
    tool_timeout = 20.0

    def __init__(self, parameters: Mapping[str, Any]) -> None:
        self.parameters = dict(parameters)
        self.ids = Ids()

    def hints(self) -> dict[str, str]:
        """model, agent_id, prompt: what scripts are selected by."""
        return {}

    def opened(self) -> list[Frame]:
        """The frames after ConnectorInformation (session created, HTTP response, ...)."""
        return []

    def started(self) -> list[Frame]:
        """The frames that open the conversation when `greets_on` is "start" (before the greeting)."""
        return []

    def client(self, name: str, payload: Any) -> ClientInput:
        """A frame the scenario sent (its `customEvent` name and payload)."""
        return ClientInput()

    def line(self, text: str) -> str:
        """A line of the script as this vendor's agent says it (ElevenLabs fills in its dynamic variables)."""
        return text

    def say(self, text: str, duration_ms: int) -> tuple[list[Frame], list[Frame]]:
        """The agent says `text`: frames before its audio, frames after."""
        return [], []

    def caller_started(self, agent_speaking: bool) -> list[Frame]:
        """The caller started speaking (over the agent when `agent_speaking`: a barge-in)."""
        return []

    def caller_said(self, text: str) -> list[Frame]:
        """The caller finished an utterance."""
        return []

    def new_call_id(self) -> str:
        return self.ids("call_")

    def tool_call(self, call_id: str, name: str, args: Mapping[str, Any]) -> list[Frame]:
        return []

    def error(self, code: str, message: str) -> list[Frame]:
        return []

    def hangup(self) -> list[Frame]:
        """Frames before the connector closes the socket because the agent ended the call."""
        return []

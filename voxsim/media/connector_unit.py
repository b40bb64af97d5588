"""The media unit of a voice-AI client: a WebSocket unit whose connector also knows what the caller says.

A client (`OpenAI.createRealtimeAPIClient`, ...) streams like any VoxEngine WebSocket (`WebSocketUnit`: call
audio to the connector as media messages, the agent's audio back into the call). A scripted agent does not
recognise speech; it hears the caller the way voxsim's ASR does (`AsrUnit`: the exact text a simulated caller
spoke, else voice activity), from the same stream the scenario sends to the client, so an agent hears nothing
the scenario did not send it. What the ear reports goes to `on_caller(name, payload)` (ASREvents names:
`CaptureStarted` when speech starts, `Result` {text} when it ends); the connector sets it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from voxsim.media.asr_unit import AsrUnit
from voxsim.media.websocket_unit import Emit, Send, WebSocketUnit

__all__ = ["CallerEvent", "ConnectorUnit"]

CallerEvent = Callable[[str, dict[str, Any]], None]


class ConnectorUnit(WebSocketUnit):
    """See the module docstring."""

    rank = 2  # like the ASR: after the calls, whose `out` and `ticks` are this tick's

    def __init__(self, send: Send, emit: Emit, *, chunk_ms: int = 20, ended_after_ms: int = 1000) -> None:
        super().__init__(send, emit, chunk_ms=chunk_ms, ended_after_ms=ended_after_ms)
        self.on_caller: CallerEvent | None = None
        self._ear = AsrUnit(self._heard)

    def _heard(self, name: str, payload: dict[str, Any]) -> None:
        if self.on_caller is not None:
            self.on_caller(name, payload)

    @property
    def playing(self) -> bool:
        """The agent's audio is playing, or waits to play."""
        return self.buffered_ms > 0

    def absorb(self) -> None:
        super().absorb()
        self._ear.source = self.source
        self._ear.absorb()

    def close(self) -> None:
        self._ear.stopped = True
        super().close()

"""The connector's side of a client's media stream: the agent's audio as the platform's media messages, and the
call's audio out of the messages the scenario's unit sends (`voxsim.media.websocket_unit` describes the format)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any

import numpy as np

from voxsim.media.decode import resample
from voxsim.media.graph import Frame
from voxsim.media.websocket_unit import MediaFormat, MediaFormatError, StreamResampler, media_format

__all__ = ["AgentAudio", "CallAudioIn"]

CHUNK_MS = 100  # agent audio per media message


class AgentAudio:
    """Sends the agent's audio to the scenario as PCM16 media messages at `rate`, after one `start`."""

    def __init__(self, send: Callable[[str], None], rate: int = 16000) -> None:
        self._send = send
        self.rate = rate
        self._sequence = 0
        self._chunks = 0
        self._samples = 0

    def _message(self, event: str, body: dict[str, Any]) -> None:
        self._send(json.dumps({"event": event, "sequenceNumber": self._sequence, event: body}, separators=(",", ":")))
        self._sequence += 1

    def send(self, pcm: Frame, from_rate: int = 8000) -> None:
        audio = resample(pcm, from_rate, self.rate) if from_rate != self.rate else pcm
        if self._sequence == 0:
            self._message("start", {"mediaFormat": {"encoding": "PCM16", "sampleRate": self.rate, "channels": 1}})
        step = self.rate * CHUNK_MS // 1000
        for start in range(0, len(audio), step):
            chunk = np.asarray(audio[start:start + step], dtype="<i2")
            self._chunks += 1
            self._message("media", {"chunk": self._chunks, "timestamp": self._samples * 1000 // self.rate,
                                    "payload": base64.b64encode(chunk.tobytes()).decode("ascii")})
            self._samples += len(chunk)


class CallAudioIn:
    """The call's audio out of the scenario unit's media messages, resampled to `rate` (the vendor's input)."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._format: MediaFormat = media_format(None)
        self._resampler: StreamResampler | None = None

    def take(self, message: dict[str, Any]) -> Frame | None:
        """The audio of one media message (None for `start`/`stop`, which only set the format)."""
        event = message.get("event")
        body = message.get(event) if isinstance(event, str) else None
        body = body if isinstance(body, dict) else {}
        if event == "start":
            announced = body.get("mediaFormat")
            fmt: dict[str, Any] = announced if isinstance(announced, dict) else {}
            try:
                self._format = media_format(fmt.get("encoding"), fmt.get("sampleRate"))
            except MediaFormatError:
                self._format = media_format(None)
            self._resampler = None
            return None
        if event != "media" or not isinstance(body.get("payload"), str):
            return None
        try:
            data = base64.b64decode(body["payload"])
        except (binascii.Error, ValueError):
            return None
        if self._resampler is None:
            self._resampler = StreamResampler(self._format.rate, self.rate)
        return self._resampler.push(self._format.decode(data))

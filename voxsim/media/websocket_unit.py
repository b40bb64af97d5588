"""A VoxEngine WebSocket as a unit of the media graph: call audio out as the platform's JSON media messages, and the
server's audio in, played 20 ms a tick.

Out (`call.sendMediaTo(ws, {encoding, tag, customParameters})`): each tick `absorb()` takes the frame of the unit's
source (silence where it sent none, so the server's timeline has no holes), and every `chunk_ms` of it goes to the
server as one `media` message, after a `start` that names the format; `stop` ends the stream (voxengine.d.ts
`SendMediaParameters`, voice-ai.md §1.5; the platform's page is voximplant.com/docs/guides/media-streams/format):

    {"event": "start", "sequenceNumber": 0, "start": {"mediaFormat": {"encoding": "PCM8", "sampleRate": 8000,
     "channels": 1}, "tag": ..., "customParameters": {...}}}
    {"event": "media", "sequenceNumber": 1, "media": {"tag": ..., "chunk": 1, "timestamp": 0, "payload": <base64>}}
    {"event": "stop", "sequenceNumber": n, "stop": {"tag": ..., "mediaInfo": {"duration": <s>}}}

`timestamp` is the chunk's start in ms since the stream began; `sequenceNumber` counts the stream's messages
from 0, `chunk` its media messages from 1.

In (`ws.sendMediaTo(call)`): the server answers in the same shape; its `media` payloads (or binary frames) are
decoded with the encoding its `start` announced (else the one voxsim streams in, else PCM8) into a buffer, which
`advance()` plays 20 ms a tick as `out`. `MEDIA_STARTED` fires at the first frame played, `MEDIA_ENDED` once the
buffer has been dry for `ended_after_ms` (the typings' "1 second of silence") with `mediaInfo.duration` in
seconds; `clear()` (clearMediaBuffer) drops what is queued. The socket's reader task only calls `receive_*`;
nothing here owns a task or a timer.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from math import gcd
from typing import Any

import numpy as np

from voxsim.media.decode import resample
from voxsim.media.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode
from voxsim.media.graph import FRAME_SAMPLES, SILENCE, Frame, MediaUnit

__all__ = ["DEFAULT_ENCODING", "ENCODINGS", "MediaFormat", "MediaFormatError", "StreamResampler", "WebSocketUnit",
           "media_format"]

RATE = 8000
DEFAULT_ENCODING = "PCM8"
"""The typings' default (`WebSocketAudioEncoding.PCM8`, = PCM16_8KHZ)."""
ENCODINGS = {"PCM8": 8000, "PCM16": 16000, "ULAW": 8000, "ALAW": 8000}
"""What voxsim streams: `WebSocketAudioEncoding` values (the official strings) -> sample rate."""
_ALIASES = {
    "PCM16_8KHZ": "PCM8", "PCM16_16KHZ": "PCM16", "PCM": "PCM16", "L16": "PCM16", "S16LE": "PCM16",
    "MULAW": "ULAW", "PCMU": "ULAW", "AUDIO/X-MULAW": "ULAW", "G711_ULAW": "ULAW",
    "PCMA": "ALAW", "AUDIO/X-ALAW": "ALAW", "G711_ALAW": "ALAW",
}
MAX_BUFFER_SECONDS = 300
"""The server's audio waiting to play is capped (a server may send faster than real time)."""

Emit = Callable[[str, dict[str, Any]], None]
Send = Callable[[str], None]


class MediaFormatError(ValueError):
    """An encoding voxsim cannot stream (OPUS, or a name it does not know); the message says which."""


@dataclass(frozen=True)
class MediaFormat:
    """PCM16LE (`PCM8`, `PCM16`, any `rate` the server announces) or G.711 (`ULAW`, `ALAW`) at `rate`."""

    encoding: str
    rate: int

    def encode(self, pcm: Frame) -> bytes:
        """8 kHz audio (already resampled to `rate` for PCM) in this format."""
        if self.encoding == "ULAW":
            return ulaw_encode(pcm)
        if self.encoding == "ALAW":
            return alaw_encode(pcm)
        return pcm.astype("<i2").tobytes()

    def decode(self, payload: bytes) -> Frame:
        """`payload` to samples at `rate`."""
        if self.encoding == "ULAW":
            return ulaw_decode(payload)
        if self.encoding == "ALAW":
            return alaw_decode(payload)
        return np.frombuffer(payload[: len(payload) // 2 * 2], dtype="<i2").astype(np.int16)


def media_format(encoding: object, rate: object = None) -> MediaFormat:
    """The format an encoding name stands for: a `WebSocketAudioEncoding` value, or what a server announces
    (`PCM16` with its `sampleRate`, `audio/x-mulaw`...); OPUS and unknown names raise `MediaFormatError`."""
    name = str(encoding or DEFAULT_ENCODING).strip().upper()
    name = _ALIASES.get(name, name)
    if name == "OPUS":
        raise MediaFormatError("WebSocketAudioEncoding.OPUS is not emulated by voxsim (PCM8, PCM16, ULAW, ALAW are)")
    if name not in ENCODINGS:
        raise MediaFormatError(f"unknown WebSocket audio encoding {encoding!r} (voxsim streams PCM8, PCM16, ULAW, "
                               f"ALAW)")
    if name in ("ULAW", "ALAW"):
        return MediaFormat(name, RATE)
    try:
        announced = int(rate) if rate is not None else 0  # type: ignore[call-overload]
    except (TypeError, ValueError):
        announced = 0
    return MediaFormat(name, announced if 8000 <= announced <= 48000 else ENCODINGS[name])


class StreamResampler:
    """Resamples a stream chunk by chunk without clicks at the chunk edges: each chunk is resampled with
    `decode.resample` together with a few ms of the audio around it, and only the middle is kept, so the stream is
    late by `pad` input samples (about 4 ms)."""

    def __init__(self, from_rate: int, to_rate: int, pad_ms: float = 4.0) -> None:
        common = gcd(from_rate, to_rate)
        self.from_rate, self.to_rate = from_rate, to_rate
        self._up, self._down = to_rate // common, from_rate // common
        self.pad = -(-int(from_rate * pad_ms / 1000) // self._down) * self._down
        self._tail = np.zeros(2 * self.pad, dtype=np.int16)

    def push(self, pcm: Frame) -> Frame:
        if self.from_rate == self.to_rate:
            return pcm
        data = np.concatenate([self._tail, pcm.astype(np.int16)])
        end = self.pad + (len(data) - 2 * self.pad) // self._down * self._down
        if end <= self.pad:
            self._tail = data
            return np.zeros(0, dtype=np.int16)
        out = resample(data[: end + self.pad], self.from_rate, self.to_rate)
        self._tail = data[end - self.pad:]
        return out[self.pad * self._up // self._down: end * self._up // self._down]


class _Outbound:
    """One stream voxsim sends the server: its format, counters and the audio not yet sent."""

    def __init__(self, fmt: MediaFormat, params: Mapping[str, Any], chunk_ms: int) -> None:
        self.format = fmt
        self.tag = params.get("tag")
        self.custom = params.get("customParameters")
        self.chunk_samples = max(1, chunk_ms * fmt.rate // 1000)
        self.resampler = StreamResampler(RATE, fmt.rate)
        self.pending = np.zeros(0, dtype=np.int16)
        self.sequence = 0
        self.chunks = 0
        self.sent_samples = 0
        self.started = False

    def message(self, event: str, body: dict[str, Any]) -> str:
        if self.tag is not None:
            body = {"tag": self.tag, **body}
        text = json.dumps({"event": event, "sequenceNumber": self.sequence, event: body}, separators=(",", ":"))
        self.sequence += 1
        return text

    def start(self) -> str:
        self.started = True
        body: dict[str, Any] = {"mediaFormat": {"encoding": self.format.encoding, "sampleRate": self.format.rate,
                                                "channels": 1}}
        if self.custom is not None:
            body["customParameters"] = self.custom
        return self.message("start", body)

    def take(self, frame: Frame) -> list[str]:
        """The `media` messages that `frame` (8 kHz) completes."""
        self.pending = np.concatenate([self.pending, self.resampler.push(frame)])
        out = []
        while len(self.pending) >= self.chunk_samples:
            chunk, self.pending = self.pending[: self.chunk_samples], self.pending[self.chunk_samples:]
            self.chunks += 1
            timestamp = self.sent_samples * 1000 // self.format.rate
            self.sent_samples += len(chunk)
            payload = base64.b64encode(self.format.encode(chunk)).decode("ascii")
            out.append(self.message("media", {"chunk": self.chunks, "timestamp": timestamp, "payload": payload}))
        return out

    def stop(self) -> str:
        return self.message("stop", {"mediaInfo": {"duration": round(self.sent_samples / self.format.rate, 3)}})


class WebSocketUnit(MediaUnit):
    """See the module docstring. `send(text)` queues a message for the server, `emit(name, payload)` reports a
    `WebSocketEvents` event (MEDIA_STARTED, MEDIA_ENDED, ERROR) to the scenario."""

    MEDIA_STARTED = "WebSocket.MediaEventStarted"
    MEDIA_ENDED = "WebSocket.MediaEventEnded"
    ERROR = "WebSocket.Error"

    def __init__(self, send: Send, emit: Emit, *, chunk_ms: int = 20, ended_after_ms: int = 1000) -> None:
        super().__init__()
        self._send = send
        self._emit = emit
        self.chunk_ms = chunk_ms
        self.ended_after_ticks = max(1, ended_after_ms // 20)
        self.open = False  # the socket is connected: streams start only then
        self._stream_params: dict[str, Any] | None = None  # what sendMediaTo(ws, params) asked for
        self._outbound: _Outbound | None = None
        self._inbound: MediaFormat | None = None  # what the server's `start` announced
        self._inbound_info: dict[str, Any] = {}  # its tag and customParameters, for MEDIA_STARTED
        self._inbound_resampler: StreamResampler | None = None
        self._buffer: deque[Frame] = deque()
        self._partial = np.zeros(0, dtype=np.int16)
        self._playing = False
        self._played_ticks = 0
        self._dry_ticks = 0
        self.dropped_samples = 0

    # ------------------------------------------------------------ out: call audio to the server

    def stream(self, params: Mapping[str, Any] | None) -> None:
        """A unit sends to this socket (`sendMediaTo(ws, params)`): the stream's format, tag and customParameters;
        raises `MediaFormatError` for an encoding voxsim cannot stream."""
        params = dict(params or {})
        media_format(params.get("encoding"))
        if self._outbound is not None and self._outbound.started:
            self._send(self._outbound.stop())
        self._stream_params, self._outbound = params, None

    def end_stream(self) -> None:
        """Nothing sends to the socket any more (`stopMediaTo`): the stream's `stop` goes out."""
        if self._outbound is not None and self._outbound.started and self.open:
            self._send(self._outbound.stop())
        self._stream_params, self._outbound = None, None

    def absorb(self) -> None:
        if self.source is not None and self.source.closed:  # the call that sent ended: so does its stream
            self.source = None
            self.end_stream()
        if self.source is None or not self.open:
            return
        if self._outbound is None:
            params = self._stream_params or {}
            self._outbound = _Outbound(media_format(params.get("encoding")), params, self.chunk_ms)
            self._send(self._outbound.start())
        frame = self.heard()
        for message in self._outbound.take(SILENCE if frame is None else frame):
            self._send(message)

    # ------------------------------------------------------------ in: the server's audio to the call

    def receive_text(self, text: str) -> bool:
        """A text message of the server; True when it was a media message (start/media/stop) this unit took,
        False when it is for the scenario (WebSocketEvents.MESSAGE)."""
        try:
            message = json.loads(text)
        except ValueError:
            return False
        if not isinstance(message, dict) or message.get("event") not in ("start", "media", "stop"):
            return False
        event = message["event"]
        body = message.get(event)
        body = body if isinstance(body, dict) else {}
        if event == "start":
            self._announce(body)
        elif event == "media":
            self._media(body)
        return True

    def receive_binary(self, data: bytes) -> None:
        """A binary frame: raw audio in the announced encoding."""
        self._queue(data)

    def _announce(self, body: dict[str, Any]) -> None:
        fmt = body.get("mediaFormat")
        fmt = fmt if isinstance(fmt, dict) else {}
        try:
            self._inbound = media_format(fmt.get("encoding"), fmt.get("sampleRate"))
        except MediaFormatError as exc:
            self._inbound = None
            self._emit(self.ERROR, {"reason": f"the server's media stream: {exc}"})
            return
        self._inbound_resampler = None
        self._inbound_info = {k: body[k] for k in ("tag", "customParameters") if k in body}

    def _media(self, body: dict[str, Any]) -> None:
        payload = body.get("payload")
        if not isinstance(payload, str):
            return
        try:
            data = base64.b64decode(payload, validate=False)
        except (binascii.Error, ValueError):
            self._emit(self.ERROR, {"reason": "a media message whose payload is not base64"})
            return
        self._queue(data)

    def inbound_format(self) -> MediaFormat:
        if self._inbound is not None:
            return self._inbound
        if self._outbound is not None:
            return self._outbound.format
        return media_format((self._stream_params or {}).get("encoding"))

    def _queue(self, data: bytes) -> None:
        fmt = self.inbound_format()
        if self._inbound_resampler is None or self._inbound_resampler.from_rate != fmt.rate:
            self._inbound_resampler = StreamResampler(fmt.rate, RATE)
        pcm = np.concatenate([self._partial, self._inbound_resampler.push(fmt.decode(data))])
        whole = len(pcm) // FRAME_SAMPLES * FRAME_SAMPLES
        self._partial = pcm[whole:]
        room = MAX_BUFFER_SECONDS * 50 - len(self._buffer)
        frames = [pcm[i:i + FRAME_SAMPLES] for i in range(0, whole, FRAME_SAMPLES)]
        if len(frames) > room:
            self.dropped_samples += (len(frames) - room) * FRAME_SAMPLES
            frames = frames[:max(0, room)]
        self._buffer.extend(frames)

    @property
    def buffered_ms(self) -> int:
        return len(self._buffer) * 20

    def clear(self) -> None:
        """clearMediaBuffer(): what the server sent and has not played yet is dropped (barge-in)."""
        self._buffer.clear()
        self._partial = np.zeros(0, dtype=np.int16)

    def advance(self) -> None:
        if self._buffer:
            self.out = self._buffer.popleft()
            if not self._playing:
                self._playing, self._played_ticks = True, 0
                self._emit(self.MEDIA_STARTED, {**self._inbound_info, "encoding": self.inbound_format().encoding})
            self._played_ticks += 1
            self._dry_ticks = 0
            return
        self.out = None
        if self._playing:
            self._dry_ticks += 1
            if self._dry_ticks >= self.ended_after_ticks:
                self._playing = False
                info = {k: v for k, v in self._inbound_info.items() if k == "tag"}
                self._emit(self.MEDIA_ENDED, {**info, "mediaInfo": {"duration": round(self._played_ticks * 0.02, 3)}})

    def close(self) -> None:
        self.end_stream()
        self.clear()
        super().close()

"""`voxsim agent serve`: the scripted agent over a vendor's real wire protocol, for code that is not a VoxEngine
scenario (a bot of your own, a passthrough test) — the same script, the same events, the vendor's framing.

Each WebSocket connection is one conversation: the vendor's `Wire` translates its messages to the frames the
dialect takes, and the dialect's frames and the agent's audio back to the vendor's messages. Over the real
wire no text travels with the caller's audio, so the agent hears speech by voice activity only: a `said`
turn matches the empty text (`said: ".*"`), and text a client injects matches `text`, `dtmf` and `said` turns.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from aiohttp import WSMsgType, web

from voxsim.media.asr_unit import VoiceActivity
from voxsim.media.graph import FRAME_SAMPLES
from voxsim.media.graph import Frame as Pcm
from voxsim.media.websocket_unit import StreamResampler
from voxsim.runtime.local_socket import ConnectorLink
from voxsim.voice_ai.agent import ScriptedAgent
from voxsim.voice_ai.connector import ScriptedConnector
from voxsim.voice_ai.dialect import Frame, frame_text
from voxsim.voice_ai.service import DIALECTS, VoiceAI
from voxsim.voice_ai.wire import Message, Wire
from voxsim.voice_ai.wires import WIRES

__all__ = ["AgentServer", "WireEnd", "WireMedia"]


class WireMedia:
    """The client's media as the connector sees it: the agent plays for as long as the audio it sent lasts, and
    the client's audio is heard by voice activity (8 kHz frames)."""

    def __init__(self, input_rate: int) -> None:
        self.on_caller: Callable[[str, dict[str, Any]], None] | None = None
        self._until = 0.0
        self._vad = VoiceActivity()
        self._resampler = StreamResampler(input_rate, 8000)
        self._partial = np.zeros(0, dtype=np.int16)

    @property
    def playing(self) -> bool:
        return time.monotonic() < self._until

    def spoke(self, seconds: float) -> None:
        self._until = max(time.monotonic(), self._until) + seconds

    def hear(self, pcm: Pcm) -> None:
        audio = np.concatenate([self._partial, self._resampler.push(pcm)])
        whole = len(audio) // FRAME_SAMPLES * FRAME_SAMPLES
        self._partial = audio[whole:]
        for start in range(0, whole, FRAME_SAMPLES):
            event = self._vad.feed(audio[start:start + FRAME_SAMPLES])
            if event is not None and self.on_caller is not None:
                if event == VoiceActivity.START:
                    self.on_caller("ASR.CaptureStarted", {})
                else:
                    self.on_caller("ASR.Result", {"text": ""})


class WireEnd:
    """The connector's end of the socket, speaking `wire` to the vendor's client on `ws`."""

    def __init__(self, ws: web.WebSocketResponse, wire: Wire, media: WireMedia, agent_rate: int) -> None:
        self.ws = ws
        self.wire = wire
        self.media = media
        self._to_wire = StreamResampler(agent_rate, wire.output_rate)
        self._agent_rate = agent_rate
        self._outbox: asyncio.Queue[Message | None] = asyncio.Queue()
        self._closed = False
        self.writer = asyncio.get_running_loop().create_task(self._write())

    @property
    def closed(self) -> bool:
        return self._closed or self.ws.closed

    async def receive(self) -> str | None:
        while not self.closed:
            msg = await self.ws.receive()
            if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                return None
            frame, audio = self.wire.client_message(msg.data)
            if audio is not None:
                self.media.hear(audio)
            if frame is not None:
                return frame_text(frame)
        return None

    def send_text(self, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            return
        if "customEvent" in message:
            frame: Frame = (str(message["customEvent"]), message.get("payload") or {})
            self._queue(self.wire.serve_frame(frame))
        elif message.get("event") == "media":
            self._queue_audio(message["media"].get("payload"))

    def _queue_audio(self, payload: object) -> None:
        if not isinstance(payload, str):
            return
        try:
            raw = base64.b64decode(payload)
        except (binascii.Error, ValueError):
            return
        pcm = np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2").astype(np.int16)
        self.media.spoke(len(pcm) / self._agent_rate)
        self._queue(self.wire.serve_audio(self._to_wire.push(pcm)))

    def _queue(self, messages: list[Message]) -> None:
        if not self._closed:
            for message in messages:
                self._outbox.put_nowait(message)

    def close(self, code: int = 1000, reason: str = "") -> None:
        if not self._closed:
            self._closed = True
            self._close = (code, reason)
            self._outbox.put_nowait(None)

    async def _write(self) -> None:
        while (message := await self._outbox.get()) is not None:
            with contextlib.suppress(ConnectionError, RuntimeError):
                if isinstance(message, bytes):
                    await self.ws.send_bytes(message)
                else:
                    await self.ws.send_str(message)
        code, reason = getattr(self, "_close", (1000, ""))
        await self.ws.close(code=code, message=reason.encode())


class AgentServer:
    """Serves `vendor`'s wire protocol at every path of an aiohttp application (see the module docstring)."""

    def __init__(self, vendor: str, voice_ai: VoiceAI) -> None:
        if vendor not in WIRES or vendor not in DIALECTS:
            raise ValueError(f"voxsim agent serve speaks {', '.join(sorted(WIRES))}, not {vendor!r}")
        self.vendor = vendor
        self.voice_ai = voice_ai
        self.transcripts: list[list[dict[str, Any]]] = []
        self._sessions = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self.handle)
        return app

    def parameters(self, request: web.Request) -> dict[str, Any]:
        """The client parameters the connection gives (its vendor's `Wire.serve_parameters`)."""
        return WIRES[self.vendor].serve_parameters(request.query, request.headers)

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        params = self.parameters(request)
        wire = WIRES[self.vendor](params)
        if wire.setup_first:  # the session's configuration is the client's first message
            first = await ws.receive()
            if first.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                return ws
            params.update(wire.serve_setup(first.data))
            wire = WIRES[self.vendor](params)
        dialect = DIALECTS[self.vendor](params)
        media = WireMedia(wire.input_rate)
        end = WireEnd(ws, wire, media, dialect.audio_rate)
        self._sessions += 1
        link = ConnectorLink(self.vendor, str(request.url), dict(request.headers), self._sessions, end, media)
        connector = ScriptedConnector(
            link, dialect, lambda d: ScriptedAgent(self.voice_ai.select(self.vendor, d.hints())),
            self.voice_ai.speak, self.voice_ai.settings.tool_timeout or None)
        self.transcripts.append(connector.transcript)
        try:
            await connector.run()
        finally:
            end.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(end.writer, 5)
        return ws

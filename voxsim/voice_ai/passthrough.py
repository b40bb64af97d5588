"""Passthrough: the connector speaks the vendor's real wire protocol to an endpoint the user configured (their
own mock server, or the real vendor when they are online), in the place of the scripted agent.

The scenario's side is unchanged: `ConnectorInformation` first, the vendor's events as frames, the agent's audio
as the socket's media stream (PCM16 16 kHz). Towards the vendor, the scenario's frames become its client
messages, and the call's audio (what the scenario's unit streams) its audio input at the vendor's rate. When
the vendor cannot be reached the scenario sees the vendor's `WebSocketError` frame and the socket closes with
1011; when either side closes, so does the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

import aiohttp
import numpy as np

from voxsim.media.graph import Frame as Pcm
from voxsim.runtime.local_socket import ConnectorLink
from voxsim.voice_ai.dialect import Ids, frame_text
from voxsim.voice_ai.media import AgentAudio, CallAudioIn
from voxsim.voice_ai.wire import Message, Wire

__all__ = ["CONNECT_TIMEOUT", "PassthroughConnector"]

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 10.0
AUDIO_BATCH_MS = 100  # the call's audio goes to the vendor in pieces this long


class PassthroughConnector:
    def __init__(self, link: ConnectorLink, wire: Wire, endpoint: str, label: str, version: str) -> None:
        self.link = link
        self.wire = wire
        self.endpoint = endpoint
        self.label = label
        self.version = version
        self._audio_out = AgentAudio(self._to_scenario, 16000)
        self._audio_in = CallAudioIn(wire.input_rate)
        self._pending: list[Pcm] = []
        self._pending_samples = 0

    def note(self, text: str) -> None:
        self.link.write_log(f"[voxsim] {self.label} passthrough to {self.endpoint}: {text}")

    def _to_scenario(self, text: str) -> None:
        if not self.link.server.closed:
            self.link.server.send_text(text)

    async def run(self) -> None:
        self._to_scenario(frame_text(("ConnectorInformation", {
            "applicationVersion": self.version, "id": Ids()("conn-"), "endpoint": "/" + self.link.vendor})))
        url, headers = self.wire.connect(self.endpoint)
        async with aiohttp.ClientSession() as http:
            try:
                vendor = await asyncio.wait_for(http.ws_connect(url, headers=headers, autoping=True), CONNECT_TIMEOUT)
            except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
                reason = f"cannot connect: {exc or type(exc).__name__}"
                self.note(reason)
                self._to_scenario(frame_text(("WebSocketError", {"error": reason})))
                self.link.server.close(1011, reason)
                return
            async with vendor:
                for frame in self.wire.reported(url):
                    self._to_scenario(frame_text(frame))
                await self._relay(vendor)

    async def _relay(self, vendor: aiohttp.ClientWebSocketResponse) -> None:
        for message in self.wire.opening():
            await _send(vendor, message)
        loop = asyncio.get_running_loop()
        inbound = loop.create_task(self._from_vendor(vendor))
        try:
            while (text := await self.link.server.receive()) is not None:
                for message in self._scenario_frame(text):
                    await _send(vendor, message)
        finally:
            inbound.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await inbound
            if not vendor.closed:
                await vendor.close()

    def _scenario_frame(self, text: str) -> list[Message]:
        try:
            message = json.loads(text)
        except ValueError:
            return []
        if not isinstance(message, dict):
            return []
        if "event" in message:  # the call's audio
            pcm = self._audio_in.take(message)
            return self._batched(pcm) if pcm is not None else []
        if "customEvent" in message:
            return self.wire.client_frame(str(message["customEvent"]), message.get("payload"))
        return []

    def _batched(self, pcm: Pcm) -> list[Message]:
        self._pending.append(pcm)
        self._pending_samples += len(pcm)
        if self._pending_samples * 1000 < AUDIO_BATCH_MS * self.wire.input_rate:
            return []
        joined = np.concatenate(self._pending)
        self._pending, self._pending_samples = [], 0
        return self.wire.caller_audio(joined)

    async def _from_vendor(self, vendor: aiohttp.ClientWebSocketResponse) -> None:
        code, reason = 1000, "Normal connection close"
        async for msg in vendor:
            if msg.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                break
            frames, audio, answers = self.wire.server_message(msg.data)
            for frame in frames:
                self._to_scenario(frame_text(frame))
            if audio is not None and len(audio):
                self._audio_out.send(audio, self.wire.output_rate)
            for answer in answers:
                await _send(vendor, answer)
        if vendor.close_code is not None:
            code = vendor.close_code
            reason = str(vendor.exception() or "") or ("Normal connection close" if code == 1000 else "closed")
        self.note(f"the vendor closed the socket ({code})")
        self.link.server.close(code, reason)


async def _send(vendor: aiohttp.ClientWebSocketResponse, message: Message) -> None:
    if isinstance(message, bytes):
        await vendor.send_bytes(message)
    else:
        await vendor.send_str(message)

"""`GET /_voxsim/calls/<call_id>/audio.ws`: a call's audio, live, over a WebSocket (the console plays it).

What the call's far end hears (for a simulated caller: what the caller hears), as it happens: a first text
message `{"sample_rate": 8000, "encoding": "pcm16le", "channels": 1}`, then binary messages of 16-bit
little-endian mono PCM at 8 kHz (about `CHUNK` seconds each; silence where nothing played), and a last text
message `{"ended": true}` once the call's media stopped. It reads the audio the call keeps (`CallAudio.sent`),
so it carries the first `heard_capture_seconds` of a call (120 s by default), and a late client gets the call
from its start.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import numpy as np
from aiohttp import WSMsgType, web

from mock_api.app import json_reply, services_of
from mock_api.console.feed import STOPPING
from voxsim.media.graph import FRAME_SAMPLES

CHUNK = 0.1
"""Seconds between two audio messages."""

_SILENCE = np.zeros(FRAME_SAMPLES, dtype=np.int16)


def pcm_of(frames: list[Any]) -> bytes:
    """Frames of the call's audio (None: silence) as one PCM16LE chunk."""
    joined = np.concatenate([_SILENCE if frame is None else frame for frame in frames])
    return joined.astype("<i2").tobytes()


async def _read_until_closed(ws: web.WebSocketResponse) -> None:
    async for message in ws:  # the client sends nothing we need; reading is how its close frame arrives
        if message.type == WSMsgType.ERROR:
            break


async def call_audio_ws(request: web.Request) -> web.StreamResponse:
    runtime = services_of(request.app).runtime
    call_id = request.match_info["call_id"]
    audio = runtime.call_audio(call_id) if runtime is not None else None
    if audio is None:
        return json_reply({"error": "no call with that id in memory"}, status=404)
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    reader = asyncio.ensure_future(_read_until_closed(ws))
    stopping = request.app[STOPPING]
    sent = 0
    try:
        await ws.send_json({"sample_rate": 8000, "encoding": "pcm16le", "channels": 1, "call_id": call_id})
        while not reader.done() and not stopping.is_set():
            frames = audio.sent[sent:]
            if frames:
                await ws.send_bytes(pcm_of(frames))
                sent += len(frames)
            elif audio.closed or sent >= audio.capture_frames:
                await ws.send_json({"ended": True})
                break
            await asyncio.sleep(CHUNK)
    except ConnectionResetError:
        pass
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        await ws.close()
    return ws

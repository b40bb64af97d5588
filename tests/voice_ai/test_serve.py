"""`voxsim agent serve`: the scripted agent over OpenAI's real Realtime wire, to a client of its own — the session
events, the greeting as events and 24 kHz audio deltas, a tool call answered with a function_call_output, and
the client's speech heard by voice activity."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import numpy as np
import pytest
from aiohttp import web

from voxsim.voice_ai import VoiceAI, VoiceAISettings, parse_script
from voxsim.voice_ai.serve import AgentServer

SCRIPT = {"greeting": "Hello there", "turns": [
    {"text": "book", "actions": [{"tool": {"name": "book", "args": {"n": 2}}}, {"say": "Done {result}"}]},
    {"said": ".*", "say": "I heard you"},
]}


@pytest.fixture
async def agent_url() -> AsyncIterator[str]:
    voice_ai = VoiceAI(VoiceAISettings(tts="tone"))
    voice_ai.add_script(parse_script(SCRIPT, "serve-test"))
    runner = web.AppRunner(AgentServer("openai", voice_ai).app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"ws://127.0.0.1:{port}/v1/realtime?model=gpt-realtime"
    await runner.cleanup()


async def until_type(ws: aiohttp.ClientWebSocketResponse, wanted: str, seen: list[dict[str, Any]]) -> dict[str, Any]:
    while True:
        msg = await asyncio.wait_for(ws.receive(), 5)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        event = json.loads(msg.data)
        seen.append(event)
        if event["type"] == wanted:
            return event


def types(seen: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in seen if e["type"] != "response.output_audio.delta"]


async def test_the_agent_speaks_openai_realtime_to_its_own_client(agent_url: str):
    seen: list[dict[str, Any]] = []
    async with aiohttp.ClientSession() as http, http.ws_connect(
            agent_url, headers={"Authorization": "Bearer sk-local"}) as ws:
        created = await until_type(ws, "session.created", seen)
        assert created["session"]["model"] == "gpt-realtime"
        await ws.send_str(json.dumps({"type": "session.update", "session": {"instructions": "be brief"}}))
        assert (await until_type(ws, "session.updated", seen))["session"]["instructions"] == "be brief"
        await ws.send_str(json.dumps({"type": "response.create"}))
        done = await until_type(ws, "response.done", seen)
        assert done["response"]["output"][0]["content"][0]["transcript"] == "Hello there"
        assert types(seen)[2:6] == ["response.created", "response.output_item.added", "response.content_part.added",
                                    "response.output_audio_transcript.delta"]
        audio = b"".join(base64.b64decode(e["delta"]) for e in seen if e["type"] == "response.output_audio.delta")
        assert len(audio) // 2 == pytest.approx(24000 * 0.065 * len("Hello there"), rel=0.05)  # 24 kHz PCM16

        await ws.send_str(json.dumps({"type": "conversation.item.create", "item": {
            "type": "message", "role": "user", "content": [{"type": "input_text", "text": "book it"}]}}))
        await ws.send_str(json.dumps({"type": "response.create"}))
        call = await until_type(ws, "response.function_call_arguments.done", seen)
        assert call["name"] == "book" and json.loads(call["arguments"]) == {"n": 2}
        await ws.send_str(json.dumps({"type": "conversation.item.create", "item": {
            "type": "function_call_output", "call_id": call["call_id"], "output": "ok"}}))
        await ws.send_str(json.dumps({"type": "response.create"}))
        done = await until_type(ws, "response.output_audio_transcript.done", seen)
        assert done["transcript"] == "Done ok"


async def test_the_clients_speech_is_heard_by_voice_activity(agent_url: str):
    seen: list[dict[str, Any]] = []
    t = np.arange(int(24000 * 0.8)) / 24000
    speech = (6000 * np.sin(2 * np.pi * 300 * t)).astype("<i2")
    silence = np.zeros(24000, dtype="<i2")
    async with aiohttp.ClientSession() as http, http.ws_connect(agent_url) as ws:
        await until_type(ws, "session.created", seen)
        for chunk in np.array_split(np.concatenate([speech, silence]), 18):
            await ws.send_str(json.dumps({"type": "input_audio_buffer.append",
                                          "audio": base64.b64encode(chunk.tobytes()).decode()}))
        transcribed = await until_type(ws, "conversation.item.input_audio_transcription.completed", seen)
        assert transcribed["transcript"] == ""  # no text travels over the real wire
        assert "input_audio_buffer.speech_started" in types(seen)
        assert (await until_type(ws, "response.output_audio_transcript.done", seen))["transcript"] == "I heard you"

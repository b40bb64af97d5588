"""Ultravox over its real serverWebSocket: the guide's scenario (tests/voice_ai/test_ultravox.py) in passthrough
to `voxsim agent serve --vendor ultravox`, and a raw client of `agent serve` — data messages as JSON text, the
audio as binary s16le PCM at 16 kHz both ways."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import numpy as np
import pytest

from tests.runtime.conftest import start
from tests.voice_ai.agent_server import Served, agent_serve
from tests.voice_ai.conftest import events, names
from tests.voice_ai.test_ultravox import SCENARIO
from voxsim.runtime import Runtime, Session
from voxsim.voice_ai import VoiceAI, VoiceAISettings

REMOTE = {"greeting": "This is the remote agent", "turns": [
    {"text": "bye", "actions": [{"say": "Goodbye"}, {"hangup": True}]},
    {"said": ".*", "actions": [{"tool": {"name": "bookVisit", "args": {"day": "Monday"}}},
                               {"say": "Booked: {result}"}]},
]}


@pytest.fixture
async def server() -> AsyncIterator[Served]:
    async with agent_serve("ultravox", REMOTE) as served:
        yield served


@pytest.fixture
def voice_ai(server: Served) -> VoiceAI:
    join_url = f"{server.base}/calls/remote/server_web_socket"
    return VoiceAI(VoiceAISettings(tts="tone", passthrough=(f"ultravox={join_url}",)))


def finals(session: Session) -> list[str]:
    return [p["text"] for n, p in events(session) if n == "Transcript" and p["role"] == "agent" and p["final"]]


async def test_the_guides_scenario_talks_to_agent_serve_over_ultravoxs_wire(runtime: Runtime, server: Served):
    source = SCENARIO % {"barge_in": "client.clearMediaBuffer();", "endpoint": "CREATE_CALL", "first_speaker": "",
                         "first_message": "", "invocation": "invocationId"}
    session = await start(runtime, source)
    caller = await runtime.simulate_call(session, callerid="100", destination="200")
    await session.wait_until(lambda: "WebSocketMediaEnded" in names(session), timeout=8)
    assert server.requests[0]["path"] == "/calls/remote/server_web_socket"
    assert server.requests[0]["headers"]["x-api-key"] == "uv-test"  # the client's authorizations
    got = names(session)
    assert got[:4] == ["ConnectorInformation", "HTTPResponse", "Unknown", "State"]  # Unknown: call_started
    http = next(p for n, p in events(session) if n == "HTTPResponse")
    assert http == {"joinUrl": f"{server.base}/calls/remote/server_web_socket"}
    assert finals(session) == ["This is the remote agent"]
    audio = runtime.call_audio(caller.call_id)
    assert audio is not None and audio.heard_audio().any()  # the agent's binary PCM, played into the call

    assert await runtime.caller_says(caller.call_id, "a visit on Monday please")  # heard by the server's VAD
    await session.wait_until(lambda: len(finals(session)) == 2, timeout=8)
    user = [p for n, p in events(session) if n == "Transcript" and p["role"] == "user"]
    assert user and user[0]["text"] == ""  # no text travels with the audio
    invocation = next(p for n, p in events(session) if n == "ClientToolInvocation")
    assert invocation["toolName"] == "bookVisit" and invocation["parameters"] == {"day": "Monday"}
    assert finals(session)[1] == 'Booked: {"booked":"Monday"}'  # the scenario's clientToolResult reached it
    heard = server.agent.transcripts[0]
    assert any(t.get("tool_result") == "bookVisit" and t["call_id"] == invocation["invocationId"] for t in heard)


async def test_a_join_call_client_reports_no_http_response(runtime: Runtime, server: Served):
    source = SCENARIO % {"barge_in": "", "endpoint": "JOIN_CALL", "first_speaker": "", "first_message": "",
                         "invocation": "invocationId"}
    session = await start(runtime, source)
    await runtime.simulate_call(session, callerid="100", destination="200")
    await session.wait_until(lambda: "Transcript" in names(session), timeout=8)
    assert names(session)[:2] == ["ConnectorInformation", "Unknown"]


# ---------------------------------------------------------------- a raw client of agent serve

async def receive(ws: aiohttp.ClientWebSocketResponse, seen: list[Any], until: Any) -> dict[str, Any]:
    """Messages until one that `until` accepts (binary messages are kept as bytes)."""
    while True:
        msg = await asyncio.wait_for(ws.receive(), 5)
        assert msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY), msg
        data = msg.data if msg.type == aiohttp.WSMsgType.BINARY else json.loads(msg.data)
        seen.append(data)
        if isinstance(data, dict) and until(data):
            return data


def final_agent(m: dict[str, Any]) -> bool:
    return m["type"] == "transcript" and m["role"] == "agent" and m["final"]


async def test_agent_serve_speaks_ultravox_to_a_client_of_its_own(server: Served):
    seen: list[Any] = []
    async with aiohttp.ClientSession() as http, http.ws_connect(f"{server.base}/calls/x/server_web_socket") as ws:
        greeting = await receive(ws, seen, final_agent)
        assert greeting["text"] == "This is the remote agent"
        texts = [m for m in seen if isinstance(m, dict)]
        assert [m["type"] for m in texts[:3]] == ["call_started", "state", "state"]
        audio = b"".join(m for m in seen if isinstance(m, bytes))
        assert len(audio) // 2 == pytest.approx(16000 * 0.065 * len("This is the remote agent"), rel=0.05)

        t = np.arange(int(16000 * 0.8)) / 16000
        speech = (6000 * np.sin(2 * np.pi * 300 * t)).astype("<i2")
        for chunk in np.array_split(np.concatenate([speech, np.zeros(16000, dtype="<i2")]), 18):
            await ws.send_bytes(chunk.tobytes())
        user = await receive(ws, seen, lambda m: m["type"] == "transcript" and m["role"] == "user")
        assert user["text"] == "" and user["final"] is True
        call = await receive(ws, seen, lambda m: m["type"] == "client_tool_invocation")
        await ws.send_str(json.dumps({"type": "client_tool_result", "invocationId": call["invocationId"],
                                      "result": "ok"}))
        assert (await receive(ws, seen, final_agent))["text"] == "Booked: ok"

        await ws.send_str(json.dumps({"type": "user_text_message", "text": "bye"}))
        assert (await receive(ws, seen, final_agent))["text"] == "Goodbye"
        while (msg := await asyncio.wait_for(ws.receive(), 5)).type != aiohttp.WSMsgType.CLOSE:
            pass
        assert msg.data == 1000

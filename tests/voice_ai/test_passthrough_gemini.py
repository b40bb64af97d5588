"""Gemini Live over its real BidiGenerateContent WebSocket: the guide's scenario (tests/voice_ai/test_gemini.py)
in passthrough to `voxsim agent serve --vendor gemini`, and a raw client of `agent serve` — `setup` first and
`setupComplete`, `realtimeInput.audio` at 16 kHz in, `serverContent.modelTurn` inlineData at 24 kHz out,
`toolCall` answered by `toolResponse`."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import numpy as np
import pytest

from tests.runtime.conftest import start
from tests.voice_ai.agent_server import Served, agent_serve
from tests.voice_ai.conftest import events, names
from tests.voice_ai.test_gemini import SCENARIO, TRANSCRIPTION
from voxsim.runtime import Runtime, Session
from voxsim.voice_ai import VoiceAI, VoiceAISettings
from voxsim.voice_ai.gemini import GeminiWire

REMOTE = {"match": {"prompt": "Bella"}, "greeting": "This is the remote Bella", "turns": [
    {"text": "bye", "actions": [{"say": "Goodbye"}, {"hangup": True}]},
    {"said": ".*", "actions": [{"tool": {"name": "book_table", "args": {"people": 2}}}, {"say": "Booked: {result}"}]},
]}
PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"


@pytest.fixture
async def server() -> AsyncIterator[Served]:
    async with agent_serve("gemini", REMOTE) as served:
        yield served


@pytest.fixture
def voice_ai(server: Served) -> VoiceAI:
    return VoiceAI(VoiceAISettings(tts="tone", passthrough=(f"gemini={server.base}{PATH}",)))


def said_by_agent(session: Session) -> str:
    return "".join(body["outputTranscription"]["text"] for n, body in events(session)
                   if n == "ServerContent" and "outputTranscription" in body)


def turns_complete(session: Session) -> int:
    return sum(1 for n, body in events(session) if n == "ServerContent" and body.get("turnComplete"))


async def test_the_guides_scenario_talks_to_agent_serve_over_geminis_wire(runtime: Runtime, server: Served):
    session = await start(runtime, SCENARIO % {"barge_in": "client.clearMediaBuffer();", "tool_id": "c.id",
                                               "transcription": TRANSCRIPTION})
    caller = await runtime.simulate_call(session, callerid="100", destination="200")
    await session.wait_until(lambda: "WebSocketMediaEnded" in names(session), timeout=8)
    assert server.requests[0]["path"] == PATH and server.requests[0]["query"] == {"key": "gemini-key"}
    got = names(session)
    assert got[:2] == ["ConnectorInformation", "SetupComplete"]
    # the setup reached the server: its system instruction chose the script, and it asked for transcripts
    assert said_by_agent(session) == "This is the remote Bella"
    assert "Unknown" in got  # UsageMetadata
    assert not any("modelTurn" in body for n, body in events(session) if n == "ServerContent")  # audio is media
    audio = runtime.call_audio(caller.call_id)
    assert audio is not None and audio.heard_audio().any()

    assert await runtime.caller_says(caller.call_id, "a table for two please")  # heard by the server's VAD
    await session.wait_until(lambda: turns_complete(session) == 2, timeout=8)
    assert {"inputTranscription": {"text": ""}} in [body for n, body in events(session) if n == "ServerContent"]
    calls = next(body for n, body in events(session) if n == "ToolCall")["functionCalls"]
    assert [(c["name"], c["args"]) for c in calls] == [("book_table", {"people": 2})]
    assert said_by_agent(session).endswith('Booked: {"booked":2}')  # the scenario's sendToolResponse reached it


# ---------------------------------------------------------------- a raw client of agent serve

async def receive(ws: aiohttp.ClientWebSocketResponse, seen: list[dict[str, Any]], until: Any) -> dict[str, Any]:
    while True:
        msg = await asyncio.wait_for(ws.receive(), 5)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        message = json.loads(msg.data)
        seen.append(message)
        if until(message):
            return message


def turn_complete(m: dict[str, Any]) -> bool:
    return bool(m.get("serverContent", {}).get("turnComplete"))


def audio_of(seen: list[dict[str, Any]]) -> bytes:
    return b"".join(base64.b64decode(p["inlineData"]["data"]) for m in seen
                    for p in m.get("serverContent", {}).get("modelTurn", {}).get("parts", []))


async def test_agent_serve_speaks_the_live_api_to_a_client_of_its_own(server: Served):
    seen: list[dict[str, Any]] = []
    async with aiohttp.ClientSession() as http, http.ws_connect(f"{server.base}{PATH}?key=k") as ws:
        await ws.send_str(json.dumps({"setup": {
            "model": "models/gemini-2.5-flash-native-audio", "generationConfig": {"responseModalities": ["AUDIO"]},
            "systemInstruction": {"parts": [{"text": "You are Bella."}]}, "outputAudioTranscription": {}}}))
        assert await receive(ws, seen, lambda m: "setupComplete" in m) == {"setupComplete": {}}
        await ws.send_str(json.dumps({"realtimeInput": {"text": "Say hello"}}))
        await receive(ws, seen, turn_complete)
        transcript = "".join(m["serverContent"]["outputTranscription"]["text"] for m in seen
                             if "outputTranscription" in m.get("serverContent", {}))
        assert transcript == "This is the remote Bella"
        parts = [p for m in seen for p in m.get("serverContent", {}).get("modelTurn", {}).get("parts", [])]
        assert {p["inlineData"]["mimeType"] for p in parts} == {"audio/pcm;rate=24000"}
        assert len(audio_of(seen)) // 2 == pytest.approx(24000 * 0.065 * len(transcript), rel=0.05)

        t = np.arange(int(16000 * 0.8)) / 16000
        speech = (6000 * np.sin(2 * np.pi * 300 * t)).astype("<i2")
        for chunk in np.array_split(np.concatenate([speech, np.zeros(16000, dtype="<i2")]), 18):
            await ws.send_str(json.dumps({"realtimeInput": {"audio": {
                "data": base64.b64encode(chunk.tobytes()).decode(), "mimeType": "audio/pcm;rate=16000"}}}))
        call = (await receive(ws, seen, lambda m: "toolCall" in m))["toolCall"]["functionCalls"][0]
        await ws.send_str(json.dumps({"toolResponse": {"functionResponses": [
            {"id": call["id"], "name": call["name"], "response": {"output": "ok"}}]}}))
        seen.clear()
        await receive(ws, seen, turn_complete)
        assert "".join(m["serverContent"]["outputTranscription"]["text"] for m in seen
                       if "outputTranscription" in m.get("serverContent", {})) == "Booked: ok"

        await ws.send_str(json.dumps({"clientContent": {"turns": [{"role": "user", "parts": [{"text": "bye"}]}],
                                                        "turnComplete": True}}))
        while (msg := await asyncio.wait_for(ws.receive(), 5)).type != aiohttp.WSMsgType.CLOSE:
            pass
        assert msg.data == 1000


def test_the_setup_is_the_clients_model_and_connect_config():
    wire = GeminiWire({"apiKey": "k", "model": "gemini-live-2.5", "connectConfig": {
        "responseModalities": ["AUDIO"], "temperature": 0.2, "systemInstruction": "Be brief",
        "tools": [{"functionDeclarations": [{"name": "f"}]}]}})
    assert wire.connect("ws://h/bidi") == ("ws://h/bidi?key=k", {})
    assert json.loads(wire.opening()[0]) == {"setup": {
        "model": "models/gemini-live-2.5", "generationConfig": {"responseModalities": ["AUDIO"], "temperature": 0.2},
        "systemInstruction": {"parts": [{"text": "Be brief"}]}, "tools": [{"functionDeclarations": [{"name": "f"}]}]}}
    assert json.loads(wire.client_frame("ClientContent", {"turns": "hi"})[0]) == {
        "clientContent": {"turns": [{"role": "user", "parts": [{"text": "hi"}]}]}}
    served = wire.serve_setup(wire.opening()[0])
    assert served["model"] == "gemini-live-2.5" and served["connectConfig"]["temperature"] == 0.2
    pcm = np.arange(10, dtype=np.int16)
    frames, audio, _ = wire.server_message(json.dumps({"serverContent": {"modelTurn": {"parts": [
        {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": base64.b64encode(pcm.tobytes()).decode()}}]},
        "turnComplete": True}, "usageMetadata": {"totalTokenCount": 3}}).encode())
    assert frames == [("ServerContent", {"turnComplete": True}), ("UsageMetadata", {"totalTokenCount": 3})]
    assert audio is not None and list(audio) == list(pcm)

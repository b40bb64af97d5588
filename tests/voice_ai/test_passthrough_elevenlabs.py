"""ElevenLabs Agents over their real WebSocket: the guide's scenario (tests/voice_ai/test_elevenlabs.py) in
passthrough to `voxsim agent serve --vendor elevenlabs`, and a raw client of `agent serve` — `{type,
<type>_event}` messages, the agent's `audio` events and the caller's `user_audio_chunk` as base64 PCM16 at
16 kHz, ping and pong."""

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
from tests.voice_ai.test_elevenlabs import INITIATION, RESULT, SCENARIO
from voxsim.runtime import Runtime, Session
from voxsim.voice_ai import VoiceAI, VoiceAISettings
from voxsim.voice_ai.elevenlabs import ElevenLabsWire

REMOTE = {"match": {"prompt": "City Library"}, "greeting": "Hi {{caller}}, this is the remote library", "turns": [
    {"text": "bye", "actions": [{"say": "Goodbye"}, {"hangup": True}]},
    {"said": ".*", "actions": [{"tool": {"name": "lookup_loan", "args": {"book": "Dune"}}},
                               {"say": "Found it: {result}"}]},
]}


@pytest.fixture
async def server() -> AsyncIterator[Served]:
    async with agent_serve("elevenlabs", REMOTE) as served:
        yield served


@pytest.fixture
def voice_ai(server: Served) -> VoiceAI:
    return VoiceAI(VoiceAISettings(tts="tone", passthrough=(f"elevenlabs={server.base}/v1/convai/conversation",)))


def responses(session: Session) -> list[str]:
    return [p["agent_response"] for n, p in events(session) if n == "AgentResponse"]


async def test_the_guides_scenario_talks_to_agent_serve_over_elevenlabs_wire(runtime: Runtime, server: Served):
    source = SCENARIO % {"factory": "createAgentsClient", "events": "AgentsEvents", "initiation": INITIATION,
                         "barge_in": "client.clearMediaBuffer();", "result": RESULT}
    session = await start(runtime, source)
    caller = await runtime.simulate_call(session, callerid="100", destination="200")
    await session.wait_until(lambda: "WebSocketMediaEnded" in names(session), timeout=8)
    request = server.requests[0]
    assert request["path"] == "/v1/convai/conversation" and request["query"] == {"agent_id": "agent_7101"}
    assert request["headers"]["xi-api-key"] == "xi-test"
    got = names(session)
    assert got[:4] == ["ConnectorInformation", "HTTPResponse", "ConversationInitiationMetadata", "AgentResponse"]
    signed = next(p for n, p in events(session) if n == "HTTPResponse")
    assert signed == {"signed_url": f"{server.base}/v1/convai/conversation?agent_id=agent_7101"}
    metadata = next(p for n, p in events(session) if n == "ConversationInitiationMetadata")
    assert metadata["agent_output_audio_format"] == "pcm_16000"
    # the initiation data reached the server: its prompt chose the script, its dynamic variable filled the line
    assert responses(session) == ["Hi Sam, this is the remote library"]
    audio = runtime.call_audio(caller.call_id)
    assert audio is not None and audio.heard_audio().any()

    assert await runtime.caller_says(caller.call_id, "when is my book due")  # heard by the server's VAD
    await session.wait_until(lambda: len(responses(session)) == 2, timeout=8)
    assert next(p for n, p in events(session) if n == "UserTranscript") == {"user_transcript": ""}
    call = next(p for n, p in events(session) if n == "ClientToolCall")
    assert call["tool_name"] == "lookup_loan" and call["parameters"] == {"book": "Dune"}
    assert responses(session)[1] == 'Found it: {"due":"Dune is due Friday"}'  # the clientToolResult reached it


# ---------------------------------------------------------------- a raw client of agent serve

async def receive(ws: aiohttp.ClientWebSocketResponse, seen: list[dict[str, Any]], wanted: str) -> dict[str, Any]:
    while True:
        msg = await asyncio.wait_for(ws.receive(), 5)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        message = json.loads(msg.data)
        seen.append(message)
        if message["type"] == wanted:
            return message


async def test_agent_serve_speaks_elevenlabs_to_a_client_of_its_own(server: Served):
    seen: list[dict[str, Any]] = []
    url = f"{server.base}/v1/convai/conversation?agent_id=agent_1"
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        await ws.send_str(json.dumps({"type": "conversation_initiation_client_data", "conversation_config_override": {
            "agent": {"prompt": {"prompt": "the City Library"}}}, "dynamic_variables": {"caller": "Jo"}}))
        metadata = await receive(ws, seen, "conversation_initiation_metadata")
        assert metadata["conversation_initiation_metadata_event"]["user_input_audio_format"] == "pcm_16000"
        said = await receive(ws, seen, "agent_response")
        assert said["agent_response_event"] == {"agent_response": "Hi Jo, this is the remote library"}
        audio_events, samples = [], 0
        while samples < 16000 * 0.065 * len("Hi Jo, this is the remote library"):  # the greeting's, at 16 kHz
            audio_events.append(message := await receive(ws, seen, "audio"))
            samples += len(base64.b64decode(message["audio_event"]["audio_base_64"])) // 2
        assert audio_events and all(m["audio_event"]["event_id"] == 1 for m in audio_events)

        t = np.arange(int(16000 * 0.8)) / 16000
        speech = (6000 * np.sin(2 * np.pi * 300 * t)).astype("<i2")
        for chunk in np.array_split(np.concatenate([speech, np.zeros(16000, dtype="<i2")]), 18):
            await ws.send_str(json.dumps({"user_audio_chunk": base64.b64encode(chunk.tobytes()).decode()}))
        assert (await receive(ws, seen, "user_transcript"))["user_transcription_event"] == {"user_transcript": ""}
        call = (await receive(ws, seen, "client_tool_call"))["client_tool_call"]
        await ws.send_str(json.dumps({"type": "client_tool_result", "tool_call_id": call["tool_call_id"],
                                      "result": "ok", "is_error": False}))
        assert (await receive(ws, seen, "agent_response"))["agent_response_event"]["agent_response"] == "Found it: ok"

        await ws.send_str(json.dumps({"type": "user_message", "text": "bye"}))
        ended = await receive(ws, seen, "agent_tool_response")
        assert ended["agent_tool_response"]["tool_name"] == "end_call"
        while (msg := await asyncio.wait_for(ws.receive(), 5)).type != aiohttp.WSMsgType.CLOSE:
            pass
        assert msg.data == 1000


def test_the_wire_answers_a_ping_and_hands_the_scenario_the_inner_event():
    wire = ElevenLabsWire({"agentId": "a1", "xiApiKey": "k"})
    frames, audio, answers = wire.server_message(json.dumps(
        {"type": "ping", "ping_event": {"event_id": 7, "ping_ms": 30}}))
    assert frames == [("Ping", {"event_id": 7, "ping_ms": 30})] and audio is None
    assert [json.loads(a) for a in answers] == [{"type": "pong", "event_id": 7}]
    assert wire.connect("ws://h/v1/convai/conversation") == ("ws://h/v1/convai/conversation?agent_id=a1",
                                                             {"xi-api-key": "k"})
    frames, _, _ = wire.server_message(json.dumps({"type": "agent_tool_response", "agent_tool_response_event": {
        "tool_name": "end_call"}}))
    assert frames == [("AgentToolResponse", {"tool_name": "end_call"})]

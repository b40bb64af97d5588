"""Yandex's Realtime API over its real wire (OpenAI's Realtime protocol, Yandex's credentials): the guide's
scenario (tests/voice_ai/test_yandex.py) in passthrough to `voxsim agent serve --vendor yandex`, and a raw
client of `agent serve` — the model as `gpt://<folder>/<model>`, `Authorization: Api-Key` (an IAM token as
`Bearer`), `conversation.item.created` and no `conversation.item.done`, audio as base64 PCM16 24 kHz."""

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
from tests.voice_ai.conftest import names, payloads
from tests.voice_ai.test_yandex import SCENARIO
from voxsim.runtime import Runtime, Session
from voxsim.voice_ai import VoiceAI, VoiceAISettings
from voxsim.voice_ai.yandex import YandexWire

REMOTE = {"match": {"prompt": "Alisa", "model": "speech-realtime-250923"}, "greeting": "This is the remote Alisa",
          "turns": [
              {"text": "bye", "actions": [{"say": "Goodbye"}, {"hangup": True}]},
              {"said": ".*", "actions": [{"tool": {"name": "book_table", "args": {"people": 2}}},
                                         {"say": "Booked: {result}"}]},
          ]}
PATH = "/v1/realtime/openai"
MODEL_URI = "gpt://b1gfolder/speech-realtime-250923"


@pytest.fixture
async def server() -> AsyncIterator[Served]:
    async with agent_serve("yandex", REMOTE) as served:
        yield served


@pytest.fixture
def voice_ai(server: Served) -> VoiceAI:
    return VoiceAI(VoiceAISettings(tts="tone", passthrough=(f"yandex={server.base}{PATH}",)))


def transcripts(session: Session) -> list[str]:
    return [p["transcript"] for p in payloads(session, "ResponseOutputAudioTranscriptDone")]


async def test_the_guides_scenario_talks_to_agent_serve_over_yandexs_wire(runtime: Runtime, server: Served):
    session = await start(runtime, SCENARIO % {"barge_in": "client.clearMediaBuffer();", "call_id": "p.call_id"})
    caller = await runtime.simulate_call(session, callerid="100", destination="200")
    await session.wait_until(lambda: "WebSocketMediaEnded" in names(session), timeout=8)
    request = server.requests[0]
    assert request["path"] == PATH and request["query"] == {"model": MODEL_URI}
    assert request["headers"]["authorization"] == "Api-Key yc-key"
    assert request["headers"]["x-folder-id"] == "b1gfolder"
    got = names(session)
    assert got[:3] == ["ConnectorInformation", "SessionCreated", "SessionUpdated"]
    assert payloads(session, "SessionCreated")[0]["session"]["model"] == "speech-realtime-250923"
    updated = payloads(session, "SessionUpdated")[0]["session"]
    assert updated["instructions"] == "You are Alisa, a restaurant host."
    assert updated["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}  # the connector's
    assert transcripts(session) == ["This is the remote Alisa"]  # the session's prompt and model chose the script
    assert "ResponseOutputAudioDelta" not in got and "Unknown" not in got  # audio is media, never an event
    audio = runtime.call_audio(caller.call_id)
    assert audio is not None and audio.heard_audio().any()

    assert await runtime.caller_says(caller.call_id, "a table for two please")  # heard by the server's VAD
    await session.wait_until(lambda: len(transcripts(session)) == 2, timeout=8)
    got = names(session)
    assert "InputAudioBufferSpeechStarted" in got and "ConversationItemInputAudioTranscriptionCompleted" in got
    assert "ConversationItemAdded" not in got and "ConversationItemDone" not in got
    created = payloads(session, "ConversationItemCreated")
    assert {p["type"] for p in created} == {"conversation.item.created"}
    assert any(p["item"]["type"] == "function_call_output" for p in created)  # the scenario's item reached it
    call = payloads(session, "ResponseFunctionCallArgumentsDone")[0]
    assert call["name"] == "book_table" and json.loads(call["arguments"]) == {"people": 2}
    assert transcripts(session)[-1] == 'Booked: {"booked":2}'


# ---------------------------------------------------------------- a raw client of agent serve

async def receive(ws: aiohttp.ClientWebSocketResponse, seen: list[dict[str, Any]], wanted: str) -> dict[str, Any]:
    while True:
        msg = await asyncio.wait_for(ws.receive(), 5)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        event = json.loads(msg.data)
        seen.append(event)
        if event["type"] == wanted:
            return event


def said(seen: list[dict[str, Any]]) -> str:
    return "".join(e["delta"] for e in seen if e["type"] == "response.output_audio_transcript.delta")


async def send(ws: aiohttp.ClientWebSocketResponse, **event: Any) -> None:
    await ws.send_str(json.dumps(event))


async def test_agent_serve_speaks_yandexs_realtime_api_to_a_client_of_its_own(server: Served):
    seen: list[dict[str, Any]] = []
    headers = {"Authorization": "Bearer t1.iam-token"}
    async with aiohttp.ClientSession() as http, \
            http.ws_connect(f"{server.base}{PATH}?model={MODEL_URI}", headers=headers) as ws:
        created = await receive(ws, seen, "session.created")
        assert created["session"]["model"] == "speech-realtime-250923"
        await send(ws, type="session.update", session={"instructions": "You are Alisa."})
        await receive(ws, seen, "session.updated")
        await send(ws, type="response.create")
        await receive(ws, seen, "response.done")
        assert said(seen) == "This is the remote Alisa"
        assert "response.audio.delta" not in {e["type"] for e in seen}  # GA's names, never Beta's
        audio = b"".join(base64.b64decode(e["delta"]) for e in seen if e["type"] == "response.output_audio.delta")
        assert len(audio) // 2 == pytest.approx(24000 * 0.065 * len(said(seen)), rel=0.05)

        t = np.arange(int(24000 * 0.8)) / 24000
        speech = (6000 * np.sin(2 * np.pi * 300 * t)).astype("<i2")
        for chunk in np.array_split(np.concatenate([speech, np.zeros(24000, dtype="<i2")]), 18):
            await send(ws, type="input_audio_buffer.append", audio=base64.b64encode(chunk.tobytes()).decode())
        call = await receive(ws, seen, "response.function_call_arguments.done")
        await send(ws, type="conversation.item.create",
                   item={"type": "function_call_output", "call_id": call["call_id"], "output": "ok"})
        await send(ws, type="response.create")
        seen.clear()
        assert (await receive(ws, seen, "response.output_audio_transcript.done"))["transcript"] == "Booked: ok"
        item = next(e for e in seen if e["type"] == "conversation.item.created")["item"]  # the client's item
        assert item["type"] == "function_call_output" and item["call_id"] == call["call_id"]
        assert not {e["type"] for e in seen} & {"conversation.item.added", "conversation.item.done"}

        await send(ws, type="conversation.item.create", item={
            "type": "message", "role": "user", "content": [{"type": "input_text", "text": "bye"}]})
        await send(ws, type="response.create")
        while (msg := await asyncio.wait_for(ws.receive(), 5)).type != aiohttp.WSMsgType.CLOSE:
            pass
        assert msg.data == 1000
    assert server.requests[0]["query"] == {"model": MODEL_URI}


def test_the_connection_carries_yandexs_model_uri_and_credentials():
    wire = YandexWire({"apiKey": "AQVN-key", "folderId": "b1g"})
    assert wire.connect("wss://h/v1/realtime/openai") == (
        "wss://h/v1/realtime/openai?model=gpt://b1g/speech-realtime-250923",
        {"Authorization": "Api-Key AQVN-key", "x-folder-id": "b1g"})
    iam = YandexWire({"apiKey": "t1.token", "folderId": "b1g", "model": "gpt://other/m"})
    assert iam.connect("ws://h/x?model=mine") == ("ws://h/x?model=mine", {
        "Authorization": "Bearer t1.token", "x-folder-id": "b1g"})
    assert iam.connect("ws://h/x?a=1")[0] == "ws://h/x?a=1&model=gpt://other/m"
    assert YandexWire.serve_parameters({"model": "gpt://b1g/speech-realtime-250923"},
                                       {"Authorization": "Api-Key k"}) == {
        "model": "speech-realtime-250923", "folderId": "b1g", "apiKey": "k"}
    assert YandexWire.serve_parameters({}, {"Authorization": "Bearer t1.x", "x-folder-id": "f"}) == {
        "apiKey": "t1.x", "folderId": "f"}
    assert json.loads(wire.client_frame("SessionUpdate", {"session": {}})[0])["session"]["audio"]["output"] == {
        "format": {"type": "audio/pcm", "rate": 24000}}

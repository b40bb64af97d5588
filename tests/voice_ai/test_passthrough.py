"""Passthrough: the same OpenAI scenario, its client passed to a local server that speaks OpenAI's real Realtime
protocol (here `voxsim agent serve`'s, with a script of its own): the scenario sees the server's events as the
connector's frames, hears its audio, and its call's audio reaches the server as input_audio_buffer.append."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from tests.runtime.conftest import start, user_lines
from tests.voice_ai.conftest import events, names
from tests.voice_ai.test_openai import SCENARIO
from voxsim.runtime import Runtime
from voxsim.settings_sources import SettingError
from voxsim.voice_ai import VoiceAI, VoiceAISettings, parse_script
from voxsim.voice_ai.serve import AgentServer

REMOTE = {"greeting": "This is the remote agent", "turns": [{"said": ".*", "say": "Remote heard you"}]}


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, AgentServer]]:
    remote = VoiceAI(VoiceAISettings(tts="tone"))
    remote.add_script(parse_script(REMOTE, "remote"))
    agent = AgentServer("openai", remote)
    seen: list[dict[str, str]] = []
    original = agent.parameters

    def parameters(request: web.Request) -> dict:
        seen.append({"path": request.path, "model": request.query.get("model", ""),
                     "authorization": request.headers.get("Authorization", "")})
        return original(request)

    agent.parameters = parameters  # type: ignore[method-assign]
    agent.seen = seen  # type: ignore[attr-defined]
    runner = web.AppRunner(agent.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"ws://127.0.0.1:{port}/v1/realtime", agent
    await runner.cleanup()


@pytest.fixture
def voice_ai(server: tuple[str, AgentServer]) -> VoiceAI:
    return VoiceAI(VoiceAISettings(tts="tone", passthrough=(f"openai={server[0]}",)))


async def test_the_scenario_talks_to_the_server_through_the_connector(runtime: Runtime, server):
    url, agent = server
    session = await start(runtime, SCENARIO % {"barge_in": "client.clearMediaBuffer();"})
    caller = await runtime.simulate_call(session, callerid="100", destination="200")
    await session.wait_until(lambda: "WebSocketMediaEnded" in names(session), timeout=8)
    assert agent.seen == [{"path": "/v1/realtime", "model": "gpt-realtime", "authorization": "Bearer sk-test"}]
    got = names(session)
    assert got[:3] == ["ConnectorInformation", "SessionCreated", "SessionUpdated"]
    updated = next(p for n, p in events(session) if n == "SessionUpdated")
    assert updated["session"]["instructions"] == "You are Bella, a restaurant host."
    assert updated["session"]["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}  # the connector's
    said = next(p for n, p in events(session) if n == "ResponseOutputAudioTranscriptDone")
    assert said["transcript"] == "This is the remote agent"
    assert "ResponseOutputAudioDelta" not in got  # audio is media, never an event
    audio = runtime.call_audio(caller.call_id)
    assert audio is not None and audio.heard_audio().any()

    assert await runtime.caller_says(caller.call_id, "hello over there")
    await session.wait_until(
        lambda: any(p.get("transcript") == "Remote heard you" for n, p in events(session)
                    if n == "ResponseOutputAudioTranscriptDone"), timeout=8)
    assert "InputAudioBufferSpeechStarted" in names(session)  # the server heard the call's audio


async def test_an_endpoint_that_does_not_answer_fails_the_client(runtime: Runtime):
    runtime.connectors.passthrough["openai"] = "ws://127.0.0.1:9/v1/realtime"  # type: ignore[union-attr]
    session = await start(runtime, SCENARIO % {"barge_in": ""})
    await runtime.simulate_call(session, callerid="100", destination="200")
    await session.wait_until(lambda: any(line.startswith("closed") for line in user_lines(session)), timeout=8)
    assert "WebSocketError" in names(session)
    assert any(line.startswith("closed 1011 cannot connect") for line in user_lines(session))


@pytest.mark.parametrize("entry", ["openai", "openai=http://x", "=ws://x"])
def test_a_malformed_passthrough_entry_is_a_setting_error(entry: str):
    with pytest.raises(SettingError, match="VENDOR=ws"):
        VoiceAISettings(passthrough=(entry,))

"""An Ultravox scenario, written as Voximplant's guide writes it (CreateCall with a serverWebSocket medium at
16 kHz), against a scripted agent: HTTPResponse with the created call, the agent's State and Transcript
messages with its audio played into the call, the caller's transcript, a client tool answered by the scenario
(and one answered with a wrong invocationId), a barge-in cleared on PlaybackClearBuffer, and the agent hanging
up."""

from __future__ import annotations

from typing import Any

from tests.runtime.conftest import start, user_lines
from tests.voice_ai.conftest import names, payloads, script, speak_over_the_agent, uncleared
from voxsim.runtime import Runtime, Session
from voxsim.voice_ai import VoiceAI

SCENARIO = """
require(Modules.Ultravox);
VoxEngine.addEventListener(AppEvents.CallAlerting, async ({call}) => {
  call.answer();
  const client = await Ultravox.createWebSocketAPIClient({
    endpoint: Ultravox.HTTPEndpoint.%(endpoint)s,
    authorizations: {'X-API-Key': 'uv-test'},
    pathParameters: {agent_id: 'agent-42'},
    body: {systemPrompt: 'You are Mark, the front desk of a dental clinic.', model: 'fixie-ai/ultravox',
      voice: 'Mark', %(first_speaker)s
      medium: {serverWebSocket: {inputSampleRate: 16000, outputSampleRate: 16000}},
      selectedTools: [{temporaryTool: {modelToolName: 'bookVisit', client: {}}}]},
    onWebSocketClose: (e) => { Logger.write('closed ' + e.code + ' ' + e.reason); VoxEngine.terminate(); },
  });
  VoxEngine.sendMediaBetween(call, client);
  const log = (ev) => {
    const rest = Object.assign({}, ev.data ? ev.data.payload : ev);
    delete rest.client;
    Logger.write('EV ' + ev.name + ' ' + JSON.stringify(rest));
  };
  const api = Ultravox.WebSocketAPIEvents;
  for (const n of Object.keys(api)) client.addEventListener(api[n], log);
  for (const n of Object.keys(Ultravox.Events)) client.addEventListener(Ultravox.Events[n], log);
  client.addEventListener(Ultravox.WebSocketAPIEvents.PlaybackClearBuffer, () => {
    %(barge_in)s
  });
  client.addEventListener(Ultravox.WebSocketAPIEvents.ClientToolInvocation, (ev) => {
    const {toolName, invocationId, parameters} = ev.data.payload;
    client.clientToolResult({invocationId: %(invocation)s, result: JSON.stringify({booked: parameters.day})});
  });
  %(first_message)s
  call.addEventListener(CallEvents.Disconnected, () => { client.close(); VoxEngine.terminate(); });
});
"""

MARK = {
    "name": "mark", "match": {"vendor": "ultravox", "prompt": "dental"},
    "greeting": "Hello, this is Mark.",
    "turns": [
        {"said": "visit", "actions": [{"tool": {"name": "bookVisit", "args": {"day": "Monday"}}},
                                      {"say": "Booked: {result}"}]},
        {"text": "^HI", "say": "Hi there, how can I help?"},
        {"said": "bye", "actions": [{"say": "Goodbye"}, {"hangup": True}]},
    ],
    "fallback": "Sorry?",
}


async def connected(runtime: Runtime, *, barge_in: str = "client.clearMediaBuffer();", endpoint: str = "CREATE_CALL",
                    first_speaker: str = "", first_message: str = "",
                    invocation: str = "invocationId") -> tuple[Session, str]:
    source = SCENARIO % {"barge_in": barge_in, "endpoint": endpoint, "first_speaker": first_speaker,
                         "first_message": first_message, "invocation": invocation}
    session = await start(runtime, source)
    caller = await runtime.simulate_call(session, callerid="100", destination="200")
    await session.wait_until(lambda: any(p.get("final") for p in transcripts(session, "agent"))
                             and states(session)[-1] == "listening", timeout=5)
    return session, caller.call_id



def transcripts(session: Session, role: str) -> list[dict[str, Any]]:
    return [p for p in payloads(session, "Transcript") if p["role"] == role]


def states(session: Session) -> list[str]:
    return [p["state"] for p in payloads(session, "State")]


async def test_the_connector_opens_with_its_information_and_the_created_call(runtime: Runtime, voice_ai: VoiceAI):
    script(voice_ai, MARK)
    session, _ = await connected(runtime)
    assert any("CreateWebSocket" in line and "wss://local/ultravox" in line for line in session.log.lines)
    got = names(session)
    assert got[:4] == ["ConnectorInformation", "HTTPResponse", "Unknown", "State"]
    assert payloads(session, "ConnectorInformation")[0]["endpoint"] == "/ultravox"
    created = payloads(session, "HTTPResponse")[0]
    assert created["systemPrompt"].startswith("You are Mark") and created["model"] == "fixie-ai/ultravox"
    assert created["joinUrl"] == f"wss://voice.ultravox.ai/calls/{created['callId']}/server_web_socket"
    assert created["medium"] == {"serverWebSocket": {"inputSampleRate": 16000, "outputSampleRate": 16000}}
    assert created["firstSpeaker"] == "FIRST_SPEAKER_AGENT"
    started = payloads(session, "Unknown")[0]  # call_started is no member of WebSocketAPIEvents
    assert started == {"type": "call_started", "callId": created["callId"]}
    assert payloads(session, "State")[0] == {"type": "state", "state": "listening"}


async def test_the_greeting_is_state_and_transcript_messages_and_plays_as_media(runtime: Runtime, voice_ai: VoiceAI):
    script(voice_ai, MARK)
    session, call_id = await connected(runtime)
    agent = transcripts(session, "agent")
    assert agent[0] == {"type": "transcript", "role": "agent", "medium": "voice", "text": "Hello,", "final": False,
                        "ordinal": 0}
    assert all(p["text"] == "" and p["delta"] for p in agent[1:-1])
    assert "".join([agent[0]["text"]] + [p["delta"] for p in agent[1:-1]]) == "Hello, this is Mark."
    assert agent[-1]["text"] == "Hello, this is Mark." and agent[-1]["final"] is True
    assert states(session) == ["listening", "speaking", "listening"]
    await session.wait_until(lambda: "WebSocketMediaEnded" in names(session), timeout=5)
    started = payloads(session, "WebSocketMediaStarted")[0]
    assert started["name"] == "Ultravox.Events.WebSocketMediaStarted" and started["encoding"] == "PCM16"
    assert payloads(session, "WebSocketMediaEnded")[0]["mediaInfo"]["duration"] > 1.0
    audio = runtime.call_audio(call_id)
    assert audio is not None and audio.heard_audio().any()


async def test_the_agent_hears_the_caller_calls_a_client_tool_and_speaks_the_result(runtime: Runtime,
                                                                                   voice_ai: VoiceAI):
    script(voice_ai, MARK)
    session, call_id = await connected(runtime)
    await session.wait_until(lambda: "WebSocketMediaEnded" in names(session), timeout=5)
    assert await runtime.caller_says(call_id, "I need a visit next week")
    await session.wait_until(lambda: any(p["text"].startswith("Booked") and p["final"]
                                         for p in transcripts(session, "agent")) and states(session)[-1] == "listening",
                             timeout=8)
    user = transcripts(session, "user")
    assert user == [{"type": "transcript", "role": "user", "medium": "voice", "text": "I need a visit next week",
                     "final": True, "ordinal": 1}]
    invocation = payloads(session, "ClientToolInvocation")[0]
    assert invocation["type"] == "client_tool_invocation" and invocation["toolName"] == "bookVisit"
    assert invocation["parameters"] == {"day": "Monday"} and len(invocation["invocationId"]) == 36
    assert transcripts(session, "agent")[-1]["text"] == 'Booked: {"booked":"Monday"}'
    assert states(session)[3:] == ["thinking", "speaking", "listening"]  # after the greeting's three


async def test_a_tool_result_with_a_wrong_invocation_id_is_reported(runtime: Runtime, voice_ai: VoiceAI):
    script(voice_ai, {**MARK, "turns": [{"said": "visit", "tool": {"name": "bookVisit", "args": {"day": "Monday"},
                                                                    "timeout": 1}}]})
    session, call_id = await connected(runtime, invocation="'not-the-id'")
    await session.wait_until(lambda: "WebSocketMediaEnded" in names(session), timeout=5)
    assert await runtime.caller_says(call_id, "a visit please")
    await session.wait_until(lambda: any("names not-the-id" in line for line in session.log.lines), timeout=5)
    await session.wait_until(lambda: any("did not answer tool call bookVisit" in line for line in session.log.lines),
                             timeout=5)


async def test_text_messages_reach_the_agent_and_the_user_can_speak_first(runtime: Runtime, voice_ai: VoiceAI):
    script(voice_ai, MARK)
    session, _ = await connected(runtime, first_speaker="firstSpeaker: 'FIRST_SPEAKER_USER',",
                                 first_message="client.userTextMessage({type: 'user_text_message', text: 'HI!'});")
    assert payloads(session, "HTTPResponse")[0]["firstSpeaker"] == "FIRST_SPEAKER_USER"
    said = [(t["who"], t["text"]) for t in voice_ai.transcripts(session.session_id)[0] if t["text"]]
    assert said[:2] == [("user", "HI!"), ("agent", "Hello, this is Mark.")]


async def test_the_older_input_text_message_and_forced_agent_message(runtime: Runtime, voice_ai: VoiceAI):
    script(voice_ai, MARK)
    session, _ = await connected(
        runtime, first_message="client.inputTextMessage({text: 'HI!'}); "
                               "client.forcedAgentMessage({type: 'forced_agent_message', content: 'Forced line.'});")
    await session.wait_until(lambda: len([p for p in transcripts(session, "agent") if p["final"]]) >= 3, timeout=8)
    finals = [p["text"] for p in transcripts(session, "agent") if p["final"]]
    assert finals == ["Hello, this is Mark.", "Hi there, how can I help?", "Forced line."]


async def test_a_join_call_client_makes_no_http_request(runtime: Runtime, voice_ai: VoiceAI):
    script(voice_ai, MARK)
    session, _ = await connected(runtime, endpoint="JOIN_CALL")
    assert names(session)[:2] == ["ConnectorInformation", "Unknown"] and "HTTPResponse" not in names(session)


async def test_a_barge_in_is_cleared_on_playback_clear_buffer(runtime: Runtime, voice_ai: VoiceAI):
    script(voice_ai, {**MARK, "greeting": "Welcome to the dental clinic. " * 6})
    session, call_id = await connected(runtime)
    await speak_over_the_agent(runtime, session, call_id)
    await session.wait_until(lambda: "PlaybackClearBuffer" in names(session), timeout=5)
    assert payloads(session, "PlaybackClearBuffer")[0] == {"type": "playback_clear_buffer"}
    await session.wait_until(lambda: "WebSocketMediaEnded" in names(session), timeout=5)
    assert payloads(session, "WebSocketMediaEnded")[0]["mediaInfo"]["duration"] < 8
    assert not uncleared(session)


async def test_a_barge_in_the_scenario_ignores_is_reported_in_its_log(runtime: Runtime, voice_ai: VoiceAI):
    script(voice_ai, {**MARK, "greeting": "Welcome to the dental clinic. " * 6})
    session, call_id = await connected(runtime, barge_in="")
    await speak_over_the_agent(runtime, session, call_id)
    await session.wait_until(lambda: uncleared(session), timeout=5)


async def test_the_agent_hangs_up_with_a_clean_close(runtime: Runtime, voice_ai: VoiceAI):
    script(voice_ai, MARK)
    session, call_id = await connected(runtime)
    assert await runtime.caller_says(call_id, "ok bye")
    await session.wait_until(lambda: any(line.startswith("closed") for line in user_lines(session)), timeout=8)
    assert "closed 1000 Normal connection close" in user_lines(session)
    said = [(t["who"], t["text"]) for t in voice_ai.transcripts(session.session_id)[0] if t["text"]]
    assert said == [("agent", "Hello, this is Mark."), ("user", "ok bye"), ("agent", "Goodbye")]


async def test_the_scenario_hangs_up_through_the_agent(runtime: Runtime, voice_ai: VoiceAI):
    script(voice_ai, MARK)
    session, _ = await connected(runtime, first_message="setTimeout(() => client.hangUp({message: 'See you'}), 200);")
    await session.wait_until(lambda: any(line.startswith("closed") for line in user_lines(session)), timeout=8)
    assert "closed 1000 Normal connection close" in user_lines(session)
    assert transcripts(session, "agent")[-1]["text"] == "See you"


async def test_a_hang_up_tool_result_ends_the_call_after_the_agents_turn(runtime: Runtime, voice_ai: VoiceAI):
    script(voice_ai, MARK)
    session, call_id = await connected(runtime, invocation="invocationId, responseType: 'hang-up'")
    await session.wait_until(lambda: "WebSocketMediaEnded" in names(session), timeout=5)
    assert await runtime.caller_says(call_id, "book a visit")
    await session.wait_until(lambda: any(line.startswith("closed") for line in user_lines(session)), timeout=8)
    assert "closed 1000 Normal connection close" in user_lines(session)
    assert transcripts(session, "agent")[-1]["text"] == 'Booked: {"booked":"Monday"}'

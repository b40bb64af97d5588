"""An ElevenLabs Agents scenario, written as Voximplant's guide writes it (createAgentsClient, then
conversationInitiationClientData at once, then the media), against a scripted agent: the signed-URL
HTTPResponse and ConversationInitiationMetadata, AgentResponse with its audio played into the call, VadScore and
UserTranscript for the caller, a client tool answered by the scenario (a wrong tool_call_id and a missing
is_error reported), a barge-in cleared on Interruption, the end_call AgentToolResponse and the close, and the
older createConversationalAIClient."""

from __future__ import annotations

from tests.runtime.conftest import start, user_lines
from tests.voice_ai.conftest import names, payloads, script, speak_over_the_agent
from voxsim.runtime import Runtime, Session
from voxsim.voice_ai import VoiceAI

SCENARIO = """
require(Modules.ElevenLabs);
VoxEngine.addEventListener(AppEvents.CallAlerting, async ({call}) => {
  call.answer();
  const client = await ElevenLabs.%(factory)s({
    xiApiKey: 'xi-test', agentId: 'agent_7101', includeConversationId: true,
    onWebSocketClose: (e) => { Logger.write('closed ' + e.code + ' ' + e.reason); VoxEngine.terminate(); },
  });
  %(initiation)s
  VoxEngine.sendMediaBetween(call, client);
  const log = (ev) => {
    const rest = Object.assign({}, ev.data ? ev.data.payload : ev);
    delete rest.client;
    Logger.write('EV ' + ev.name + ' ' + JSON.stringify(rest));
  };
  const api = ElevenLabs.%(events)s;
  for (const n of Object.keys(api)) client.addEventListener(api[n], log);
  for (const n of Object.keys(ElevenLabs.Events)) client.addEventListener(ElevenLabs.Events[n], log);
  client.addEventListener(api.Interruption, () => {
    %(barge_in)s
  });
  client.addEventListener(api.ClientToolCall, (ev) => {
    const {tool_name, tool_call_id, parameters} = ev.data.payload;
    client.clientToolResult(%(result)s);
  });
  call.addEventListener(CallEvents.Disconnected, () => { client.close(); VoxEngine.terminate(); });
});
"""

INITIATION = ("client.conversationInitiationClientData({type: 'conversation_initiation_client_data', "
              "conversation_config_override: {agent: {prompt: {prompt: 'You are Ada of the City Library.'}}}, "
              "dynamic_variables: {caller: 'Sam'}});")
RESULT = "{tool_call_id, result: JSON.stringify({due: parameters.book + ' is due Friday'}), is_error: false}"

ADA = {
    "name": "ada", "match": {"vendor": "elevenlabs", "prompt": "City Library"},
    "greeting": "Hi, this is Ada from the library.",
    "turns": [
        {"said": "book", "actions": [{"tool": {"name": "lookup_loan", "args": {"book": "Dune"}}},
                                     {"say": "Found it: {result}"}]},
        {"text": "renew", "say": "Renewed."},
        {"said": "bye", "actions": [{"say": "Goodbye"}, {"hangup": True}]},
    ],
    "fallback": "Sorry?",
}


async def connected(runtime: Runtime, *, factory: str = "createAgentsClient", events_enum: str = "AgentsEvents",
                    initiation: str = INITIATION, barge_in: str = "client.clearMediaBuffer();",
                    result: str = RESULT) -> tuple[Session, str]:
    source = SCENARIO % {"factory": factory, "events": events_enum, "initiation": initiation, "barge_in": barge_in,
                         "result": result}
    session = await start(runtime, source)
    caller = await runtime.simulate_call(session, callerid="100", destination="200")
    await session.wait_until(lambda: "AgentResponse" in names(session), timeout=5)
    return session, caller.call_id



def responses(session: Session) -> list[str]:
    return [p["agent_response"] for p in payloads(session, "AgentResponse")]


def noted(session: Session, text: str) -> bool:
    return any(text in line for line in session.log.lines)


async def test_the_connector_opens_with_the_signed_url_and_the_conversation(runtime: Runtime, voice_ai: VoiceAI):
    script(voice_ai, ADA)
    session, _ = await connected(runtime)
    assert any("CreateWebSocket" in line and "wss://local/elevenlabs" in line for line in session.log.lines)
    assert names(session)[:4] == ["ConnectorInformation", "HTTPResponse", "ConversationInitiationMetadata",
                                  "AgentResponse"]
    assert payloads(session, "ConnectorInformation")[0]["endpoint"] == "/elevenlabs"
    signed = payloads(session, "HTTPResponse")[0]
    assert signed["signed_url"].startswith("wss://api.elevenlabs.io/v1/convai/conversation?agent_id=agent_7101&")
    metadata = payloads(session, "ConversationInitiationMetadata")[0]
    assert metadata == {"conversation_id": signed["conversation_id"], "agent_output_audio_format": "pcm_16000",
                        "user_input_audio_format": "pcm_16000"}
    assert responses(session) == ["Hi, this is Ada from the library."]  # the prompt override chose the script
    assert not noted(session, "conversationInitiationClientData came after")


async def test_the_greeting_plays_as_media(runtime: Runtime, voice_ai: VoiceAI):
    script(voice_ai, ADA)
    session, call_id = await connected(runtime)
    await session.wait_until(lambda: "WebSocketMediaEnded" in names(session), timeout=5)
    started = payloads(session, "WebSocketMediaStarted")[0]
    assert started["name"] == "ElevenLabs.Events.WebSocketMediaStarted" and started["encoding"] == "PCM16"
    assert payloads(session, "WebSocketMediaEnded")[0]["mediaInfo"]["duration"] > 1.0
    audio = runtime.call_audio(call_id)
    assert audio is not None and audio.heard_audio().any()


async def test_the_agent_hears_the_caller_calls_a_client_tool_and_speaks_the_result(runtime: Runtime,
                                                                                   voice_ai: VoiceAI):
    script(voice_ai, ADA)
    session, call_id = await connected(runtime)
    await session.wait_until(lambda: "WebSocketMediaEnded" in names(session), timeout=5)
    assert await runtime.caller_says(call_id, "when is my book due")
    await session.wait_until(lambda: len(responses(session)) >= 2, timeout=8)
    got = names(session)
    heard_at = got.index("VadScore")
    assert got[heard_at:heard_at + 3] == ["VadScore", "UserTranscript", "ClientToolCall"]
    assert 0 < payloads(session, "VadScore")[0]["vad_score"] <= 1
    assert payloads(session, "UserTranscript")[0] == {"user_transcript": "when is my book due"}
    call = payloads(session, "ClientToolCall")[0]
    assert call["tool_name"] == "lookup_loan" and call["parameters"] == {"book": "Dune"}
    assert call["tool_call_id"].startswith("toolu_")
    assert responses(session)[1] == 'Found it: {"due":"Dune is due Friday"}'
    assert not noted(session, "without is_error")


async def test_a_wrong_tool_call_id_and_a_missing_is_error_are_reported(runtime: Runtime, voice_ai: VoiceAI):
    script(voice_ai, {**ADA, "turns": [{"said": "book", "tool": {"name": "lookup_loan", "args": {}, "timeout": 1}}]})
    session, call_id = await connected(runtime, result="{tool_call_id: 'toolu_wrong', result: 'ok'}")
    await session.wait_until(lambda: "WebSocketMediaEnded" in names(session), timeout=5)
    assert await runtime.caller_says(call_id, "my book")
    await session.wait_until(lambda: noted(session, "names toolu_wrong"), timeout=5)
    assert noted(session, "a clientToolResult without is_error")


async def test_user_messages_reach_the_agent(runtime: Runtime, voice_ai: VoiceAI):
    script(voice_ai, ADA)
    initiation = INITIATION + " client.userMessage({type: 'user_message', text: 'please renew it'});" \
                              " client.contextualUpdate({type: 'contextual_update', text: 'caller is a member'});"
    session, _ = await connected(runtime, initiation=initiation)
    await session.wait_until(lambda: len(responses(session)) >= 2, timeout=8)
    assert responses(session) == ["Hi, this is Ada from the library.", "Renewed."]
    said = [(t["who"], t["text"]) for t in voice_ai.transcripts(session.session_id)[0] if t["text"]]
    assert ("user", "please renew it") in said


async def test_without_initiation_data_the_conversation_starts_by_itself(runtime: Runtime, voice_ai: VoiceAI):
    session, _ = await connected(runtime, initiation="")
    assert names(session)[1:3] == ["HTTPResponse", "ConversationInitiationMetadata"]
    assert responses(session)[0].startswith("Hello! This is the voxsim test agent")


async def test_initiation_data_sent_late_is_reported(runtime: Runtime, voice_ai: VoiceAI):
    late = "setTimeout(() => client.conversationInitiationClientData({dynamic_variables: {a: 'b'}}), 1500);"
    session, _ = await connected(runtime, initiation=late)
    await session.wait_until(lambda: noted(session, "conversationInitiationClientData came after"), timeout=5)


async def test_a_barge_in_is_cleared_on_interruption(runtime: Runtime, voice_ai: VoiceAI):
    script(voice_ai, {**ADA, "greeting": "Welcome to the City Library. " * 6})
    session, call_id = await connected(runtime)
    await speak_over_the_agent(runtime, session, call_id)
    await session.wait_until(lambda: "Interruption" in names(session), timeout=5)
    assert payloads(session, "Interruption")[0] == {"event_id": 1}
    await session.wait_until(lambda: "WebSocketMediaEnded" in names(session), timeout=5)
    assert payloads(session, "WebSocketMediaEnded")[0]["mediaInfo"]["duration"] < 8
    assert not noted(session, "did not call clearMediaBuffer")


async def test_a_barge_in_the_scenario_ignores_is_reported_in_its_log(runtime: Runtime, voice_ai: VoiceAI):
    script(voice_ai, {**ADA, "greeting": "Welcome to the City Library. " * 6})
    session, call_id = await connected(runtime, barge_in="")
    await speak_over_the_agent(runtime, session, call_id)
    await session.wait_until(lambda: noted(session, "did not call clearMediaBuffer"), timeout=5)


async def test_the_agent_ends_the_call_with_end_call_and_a_clean_close(runtime: Runtime, voice_ai: VoiceAI):
    script(voice_ai, ADA)
    session, call_id = await connected(runtime)
    assert await runtime.caller_says(call_id, "ok bye")
    await session.wait_until(lambda: any(line.startswith("closed") for line in user_lines(session)), timeout=8)
    assert "closed 1000 Normal connection close" in user_lines(session)
    ended = payloads(session, "AgentToolResponse")[0]
    assert ended["tool_name"] == "end_call" and ended["tool_type"] == "system" and ended["is_error"] is False
    assert responses(session)[-1] == "Goodbye"


async def test_the_older_conversational_ai_client(runtime: Runtime, voice_ai: VoiceAI):
    script(voice_ai, ADA)
    session, _ = await connected(runtime, factory="createConversationalAIClient", events_enum="ConversationalAIEvents")
    lines = [line for line in user_lines(session) if line.startswith("EV ElevenLabs.ConversationalAI.")]
    assert lines and any(".ConversationInitiationMetadata " in line for line in lines)
    assert names(session)[0] == "Unknown"  # ConnectorInformation is no member of the older enum
    assert responses(session) == ["Hi, this is Ada from the library."]


async def test_the_realtime_tts_player_is_not_emulated(runtime: Runtime):
    session = await start(runtime, """
require(Modules.ElevenLabs);
try { ElevenLabs.createRealtimeTTSPlayer('hi'); } catch (e) { Logger.write('ERR ' + e.message); }
VoxEngine.terminate();
""")
    await session.wait_until(lambda: any(line.startswith("ERR") for line in user_lines(session)), timeout=5)
    assert "ERR ElevenLabs.createRealtimeTTSPlayer is not emulated by voxsim" in user_lines(session)


async def test_dynamic_variables_fill_in_the_agents_lines(runtime: Runtime, voice_ai: VoiceAI):
    script(voice_ai, {**ADA, "greeting": "Hi {{caller}}, this is Ada ({{system__agent_id}}); {{unknown}} stays."})
    session, _ = await connected(runtime)
    assert responses(session) == ["Hi Sam, this is Ada (agent_7101); {{unknown}} stays."]

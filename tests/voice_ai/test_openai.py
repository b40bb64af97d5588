"""An OpenAI Realtime scenario, written as Voximplant's guide writes it, against a scripted agent: the connector's
events in the platform's order and shapes, the agent's audio played into the call, what the caller says heard
by the agent, a tool call answered by the scenario, a barge-in cleared, and the agent hanging up."""

from __future__ import annotations

from tests.runtime.conftest import logged, start, user_lines
from tests.voice_ai.conftest import events, names, payloads, script, speak_over_the_agent, uncleared
from voxsim.runtime import Runtime, Session
from voxsim.voice_ai import VoiceAI

SCENARIO = """
require(Modules.OpenAI);
VoxEngine.addEventListener(AppEvents.CallAlerting, ({call}) => {
  call.answer();
  call.addEventListener(CallEvents.Connected, async () => {
    const client = await OpenAI.createRealtimeAPIClient({
      apiKey: 'sk-test', model: 'gpt-realtime',
      onWebSocketClose: (e) => { Logger.write('closed ' + e.code + ' ' + e.reason); VoxEngine.terminate(); },
    });
    Logger.write('created ' + (client.id() !== client.webSocketId()));
    VoxEngine.sendMediaBetween(call, client);
    const log = (ev) => {
      const rest = Object.assign({}, ev.data ? ev.data.payload : ev);
      delete rest.client;
      Logger.write('EV ' + ev.name + ' ' + JSON.stringify(rest));
    };
    for (const n of Object.keys(OpenAI.RealtimeAPIEvents)) client.addEventListener(OpenAI.RealtimeAPIEvents[n], log);
    for (const n of Object.keys(OpenAI.Events)) client.addEventListener(OpenAI.Events[n], log);
    client.addEventListener(OpenAI.RealtimeAPIEvents.InputAudioBufferSpeechStarted, () => {
      %(barge_in)s
    });
    client.addEventListener(OpenAI.RealtimeAPIEvents.ResponseFunctionCallArgumentsDone, (ev) => {
      const p = ev.data.payload;
      const args = JSON.parse(p.arguments);
      client.conversationItemCreate({item: {type: 'function_call_output', call_id: p.call_id,
        output: JSON.stringify({booked: args.people})}});
      client.responseCreate({});
    });
    client.sessionUpdate({session: {type: 'realtime', instructions: 'You are Bella, a restaurant host.',
      tools: [{type: 'function', name: 'book_table', parameters: {type: 'object'}}]}});
    client.responseCreate({});
    call.addEventListener(CallEvents.Disconnected, () => { client.close(); VoxEngine.terminate(); });
  });
});
"""

BELLA = {
    "name": "bella", "match": {"vendor": "openai", "prompt": "Bella"},
    "greeting": "Hi, this is Bella.",
    "turns": [
        {"said": "table", "actions": [{"tool": {"name": "book_table", "args": {"people": 2}}},
                                      {"say": "Booked: {result}"}]},
        {"said": "bye", "actions": [{"say": "Goodbye"}, {"hangup": True}]},
    ],
    "fallback": "Sorry?",
}

SAY = ["ResponseCreated", "ResponseOutputItemAdded", "ResponseContentPartAdded"]
SAID = ["ResponseOutputAudioDone", "ResponseOutputAudioTranscriptDone", "ResponseContentPartDone",
        "ResponseOutputItemDone", "ResponseDone"]
HEARD = ["InputAudioBufferSpeechStarted", "InputAudioBufferSpeechStopped", "InputAudioBufferCommitted",
         "ConversationItemAdded", "ConversationItemInputAudioTranscriptionCompleted"]


async def connected(runtime: Runtime, barge_in: str = "client.clearMediaBuffer();") -> tuple[Session, str]:
    session = await start(runtime, SCENARIO % {"barge_in": barge_in})
    caller = await runtime.simulate_call(session, callerid="100", destination="200")
    await session.wait_until(lambda: "ResponseDone" in names(session), timeout=5)
    return session, caller.call_id



async def test_the_connector_opens_with_its_information_and_the_session(runtime: Runtime, voice_ai: VoiceAI):
    script(voice_ai, BELLA)
    session, _ = await connected(runtime)
    assert "created true" in user_lines(session)
    assert logged(session, "CreateWebSocket js-ws1 wss://local/openai {headers=******}") or any(
        "CreateWebSocket" in line and "wss://local/openai" in line for line in session.log.lines)
    got = names(session)
    assert got[:3] == ["ConnectorInformation", "SessionCreated", "SessionUpdated"]
    info = payloads(session, "ConnectorInformation")[0]
    assert info["endpoint"] == "/openai" and info["applicationVersion"]
    created = payloads(session, "SessionCreated")[0]
    assert created["type"] == "session.created" and created["session"]["model"] == "gpt-realtime"
    updated = payloads(session, "SessionUpdated")[0]
    assert updated["session"]["instructions"] == "You are Bella, a restaurant host."


async def test_the_greeting_is_the_openai_response_sequence_and_plays_as_media(runtime: Runtime, voice_ai: VoiceAI):
    script(voice_ai, BELLA)
    session, call_id = await connected(runtime)
    got = names(session)
    start_at = got.index("ResponseCreated")
    deltas = [p["delta"] for n, p in events(session) if n == "ResponseOutputAudioTranscriptDelta"]
    assert "".join(deltas) == "Hi, this is Bella."
    assert got[start_at:start_at + 3] == SAY
    assert got[start_at + 3 + len(deltas):start_at + 8 + len(deltas)] == SAID
    done = payloads(session, "ResponseDone")[0]["response"]
    assert done["status"] == "completed"
    assert done["output"][0]["content"][0] == {"type": "output_audio", "transcript": "Hi, this is Bella."}
    await session.wait_until(lambda: "WebSocketMediaEnded" in names(session), timeout=5)
    started = payloads(session, "WebSocketMediaStarted")[0]
    assert started["name"] == "OpenAI.Events.WebSocketMediaStarted" and started["encoding"] == "PCM16"
    ended = payloads(session, "WebSocketMediaEnded")[0]
    assert ended["mediaInfo"]["duration"] > 1.0  # "Hi, this is Bella." as 65 ms tones a character
    audio = runtime.call_audio(call_id)
    assert audio is not None and audio.heard_audio().any()  # the caller heard the agent


async def test_the_agent_hears_the_caller_calls_a_tool_and_speaks_the_result(runtime: Runtime, voice_ai: VoiceAI):
    script(voice_ai, BELLA)
    session, call_id = await connected(runtime)
    await session.wait_until(lambda: "WebSocketMediaEnded" in names(session), timeout=5)
    assert await runtime.caller_says(call_id, "I would like a table for two")
    await session.wait_until(lambda: len(payloads(session, "ResponseDone")) >= 3, timeout=8)
    got = names(session)
    heard_at = got.index("InputAudioBufferSpeechStarted")
    assert got[heard_at:heard_at + 5] == HEARD
    transcript = payloads(session, "ConversationItemInputAudioTranscriptionCompleted")[0]
    assert transcript["transcript"] == "I would like a table for two"
    call = payloads(session, "ResponseFunctionCallArgumentsDone")[0]
    assert call["name"] == "book_table" and call["arguments"] == '{"people":2}' and call["call_id"]
    tool_done = payloads(session, "ResponseDone")[1]["response"]
    assert tool_done["output"][0]["type"] == "function_call"
    added = [p["item"] for p in payloads(session, "ConversationItemAdded")]
    assert any(item["type"] == "function_call_output" for item in added)
    deltas_after = "".join(p["delta"] for n, p in events(session)[got.index("ResponseFunctionCallArgumentsDone"):]
                           if n == "ResponseOutputAudioTranscriptDelta")
    assert deltas_after == 'Booked: {"booked":2}'


async def test_the_agent_hangs_up_with_a_clean_close(runtime: Runtime, voice_ai: VoiceAI):
    script(voice_ai, BELLA)
    session, call_id = await connected(runtime)
    assert await runtime.caller_says(call_id, "ok bye")
    await session.wait_until(lambda: any(line.startswith("closed") for line in user_lines(session)), timeout=8)
    assert "closed 1000 Normal connection close" in user_lines(session)
    transcripts = voice_ai.transcripts(session.session_id)[0]
    said = [(t["who"], t["text"]) for t in transcripts if t["text"]]
    assert said == [("agent", "Hi, this is Bella."), ("user", "ok bye"), ("agent", "Goodbye")]


async def test_a_barge_in_is_cleared_by_the_scenario(runtime: Runtime, voice_ai: VoiceAI):
    script(voice_ai, {**BELLA, "greeting": "Welcome to Bella's. " * 8})
    session, call_id = await connected(runtime)
    await speak_over_the_agent(runtime, session, call_id)
    await session.wait_until(lambda: "InputAudioBufferSpeechStarted" in names(session), timeout=5)
    await session.wait_until(lambda: "WebSocketMediaEnded" in names(session), timeout=5)
    ended = payloads(session, "WebSocketMediaEnded")[0]
    assert ended["mediaInfo"]["duration"] < 8  # the greeting is ~10 s of tones: it was cut
    assert not uncleared(session)


async def test_a_barge_in_the_scenario_ignores_is_reported_in_its_log(runtime: Runtime, voice_ai: VoiceAI):
    script(voice_ai, {**BELLA, "greeting": "Welcome to Bella's. " * 8})
    session, call_id = await connected(runtime, barge_in="")
    await speak_over_the_agent(runtime, session, call_id)
    await session.wait_until(lambda: uncleared(session), timeout=5)


async def test_with_no_script_the_default_agent_greets_and_answers(runtime: Runtime, voice_ai: VoiceAI):
    session, call_id = await connected(runtime)
    deltas = "".join(p["delta"] for n, p in events(session) if n == "ResponseOutputAudioTranscriptDelta")
    assert deltas.startswith("Hello! This is the voxsim test agent")
    assert await runtime.caller_says(call_id, "what is the weather")
    await session.wait_until(lambda: len(payloads(session, "ResponseDone")) >= 2, timeout=8)
    last = payloads(session, "ResponseOutputAudioTranscriptDone")[-1]["transcript"]
    assert "scripted agent of voxsim" in last

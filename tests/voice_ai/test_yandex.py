"""A Yandex Realtime API scenario (OpenAI's protocol, Yandex's names) against a scripted agent: the connector's
events on connect, the greeting on responseCreate, the caller heard, a tool call answered with a
function_call_output and responseCreate, a barge-in cleared, and the agent hanging up."""

from __future__ import annotations

from tests.runtime.conftest import start, user_lines
from tests.voice_ai.conftest import events, names, payloads, script, speak_over_the_agent, uncleared
from voxsim.runtime import Runtime, Session
from voxsim.voice_ai import VoiceAI

SCENARIO = """
require(Modules.Yandex);
VoxEngine.addEventListener(AppEvents.CallAlerting, ({call}) => {
  call.answer();
  call.addEventListener(CallEvents.Connected, async () => {
    const client = await Yandex.createRealtimeAPIClient({
      apiKey: 'yc-key', folderId: 'b1gfolder',
      onWebSocketClose: (e) => { Logger.write('closed ' + e.code + ' ' + e.reason); VoxEngine.terminate(); },
    });
    VoxEngine.sendMediaBetween(call, client);
    const log = (ev) => {
      const rest = Object.assign({}, ev.data ? ev.data.payload : ev);
      delete rest.client;
      Logger.write('EV ' + ev.name + ' ' + JSON.stringify(rest));
    };
    for (const n of Object.keys(Yandex.RealtimeAPIEvents)) client.addEventListener(Yandex.RealtimeAPIEvents[n], log);
    for (const n of Object.keys(Yandex.Events)) client.addEventListener(Yandex.Events[n], log);
    client.addEventListener(Yandex.RealtimeAPIEvents.InputAudioBufferSpeechStarted, () => { %(barge_in)s });
    client.addEventListener(Yandex.RealtimeAPIEvents.ResponseFunctionCallArgumentsDone, (ev) => {
      const p = ev.data.payload;
      client.conversationItemCreate({item: {type: 'function_call_output', call_id: %(call_id)s,
        output: JSON.stringify({booked: JSON.parse(p.arguments).people})}});
      client.responseCreate({});
    });
    client.sessionUpdate({session: {instructions: 'You are Alisa, a restaurant host.',
      tools: [{type: 'function', name: 'book_table', parameters: {type: 'object'}}]}});
    client.responseCreate({});
    call.addEventListener(CallEvents.Disconnected, () => { client.close(); VoxEngine.terminate(); });
  });
});
"""

ALISA = {
    "name": "alisa", "match": {"vendor": "yandex", "prompt": "Alisa", "model": "speech-realtime-250923"},
    "greeting": "Hi, this is Alisa.",
    "turns": [
        {"said": "table", "actions": [{"tool": {"name": "book_table", "args": {"people": 2}, "timeout": 1}},
                                      {"say": "Booked: {result}"}]},
        {"said": "bye", "actions": [{"say": "Goodbye"}, {"hangup": True}]},
    ],
}

HEARD = ["InputAudioBufferSpeechStarted", "InputAudioBufferSpeechStopped", "InputAudioBufferCommitted",
         "ConversationItemCreated", "ConversationItemInputAudioTranscriptionCompleted"]


async def connected(runtime: Runtime, barge_in: str = "client.clearMediaBuffer();",
                    call_id: str = "p.call_id") -> tuple[Session, str]:
    session = await start(runtime, SCENARIO % {"barge_in": barge_in, "call_id": call_id})
    caller = await runtime.simulate_call(session, callerid="100", destination="200")
    await session.wait_until(lambda: "ResponseDone" in names(session), timeout=5)
    return session, caller.call_id



async def test_the_connector_opens_with_the_session_of_yandex_model(runtime: Runtime, voice_ai: VoiceAI):
    script(voice_ai, ALISA)
    session, _ = await connected(runtime)
    assert any("CreateWebSocket" in line and "wss://local/yandex" in line for line in session.log.lines)
    assert names(session)[:3] == ["ConnectorInformation", "SessionCreated", "SessionUpdated"]
    assert payloads(session, "ConnectorInformation")[0]["endpoint"] == "/yandex"
    created = payloads(session, "SessionCreated")[0]["session"]
    assert created["model"] == "speech-realtime-250923" and created["audio"]["output"]["voice"] == "marina"
    assert payloads(session, "SessionUpdated")[0]["session"]["instructions"] == "You are Alisa, a restaurant host."
    deltas = "".join(p["delta"] for n, p in events(session) if n == "ResponseOutputAudioTranscriptDelta")
    assert deltas == "Hi, this is Alisa."  # the script matched model and prompt
    await session.wait_until(lambda: "WebSocketMediaEnded" in names(session), timeout=5)
    assert payloads(session, "WebSocketMediaStarted")[0]["name"] == "Yandex.Events.WebSocketMediaStarted"


async def test_the_caller_is_heard_and_a_tool_result_answered(runtime: Runtime, voice_ai: VoiceAI):
    script(voice_ai, ALISA)
    session, call_id = await connected(runtime)
    await session.wait_until(lambda: "WebSocketMediaEnded" in names(session), timeout=5)
    assert await runtime.caller_says(call_id, "a table for two")
    await session.wait_until(lambda: len(payloads(session, "ResponseDone")) >= 3, timeout=8)
    got = names(session)
    heard_at = got.index("InputAudioBufferSpeechStarted")
    assert got[heard_at:heard_at + 5] == HEARD
    assert "ConversationItemAdded" not in got and "Unknown" not in got
    created = payloads(session, "ConversationItemCreated")
    assert created[0]["type"] == "conversation.item.created"
    assert any(p["item"]["type"] == "function_call_output" for p in created)
    last = payloads(session, "ResponseOutputAudioTranscriptDone")[-1]["transcript"]
    assert last == 'Booked: {"booked":2}'


async def test_a_wrong_call_id_is_reported(runtime: Runtime, voice_ai: VoiceAI):
    script(voice_ai, ALISA)
    session, call_id = await connected(runtime, call_id="'call_9999'")
    await session.wait_until(lambda: "WebSocketMediaEnded" in names(session), timeout=5)
    assert await runtime.caller_says(call_id, "a table for two")
    await session.wait_until(lambda: any("names call_9999, but the agent waits for call_0001" in line
                                         for line in session.log.lines), timeout=5)


async def test_a_barge_in_is_cleared_and_the_agent_hangs_up(runtime: Runtime, voice_ai: VoiceAI):
    script(voice_ai, {**ALISA, "greeting": "Welcome to Alisa's. " * 8})
    session, call_id = await connected(runtime)
    await speak_over_the_agent(runtime, session, call_id)
    await session.wait_until(lambda: "WebSocketMediaEnded" in names(session), timeout=5)
    assert payloads(session, "WebSocketMediaEnded")[0]["mediaInfo"]["duration"] < 8
    assert not uncleared(session)
    assert await runtime.caller_says(call_id, "ok bye")
    await session.wait_until(lambda: any(line.startswith("closed") for line in user_lines(session)), timeout=8)
    assert "closed 1000 Normal connection close" in user_lines(session)


async def test_a_barge_in_the_scenario_ignores_is_reported(runtime: Runtime, voice_ai: VoiceAI):
    script(voice_ai, {**ALISA, "greeting": "Welcome to Alisa's. " * 8})
    session, call_id = await connected(runtime, barge_in="")
    await speak_over_the_agent(runtime, session, call_id)
    await session.wait_until(lambda: uncleared(session), timeout=5)


async def test_the_namespace_has_the_typings_names(runtime: Runtime):
    session = await start(runtime, """
require(Modules.Yandex);
Logger.write('rate ' + Yandex.RealtimeAPIEvents.RateLimitsUpdated);
Logger.write('created ' + Yandex.RealtimeAPIEvents.ConversationItemCreated);
Logger.write('added ' + Yandex.RealtimeAPIEvents.ConversationItemAdded);
Logger.write('clear ' + typeof Yandex.RealtimeAPIClient.prototype.inputAudioBufferClear);
""")
    await session.wait_until(lambda: any(line.startswith("clear ") for line in user_lines(session)), timeout=5)
    lines = user_lines(session)
    assert "rate Yandex.RealtimeAPI.ResponseMCPCallFailed" in lines  # sic, as the typings give it
    assert "created Yandex.RealtimeAPI.ConversationItemCreated" in lines
    assert "added undefined" in lines and "clear undefined" in lines

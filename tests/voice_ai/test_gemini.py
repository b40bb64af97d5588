"""A Gemini Live scenario, written as Voximplant's guide writes it, against a scripted agent: SetupComplete after
the connector's information, the greeting once the scenario sends its first text, transcripts as ServerContent,
the model's audio played into the call, a tool call answered with sendToolResponse, an interruption cleared, and
the agent hanging up."""

from __future__ import annotations

from typing import Any

from tests.runtime.conftest import start, user_lines
from tests.voice_ai.conftest import events, names, payloads, script, speak_over_the_agent, uncleared
from voxsim.runtime import Runtime, Session
from voxsim.voice_ai import VoiceAI

SCENARIO = """
require(Modules.Gemini);
VoxEngine.addEventListener(AppEvents.CallAlerting, async ({call}) => {
  call.answer();
  call.addEventListener(CallEvents.Connected, async () => {
    const client = await Gemini.createLiveAPIClient({
      apiKey: 'gemini-key', backend: Gemini.Backend.GEMINI_API, model: 'gemini-2.5-flash-native-audio',
      connectConfig: {
        responseModalities: ['AUDIO'],
        systemInstruction: {parts: [{text: 'You are Bella, a restaurant host.'}]},
        %(transcription)s
        tools: [{functionDeclarations: [{name: 'book_table', parameters: {type: 'object'}}]}],
      },
      onWebSocketClose: (e) => { Logger.write('closed ' + e.code + ' ' + e.reason); VoxEngine.terminate(); },
    });
    const log = (ev) => {
      const rest = Object.assign({}, ev.data ? ev.data.payload : ev);
      delete rest.client;
      Logger.write('EV ' + ev.name + ' ' + JSON.stringify(rest));
      if (ev.data) Logger.write('CE ' + ev.name + ' ' + ev.data.customEvent);
    };
    for (const n of Object.keys(Gemini.LiveAPIEvents)) client.addEventListener(Gemini.LiveAPIEvents[n], log);
    for (const n of Object.keys(Gemini.Events)) client.addEventListener(Gemini.Events[n], log);
    client.addEventListener(Gemini.LiveAPIEvents.SetupComplete, () => {
      VoxEngine.sendMediaBetween(call, client);
      client.sendRealtimeInput({text: 'Say hello to the caller.'});
    });
    client.addEventListener(Gemini.LiveAPIEvents.ServerContent, (ev) => {
      if (ev.data.payload.interrupted) { %(barge_in)s }
    });
    client.addEventListener(Gemini.LiveAPIEvents.ToolCall, (ev) => {
      const calls = ev.data.payload.functionCalls;
      client.sendToolResponse({functionResponses: calls.map((c) => ({
        id: %(tool_id)s, name: c.name, response: {output: {booked: c.args.people}}}))});
    });
    call.addEventListener(CallEvents.Disconnected, () => { client.close(); VoxEngine.terminate(); });
  });
});
"""

TRANSCRIPTION = "inputAudioTranscription: {}, outputAudioTranscription: {},"

BELLA = {
    "name": "bella", "match": {"vendor": "gemini", "prompt": "Bella"},
    "greeting": "Hi, this is Bella.",
    "turns": [
        {"said": "table", "actions": [{"tool": {"name": "book_table", "args": {"people": 2}}},
                                      {"say": "Booked: {result}"}]},
        {"said": "bye", "actions": [{"say": "Goodbye"}, {"hangup": True}]},
    ],
    "fallback": "Sorry?",
}


async def connected(runtime: Runtime, barge_in: str = "client.clearMediaBuffer();", tool_id: str = "c.id",
                    transcription: str = TRANSCRIPTION) -> tuple[Session, str]:
    session = await start(runtime, SCENARIO % {"barge_in": barge_in, "tool_id": tool_id,
                                               "transcription": transcription})
    caller = await runtime.simulate_call(session, callerid="100", destination="200")
    await session.wait_until(lambda: "Unknown" in names(session), timeout=5)  # the greeting's UsageMetadata
    return session, caller.call_id



def contents(session: Session, key: str) -> list[Any]:
    return [body[key] for body in payloads(session, "ServerContent") if key in body]


def said_by_agent(session: Session, after: int = 0) -> str:
    return "".join(body["outputTranscription"]["text"] for n, body in events(session)[after:]
                   if n == "ServerContent" and "outputTranscription" in body)


async def test_the_connector_opens_with_its_information_then_setup_complete(runtime: Runtime, voice_ai: VoiceAI):
    script(voice_ai, BELLA)
    session, _ = await connected(runtime)
    assert any("CreateWebSocket" in line and "wss://local/gemini" in line for line in session.log.lines)
    assert names(session)[:2] == ["ConnectorInformation", "SetupComplete"]
    info = payloads(session, "ConnectorInformation")[0]
    assert info["endpoint"] == "/gemini" and info["applicationVersion"]
    assert payloads(session, "SetupComplete") == [{}]
    assert "CE Gemini.LiveAPI.SetupComplete SetupComplete" in user_lines(session)


async def test_the_greeting_follows_the_first_text_as_server_content_and_media(runtime: Runtime, voice_ai: VoiceAI):
    script(voice_ai, BELLA)
    session, call_id = await connected(runtime)
    assert said_by_agent(session) == "Hi, this is Bella."
    got = names(session)
    last_delta = max(i for i, (n, body) in enumerate(events(session))
                     if n == "ServerContent" and "outputTranscription" in body)
    assert got[last_delta + 1:last_delta + 4] == ["ServerContent", "ServerContent", "Unknown"]
    assert contents(session, "generationComplete") == [True] and contents(session, "turnComplete") == [True]
    assert "CE Gemini.LiveAPI.Unknown UsageMetadata" in user_lines(session)
    assert payloads(session, "Unknown")[0]["responseTokenCount"] > 0
    await session.wait_until(lambda: "WebSocketMediaEnded" in names(session), timeout=5)
    started = payloads(session, "WebSocketMediaStarted")[0]
    assert started["name"] == "Gemini.Events.WebSocketMediaStarted" and started["encoding"] == "PCM16"
    assert payloads(session, "WebSocketMediaEnded")[0]["mediaInfo"]["duration"] > 1.0
    audio = runtime.call_audio(call_id)
    assert audio is not None and audio.heard_audio().any()


async def test_without_transcription_in_the_setup_no_transcripts_come(runtime: Runtime, voice_ai: VoiceAI):
    script(voice_ai, BELLA)
    session, call_id = await connected(runtime, transcription="")
    assert said_by_agent(session) == "" and contents(session, "turnComplete") == [True]
    await session.wait_until(lambda: "WebSocketMediaEnded" in names(session), timeout=5)
    assert await runtime.caller_says(call_id, "hello")
    await session.wait_until(lambda: len(contents(session, "turnComplete")) >= 2, timeout=8)
    assert contents(session, "inputTranscription") == []
    assert voice_ai.transcripts(session.session_id)[0][-1]["text"] == "Sorry?"


async def test_the_agent_hears_the_caller_calls_a_tool_and_speaks_the_result(runtime: Runtime, voice_ai: VoiceAI):
    script(voice_ai, BELLA)
    session, call_id = await connected(runtime)
    await session.wait_until(lambda: "WebSocketMediaEnded" in names(session), timeout=5)
    assert await runtime.caller_says(call_id, "I would like a table for two")
    await session.wait_until(lambda: len(contents(session, "turnComplete")) >= 2, timeout=8)
    assert contents(session, "inputTranscription") == [{"text": "I would like a table for two"}]
    calls = payloads(session, "ToolCall")[0]["functionCalls"]
    assert calls == [{"id": "function-call-0001", "name": "book_table", "args": {"people": 2}}]
    after = names(session).index("ToolCall")
    assert said_by_agent(session, after) == 'Booked: {"booked":2}'
    transcript = voice_ai.transcripts(session.session_id)[0]
    assert any(t.get("tool_result") == "book_table" and t["call_id"] == "function-call-0001" for t in transcript)


async def test_a_tool_response_with_a_wrong_id_is_reported(runtime: Runtime, voice_ai: VoiceAI):
    script(voice_ai, {**BELLA, "turns": [{"said": "table", "actions": [
        {"tool": {"name": "book_table", "args": {"people": 2}, "timeout": 1}}, {"say": "Done"}]}]})
    session, call_id = await connected(runtime, tool_id="'call-42'")
    await session.wait_until(lambda: "WebSocketMediaEnded" in names(session), timeout=5)
    assert await runtime.caller_says(call_id, "a table please")
    await session.wait_until(lambda: any("names call-42, but the agent waits for function-call-0001" in line
                                         for line in session.log.lines), timeout=5)
    await session.wait_until(lambda: any("did not answer tool call book_table" in line for line in session.log.lines),
                             timeout=5)


async def test_client_content_is_a_turn_once_complete(runtime: Runtime, voice_ai: VoiceAI):
    scenario = SCENARIO.replace(
        "client.sendRealtimeInput({text: 'Say hello to the caller.'});",
        "client.sendRealtimeInput({text: 'Greet'});"
        "client.sendClientContent({turns: [{role: 'user', parts: [{text: 'my name'}]}], turnComplete: false});"
        "client.sendClientContent({turns: [{role: 'user', parts: [{text: 'is Ann'}]}], turnComplete: true});")
    script(voice_ai, {**BELLA, "turns": [{"text": "my name is (\\w+)", "say": "Nice to meet you"}]})
    session = await start(runtime, scenario % {"barge_in": "", "tool_id": "c.id", "transcription": TRANSCRIPTION})
    await runtime.simulate_call(session, callerid="100", destination="200")
    await session.wait_until(lambda: len(contents(session, "turnComplete")) >= 2, timeout=8)
    assert said_by_agent(session) == "Hi, this is Bella.Nice to meet you"
    injected = [t["text"] for t in voice_ai.transcripts(session.session_id)[0] if t.get("source") == "text"]
    assert injected == ["Greet", "my name is Ann"]


async def test_the_agent_hangs_up_with_a_clean_close(runtime: Runtime, voice_ai: VoiceAI):
    script(voice_ai, BELLA)
    session, call_id = await connected(runtime)
    assert await runtime.caller_says(call_id, "ok bye")
    await session.wait_until(lambda: any(line.startswith("closed") for line in user_lines(session)), timeout=8)
    assert "closed 1000 Normal connection close" in user_lines(session)
    said = [(t["who"], t["text"]) for t in voice_ai.transcripts(session.session_id)[0] if t["text"]]
    assert said == [("user", "Say hello to the caller."), ("agent", "Hi, this is Bella."), ("user", "ok bye"),
                    ("agent", "Goodbye")]


async def test_an_interruption_is_cleared_by_the_scenario(runtime: Runtime, voice_ai: VoiceAI):
    script(voice_ai, {**BELLA, "greeting": "Welcome to Bella's. " * 8})
    session, call_id = await connected(runtime)
    await speak_over_the_agent(runtime, session, call_id)
    await session.wait_until(lambda: contents(session, "interrupted") == [True], timeout=5)
    await session.wait_until(lambda: "WebSocketMediaEnded" in names(session), timeout=5)
    assert payloads(session, "WebSocketMediaEnded")[0]["mediaInfo"]["duration"] < 8
    assert not uncleared(session)


async def test_an_interruption_the_scenario_ignores_is_reported(runtime: Runtime, voice_ai: VoiceAI):
    script(voice_ai, {**BELLA, "greeting": "Welcome to Bella's. " * 8})
    session, call_id = await connected(runtime, barge_in="")
    await speak_over_the_agent(runtime, session, call_id)
    await session.wait_until(lambda: uncleared(session), timeout=5)


async def test_the_namespace_has_the_typings_names(runtime: Runtime):
    session = await start(runtime, """
require(Modules.Gemini);
Logger.write('backend ' + Gemini.Backend.GEMINI_API + ' ' + Gemini.Backend.VERTEX_AI);
Logger.write('events ' + Object.values(Gemini.LiveAPIEvents).join(' '));
Logger.write('media ' + Object.values(Gemini.Events).join(' '));
try { new Gemini.LiveAPIClient(); } catch (e) { Logger.write('new ' + e.message); }
""")
    await session.wait_until(lambda: any(line.startswith("new ") for line in user_lines(session)), timeout=5)
    lines = user_lines(session)
    assert "backend GeminiAPI VertexAI" in lines
    assert ("events Gemini.LiveAPI.Unknown Gemini.LiveAPI.ServerContent Gemini.LiveAPI.ToolCall "
            "Gemini.LiveAPI.ToolCallCancellation Gemini.LiveAPI.ConnectorInformation Gemini.LiveAPI.SetupComplete"
            in lines)
    assert "media Gemini.Events.WebSocketMediaStarted Gemini.Events.WebSocketMediaEnded" in lines
    assert "new Gemini.LiveAPIClient is created by its factory, not with new" in lines

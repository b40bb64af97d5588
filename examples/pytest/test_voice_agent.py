"""A voice-AI scenario tested offline: an OpenAI Realtime scenario as Voximplant's guide writes it, a scripted agent
that calls a tool, a scripted caller, and assertions on the conversation's transcript (docs/voice-ai.md)."""

SCENARIO = """
require(Modules.OpenAI);
VoxEngine.addEventListener(AppEvents.CallAlerting, async ({call}) => {
  call.answer();
  const client = await OpenAI.createRealtimeAPIClient({
    apiKey: 'sk-not-needed-offline',
    onWebSocketClose: () => VoxEngine.terminate(),
  });
  call.addEventListener(CallEvents.Disconnected, () => { client.close(); VoxEngine.terminate(); });
  VoxEngine.sendMediaBetween(call, client);
  client.addEventListener(OpenAI.RealtimeAPIEvents.InputAudioBufferSpeechStarted, () => client.clearMediaBuffer());
  client.addEventListener(OpenAI.RealtimeAPIEvents.ResponseFunctionCallArgumentsDone, (e) => {
    const {call_id, arguments: args} = e.data.payload;
    const people = JSON.parse(args).people;
    client.conversationItemCreate({item: {type: 'function_call_output', call_id,
                                          output: JSON.stringify({table: 12, people})}});
    client.responseCreate({});
  });
  client.sessionUpdate({session: {type: 'realtime', instructions: 'You are the host of Bella, a restaurant.',
    tools: [{type: 'function', name: 'book_table', parameters: {type: 'object'}}]}});
  client.responseCreate({});
});
"""

AGENT = {  # what the scripted agent says and does, whatever the vendor
    "match": {"prompt": "Bella"},
    "greeting": "Hello, this is Bella.",
    "turns": [
        {"said": "table", "actions": [{"tool": {"name": "book_table", "args": {"people": 2}}},
                                      {"say": "Done: {result}"}]},
        {"said": "bye", "actions": [{"say": "Goodbye!"}, {"hangup": True}]},
    ],
}

CALLER = [  # what the scripted caller does
    {"wait_for_agent": True},
    {"say": "A table for two, please"},
    {"wait_for_agent": True},
    {"say": "Thanks, bye"},
    {"wait_for_agent": True},
]


async def test_the_agent_books_a_table(voxsim_api, voxsim_conversation):
    app = await voxsim_api("add_application", application_name="bella")
    scenario = await voxsim_api("add_scenario", scenario_name="agent", scenario_script=SCENARIO,
                                application_id=app["application_id"])
    await voxsim_api("add_rule", application_id=app["application_id"], rule_name="all", rule_pattern=".*",
                     scenario_id=scenario["scenario_id"])
    transcript = await voxsim_conversation("100", "bella", caller=CALLER, agent=AGENT)
    assert transcript["error"] == ""
    lines = [(turn["who"], turn["text"]) for turn in transcript["turns"]]
    assert lines == [("agent", "Hello, this is Bella."), ("caller", "A table for two, please"),
                     ("agent", 'Done: {"table":12,"people":2}'), ("caller", "Thanks, bye"), ("agent", "Goodbye!")]
    assert transcript["tool_calls"][0]["name"] == "book_table"
    assert transcript["tool_calls"][0]["arguments"] == {"people": 2}
    assert len(transcript["latency_ms"]["samples"]) == 2  # from each of the caller's last words to the agent's first

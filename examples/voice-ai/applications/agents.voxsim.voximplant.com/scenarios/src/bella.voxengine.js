// A restaurant's voice agent on OpenAI Realtime, as Voximplant's guide writes it. Offline, voxsim's scripted
// agent (examples/voice-ai/agents/bella.yaml) plays OpenAI's part.
require(Modules.OpenAI);

VoxEngine.addEventListener(AppEvents.CallAlerting, async ({call}) => {
  call.answer();
  const client = await OpenAI.createRealtimeAPIClient({
    apiKey: 'sk-not-needed-offline',
    model: 'gpt-realtime',
    onWebSocketClose: () => VoxEngine.terminate(),
  });
  call.addEventListener(CallEvents.Disconnected, () => { client.close(); VoxEngine.terminate(); });
  VoxEngine.sendMediaBetween(call, client);

  // Barge-in: the caller speaks over the agent.
  client.addEventListener(OpenAI.RealtimeAPIEvents.InputAudioBufferSpeechStarted, () => client.clearMediaBuffer());
  client.addEventListener(OpenAI.RealtimeAPIEvents.ConversationItemInputAudioTranscriptionCompleted, (e) => {
    Logger.write('caller: ' + e.data.payload.transcript);
  });
  client.addEventListener(OpenAI.RealtimeAPIEvents.ResponseOutputAudioTranscriptDone, (e) => {
    Logger.write('agent: ' + e.data.payload.transcript);
  });
  // The agent asks to book a table: answer the function call, then ask for the next response.
  client.addEventListener(OpenAI.RealtimeAPIEvents.ResponseFunctionCallArgumentsDone, (e) => {
    const {call_id, name, arguments: args} = e.data.payload;
    Logger.write('tool ' + name + ' ' + args);
    client.conversationItemCreate({item: {type: 'function_call_output', call_id,
                                          output: JSON.stringify({table: 12})}});
    client.responseCreate({});
  });

  client.sessionUpdate({session: {
    type: 'realtime',
    instructions: 'You are the host of Bella, a restaurant. Book tables.',
    tools: [{type: 'function', name: 'book_table', description: 'Books a table',
             parameters: {type: 'object', properties: {people: {type: 'number'}}}}],
  }});
  client.responseCreate({});  // the agent speaks first
});

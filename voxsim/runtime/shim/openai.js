/*
 * voxsim: require(Modules.OpenAI) — the Realtime API clients, GA (OpenAI.createRealtimeAPIClient) and legacy
 * (OpenAI.Beta.createRealtimeAPIClient), over the connector of connectors.js (wss://local/openai). Names and
 * values are the official typings'; voxsim/voice_ai/openai.py is the agent's side.
 */
(function (global) {
  'use strict';
  const kit = global.__voxKit;
  const connectors = global.__voxConnectors;
  const freeze = Object.freeze;

  const { enumOf, mediaEventsOf, framesOf } = connectors;

  const GA_EVENTS = [
    'Unknown', 'HTTPResponse', 'Error', 'SessionCreated', 'SessionUpdated', 'ConversationItemAdded',
    'ConversationItemDone', 'ConversationItemRetrieved', 'ConversationItemInputAudioTranscriptionCompleted',
    'ConversationItemInputAudioTranscriptionDelta', 'ConversationItemInputAudioTranscriptionSegment',
    'ConversationItemInputAudioTranscriptionFailed', 'ConversationItemTruncated', 'ConversationItemDeleted',
    'InputAudioBufferCommitted', 'InputAudioBufferCleared', 'InputAudioBufferSpeechStarted',
    'InputAudioBufferSpeechStopped', 'InputAudioBufferTimeoutTriggered', 'ResponseCreated', 'ResponseDone',
    'ResponseOutputItemAdded', 'ResponseOutputItemDone', 'ResponseContentPartAdded', 'ResponseContentPartDone',
    'ResponseOutputTextDelta', 'ResponseOutputTextDone', 'ResponseOutputAudioTranscriptDelta',
    'ResponseOutputAudioTranscriptDone', 'ResponseOutputAudioDone', 'ResponseFunctionCallArgumentsDelta',
    'ResponseFunctionCallArgumentsDone', 'ResponseMCPCallArgumentsDelta', 'ResponseMCPCallArgumentsDone',
    'ResponseMCPCallInProgress', 'ResponseMCPCallCompleted', 'ResponseMCPCallFailed', 'MCPListToolsInProgress',
    'MCPListToolsCompleted', 'MCPListToolsFailed', 'WebSocketError', 'ConnectorInformation',
  ];
  const BETA_EVENTS = [
    'Unknown', 'Error', 'SessionCreated', 'SessionUpdated', 'ConversationCreated', 'ConversationItemCreated',
    'ConversationItemRetrieved', 'ConversationItemInputAudioTranscriptionCompleted',
    'ConversationItemInputAudioTranscriptionDelta', 'ConversationItemInputAudioTranscriptionFailed',
    'ConversationItemTruncated', 'ConversationItemDeleted', 'InputAudioBufferCommitted', 'InputAudioBufferCleared',
    'InputAudioBufferSpeechStarted', 'InputAudioBufferSpeechStopped', 'ResponseCreated', 'ResponseDone',
    'ResponseOutputItemAdded', 'ResponseOutputItemDone', 'ResponseContentPartAdded', 'ResponseContentPartDone',
    'ResponseTextDelta', 'ResponseTextDone', 'ResponseAudioTranscriptDelta', 'ResponseAudioTranscriptDone',
    'ResponseAudioDone', 'ResponseFunctionCallArgumentsDelta', 'ResponseFunctionCallArgumentsDone',
    'RateLimitsUpdated',
  ];

  // GA methods take the client event without its type; the frame is the method's name in PascalCase.
  const gaMethods = framesOf(['sessionUpdate', 'inputAudioBufferClear', 'inputAudioBufferCommit', 'conversationItemCreate',
    'conversationItemRetrieve', 'conversationItemTruncate', 'conversationItemDelete', 'responseCreate',
    'responseCancel']);

  // Beta methods are positional (the typings' signatures); each becomes the same frame as in GA.
  const withEvent = (payload, eventId) =>
    (eventId === undefined ? payload : Object.assign(payload, { event_id: eventId }));
  const betaMethods = {
    sessionUpdate: (a) => ({ customEvent: 'SessionUpdate', payload: withEvent({ session: a[0] }, a[1]) }),
    conversationItemCreate: (a) => ({ customEvent: 'ConversationItemCreate',
      payload: withEvent({ previous_item_id: a[0] === undefined ? null : a[0], item: a[1] }, a[2]) }),
    conversationItemRetrieve: (a) => ({ customEvent: 'ConversationItemRetrieve',
      payload: withEvent({ item_id: a[0] }, a[1]) }),
    conversationItemTruncate: (a) => ({ customEvent: 'ConversationItemTruncate',
      payload: withEvent({ item_id: a[0], content_index: a[1], audio_end_ms: a[2] }, a[3]) }),
    conversationItemDelete: (a) => ({ customEvent: 'ConversationItemDelete',
      payload: withEvent({ item_id: a[0] }, a[1]) }),
    responseCreate: (a) => ({ customEvent: 'ResponseCreate', payload: withEvent({ response: a[0] || {} }, a[1]) }),
    responseCancel: (a) => ({ customEvent: 'ResponseCancel', payload: withEvent({}, a[0]) }),
  };

  function install(g) {
    const Events = mediaEventsOf('OpenAI');
    const RealtimeAPIEvents = enumOf('OpenAI.RealtimeAPI.', GA_EVENTS,
      { RateLimitsUpdated: 'OpenAI.RealtimeAPI.ResponseMCPCallFailed' });  // sic: the typings' value
    const ga = connectors.define({ path: 'openai', name: 'OpenAI.RealtimeAPIClient', events: RealtimeAPIEvents,
      mediaEvents: Events, methods: gaMethods, defaults: { model: 'gpt-realtime' } });
    const BetaEvents = mediaEventsOf('OpenAI.Beta');
    const BetaAPIEvents = enumOf('OpenAI.Beta.RealtimeAPI.', BETA_EVENTS);
    const beta = connectors.define({ path: 'openai', name: 'OpenAI.Beta.RealtimeAPIClient', events: BetaAPIEvents,
      mediaEvents: BetaEvents, methods: betaMethods, defaults: { beta: true } });
    g.OpenAI = freeze({
      createRealtimeAPIClient: ga.factory,
      RealtimeAPIClient: ga.Client,
      RealtimeAPIEvents: RealtimeAPIEvents,
      RealtimeAPIClientType: freeze({ REALTIME: 'realtime', TRANSCRIPTION: 'transcription' }),
      Events: Events,
      Beta: freeze({
        createRealtimeAPIClient: beta.factory,
        RealtimeAPIClient: beta.Client,
        RealtimeAPIEvents: BetaAPIEvents,
        Events: BetaEvents,
      }),
    });
  }

  kit.defineModule('openai', () => install(global));
})(globalThis);

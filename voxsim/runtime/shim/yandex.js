/*
 * voxsim: require(Modules.Yandex) — the Realtime API client (Yandex.createRealtimeAPIClient) over the connector
 * of connectors.js (wss://local/yandex). Yandex speaks OpenAI's Realtime protocol; names and values are the
 * official typings'; voxsim/voice_ai/yandex.py is the agent's side.
 */
(function (global) {
  'use strict';
  const kit = global.__voxKit;
  const connectors = global.__voxConnectors;
  const freeze = Object.freeze;

  const { enumOf, mediaEventsOf, framesOf } = connectors;

  const REALTIME_API_EVENTS = [
    'Unknown', 'HTTPResponse', 'WebSocketError', 'ConnectorInformation', 'Error', 'SessionCreated', 'SessionUpdated',
    'ConversationItemCreated', 'ConversationItemRetrieved', 'ConversationItemInputAudioTranscriptionCompleted',
    'ConversationItemInputAudioTranscriptionDelta', 'ConversationItemInputAudioTranscriptionSegment',
    'ConversationItemInputAudioTranscriptionFailed', 'ConversationItemTruncated', 'ConversationItemDeleted',
    'InputAudioBufferCommitted', 'InputAudioBufferCleared', 'InputAudioBufferSpeechStarted',
    'InputAudioBufferSpeechStopped', 'InputAudioBufferTimeoutTriggered', 'ResponseCreated', 'ResponseDone',
    'ResponseOutputItemAdded', 'ResponseOutputItemDone', 'ResponseContentPartAdded', 'ResponseContentPartDone',
    'ResponseOutputTextDelta', 'ResponseOutputTextDone', 'ResponseOutputAudioTranscriptDelta',
    'ResponseOutputAudioTranscriptDone', 'ResponseOutputAudioDone', 'ResponseFunctionCallArgumentsDelta',
    'ResponseFunctionCallArgumentsDone', 'ResponseMCPCallArgumentsDelta', 'ResponseMCPCallArgumentsDone',
    'ResponseMCPCallInProgress', 'ResponseMCPCallCompleted', 'ResponseMCPCallFailed', 'MCPListToolsInProgress',
    'MCPListToolsCompleted', 'MCPListToolsFailed',
  ];

  // Each method takes the client event without its type; the frame is the method's name in PascalCase.
  const methods = framesOf(['sessionUpdate', 'conversationItemCreate', 'conversationItemRetrieve', 'conversationItemTruncate',
    'conversationItemDelete', 'responseCreate', 'responseCancel']);

  function install(g) {
    const Events = mediaEventsOf('Yandex');
    const RealtimeAPIEvents = enumOf('Yandex.RealtimeAPI.', REALTIME_API_EVENTS,
      { RateLimitsUpdated: 'Yandex.RealtimeAPI.ResponseMCPCallFailed' });  // sic: the typings' value
    const client = connectors.define({ path: 'yandex', name: 'Yandex.RealtimeAPIClient', events: RealtimeAPIEvents,
      mediaEvents: Events, methods: methods, defaults: { model: 'speech-realtime-250923' } });
    g.Yandex = freeze({
      createRealtimeAPIClient: client.factory,
      RealtimeAPIClient: client.Client,
      RealtimeAPIEvents: RealtimeAPIEvents,
      Events: Events,
    });
  }

  kit.defineModule('yandex', () => install(global));
})(globalThis);

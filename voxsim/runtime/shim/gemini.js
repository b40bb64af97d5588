/*
 * voxsim: require(Modules.Gemini) — the Live API client (Gemini.createLiveAPIClient) over the connector of
 * connectors.js (wss://local/gemini). Names and values are the official typings'; voxsim/voice_ai/gemini.py is
 * the model's side.
 */
(function (global) {
  'use strict';
  const kit = global.__voxKit;
  const connectors = global.__voxConnectors;
  const freeze = Object.freeze;

  const { enumOf, mediaEventsOf } = connectors;

  // The typings' members, and SetupComplete: the connector sends it first (the typings' own comments and the
  // platform's logs name it, though the enum lacks it). UsageMetadata frames have no member: they are Unknown.
  const LIVE_API_EVENTS = ['Unknown', 'ServerContent', 'ToolCall', 'ToolCallCancellation', 'ConnectorInformation',
    'SetupComplete'];

  function install(g) {
    const Events = mediaEventsOf('Gemini');
    const LiveAPIEvents = enumOf('Gemini.LiveAPI.', LIVE_API_EVENTS);
    const live = connectors.define({ path: 'gemini', name: 'Gemini.LiveAPIClient', events: LiveAPIEvents,
      mediaEvents: Events, defaults: { model: 'gemini-2.0-flash-exp', backend: 'GeminiAPI' },
      methods: { sendClientContent: 'ClientContent', sendRealtimeInput: 'RealtimeInput',
        sendToolResponse: 'ToolResponse' } });
    g.Gemini = freeze({
      createLiveAPIClient: live.factory,
      LiveAPIClient: live.Client,
      LiveAPIEvents: LiveAPIEvents,
      Events: Events,
      Backend: freeze({ GEMINI_API: 'GeminiAPI', VERTEX_AI: 'VertexAI' }),
    });
  }

  kit.defineModule('gemini', () => install(global));
})(globalThis);

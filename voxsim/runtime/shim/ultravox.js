/*
 * voxsim: require(Modules.Ultravox) — Ultravox.createWebSocketAPIClient over the connector of connectors.js
 * (wss://local/ultravox). Names and values are the official typings' (plus the members the platform's reference
 * added since: userTextMessage, dataConnectionToolResult, forcedAgentMessage, hangUp and the
 * DataConnectionToolInvocation event); voxsim/voice_ai/ultravox.py is the agent's side.
 */
(function (global) {
  'use strict';
  const kit = global.__voxKit;
  const connectors = global.__voxConnectors;
  const freeze = Object.freeze;

  const { enumOf, mediaEventsOf, framesOf } = connectors;

  const API_EVENTS = [
    'Unknown', 'HTTPResponse', 'State', 'Transcript', 'ClientToolInvocation', 'DataConnectionToolInvocation', 'Debug',
    'PlaybackClearBuffer', 'WebSocketError', 'ConnectorInformation',
  ];

  // Each method sends the Ultravox data message it is given; the frame is the method's name in PascalCase.
  const methods = framesOf(['inputTextMessage', 'userTextMessage', 'setOutputMedium', 'clientToolResult',
    'dataConnectionToolResult', 'forcedAgentMessage', 'hangUp']);

  function install(g) {
    const Events = mediaEventsOf('Ultravox');
    const WebSocketAPIEvents = enumOf('Ultravox.WebSocketAPI.', API_EVENTS);
    const client = connectors.define({ path: 'ultravox', name: 'Ultravox.WebSocketAPIClient',
      events: WebSocketAPIEvents, mediaEvents: Events, methods: methods, defaults: { endpoint: 'CreateCall' } });
    g.Ultravox = freeze({
      createWebSocketAPIClient: client.factory,
      WebSocketAPIClient: client.Client,
      WebSocketAPIEvents: WebSocketAPIEvents,
      Events: Events,
      HTTPEndpoint: freeze({ CREATE_CALL: 'CreateCall', CREATE_AGENT_CALL: 'CreateAgentCall', JOIN_CALL: 'JoinCall' }),
    });
  }

  kit.defineModule('ultravox', () => install(global));
})(globalThis);

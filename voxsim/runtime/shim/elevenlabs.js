/*
 * voxsim: require(Modules.ElevenLabs) — the Agents client (ElevenLabs.createAgentsClient) and its older name
 * (ElevenLabs.createConversationalAIClient, events 'ElevenLabs.ConversationalAI.*', as typings v25 had it) over the
 * connector of connectors.js (wss://local/elevenlabs). Names and values are the official typings';
 * voxsim/voice_ai/elevenlabs.py is the agent's side. createRealtimeTTSPlayer is not emulated.
 */
(function (global) {
  'use strict';
  const kit = global.__voxKit;
  const connectors = global.__voxConnectors;
  const freeze = Object.freeze;

  const { enumOf, mediaEventsOf, framesOf } = connectors;

  const CONVERSATIONAL_AI_EVENTS = [
    'Unknown', 'HTTPResponse', 'ConversationInitiationMetadata', 'Ping', 'UserTranscript', 'AgentResponse',
    'AgentResponseCorrection', 'Interruption', 'ContextualUpdate', 'ClientToolCall', 'VadScore',
    'InternalTentativeAgentResponse',
  ];
  const AGENTS_EVENTS = CONVERSATIONAL_AI_EVENTS.concat(['WebSocketError', 'ConnectorInformation', 'AgentToolResponse']);

  // Each method sends the ElevenLabs client message it is given; the frame is the method's name in PascalCase.
  const methods = framesOf(['conversationInitiationClientData', 'clientToolResult', 'contextualUpdate', 'userMessage']);

  // The realtime TTS player is a text-to-speech player, not an agent: voxsim does not emulate it.
  function RealtimeTTSPlayer() { throw kit.notEmulated('ElevenLabs.RealtimeTTSPlayer'); }
  for (const m of ['append', 'sendText', 'clearBuffer']) {
    RealtimeTTSPlayer.prototype[m] = () => { throw kit.notEmulated('ElevenLabs.RealtimeTTSPlayer', m); };
  }

  function install(g) {
    const Events = mediaEventsOf('ElevenLabs');
    const AgentsEvents = enumOf('ElevenLabs.Agents.', AGENTS_EVENTS);
    const ConversationalAIEvents = enumOf('ElevenLabs.ConversationalAI.', CONVERSATIONAL_AI_EVENTS);
    const agents = connectors.define({ path: 'elevenlabs', name: 'ElevenLabs.AgentsClient', events: AgentsEvents,
      mediaEvents: Events, methods: methods });
    const legacy = connectors.define({ path: 'elevenlabs', name: 'ElevenLabs.ConversationalAIClient',
      events: ConversationalAIEvents, mediaEvents: Events, methods: methods });
    g.ElevenLabs = freeze({
      createAgentsClient: agents.factory,
      AgentsClient: agents.Client,
      AgentsEvents: AgentsEvents,
      createConversationalAIClient: legacy.factory,
      ConversationalAIClient: legacy.Client,
      ConversationalAIEvents: ConversationalAIEvents,
      Events: Events,
      createRealtimeTTSPlayer: () => { throw kit.notEmulated('ElevenLabs.createRealtimeTTSPlayer'); },
      RealtimeTTSPlayer: RealtimeTTSPlayer,
    });
  }

  kit.defineModule('elevenlabs', () => install(global));
})(globalThis);

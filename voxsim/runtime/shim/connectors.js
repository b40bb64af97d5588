/*
 * voxsim: the voice-AI clients' common part (OpenAI, Ultravox, ElevenLabs, Gemini, ...).
 *
 * As on the platform, a client is a VoxEngine WebSocket to a connector at wss://local/<vendor>
 * (voxsim/runtime/local_socket.py; a scripted agent of voxsim/voice_ai answers there). Every frame is JSON
 * {customEvent, payload}; the agent's audio is the socket's media stream. A client is registered as the
 * socket's media unit, so VoxEngine.sendMediaBetween(call, client) and client.sendMediaTo(call) work as for a
 * WebSocket. Scenario methods become frames ({customEvent: 'SessionUpdate', payload}); frames become the
 * vendor's events, {name, id, client, data: {customEvent, payload}}; the socket's media events become
 * '<Ns>.Events.WebSocketMediaStarted/Ended'; its close calls parameters.onWebSocketClose.
 *
 * A vendor file calls __voxConnectors.define(spec) and puts the factory it returns in its namespace:
 *   spec = { path: 'openai', name: 'OpenAI.RealtimeAPIClient', events: <the API events enum>,
 *            mediaEvents: <the '<Ns>.Events' enum>, methods: { sessionUpdate: 'SessionUpdate', ... } }
 * A method's value is the frame name (its one argument is the payload) or a function(args) -> payload
 * returning {customEvent, payload}.
 */
(function (global) {
  'use strict';
  const kit = global.__voxKit;
  const { push, newId, register, listeners, emit, invoke, plain, isObject, Emitter, MediaSource,
    WebSocketEvents, WebSocketReadyState, NativePromise } = kit;
  const stringify = JSON.stringify;
  const parse = JSON.parse;

  function paramsHeader(parameters) {
    const copy = {};
    for (const key of Object.keys(parameters)) {
      if (typeof parameters[key] !== 'function') copy[key] = parameters[key];
    }
    return stringify(plain(copy, 'parameters') || {});
  }

  function apiEvent(client, customEvent, payload) {
    const events = client._spec.events;
    const name = events[customEvent] || events.Unknown;
    emit(listeners(client), name, client,
      { name: name, id: client._clientId, client: client, data: { customEvent: customEvent, payload: payload } });
  }

  function mediaEvent(client, which, ev) {
    const name = client._spec.mediaEvents[which];
    const payload = Object.assign({}, ev, { name: name, client: client });
    delete payload.websocket;
    emit(listeners(client), name, client, payload);
  }

  // The socket's events, as websocket.py reports them for the client's id.
  function onSocket(client) {
    const on = (name, fn) => kit.listeners(client).set(name, [fn]);
    on(WebSocketEvents.OPEN, () => {
      if (client._resolve) { const r = client._resolve; client._resolve = client._reject = null; r(client); }
    });
    on(WebSocketEvents.ERROR, (ev) => {
      if (client._reject) {
        const r = client._reject;
        client._resolve = client._reject = null;
        r(new Error(client._spec.name + ': ' + String(ev.reason || 'the connector could not be reached')));
      }
    });
    on(WebSocketEvents.MESSAGE, (ev) => {
      let frame;
      try { frame = parse(String(ev.text)); } catch (e) { return; }
      if (!isObject(frame) || frame.customEvent === undefined) return;
      apiEvent(client, String(frame.customEvent), frame.payload === undefined ? {} : frame.payload);
    });
    on(WebSocketEvents.MEDIA_STARTED, (ev) => mediaEvent(client, 'WebSocketMediaStarted', ev));
    on(WebSocketEvents.MEDIA_ENDED, (ev) => mediaEvent(client, 'WebSocketMediaEnded', ev));
    on(WebSocketEvents.CLOSE, (ev) => {
      client._closed = true;
      if (client._reject) {
        const r = client._reject;
        client._resolve = client._reject = null;
        r(new Error(client._spec.name + ': the connector closed (' + ev.code + ' ' + (ev.reason || '') + ')'));
        return;
      }
      const handler = client._parameters.onWebSocketClose;
      if (typeof handler === 'function') {
        invoke(handler, client, [{ name: WebSocketEvents.CLOSE, websocket: client, code: ev.code,
          reason: ev.reason, wasClean: ev.wasClean }]);
      }
    });
  }

  function Client(spec, parameters, resolve, reject) {
    register(this, 'websocket', newId('ws'));
    Object.defineProperty(this, '_spec', { value: spec });
    Object.defineProperty(this, '_parameters', { value: parameters });
    this._clientId = newId(spec.path + '-');
    this._resolve = resolve;
    this._reject = reject;
    this._closed = false;
    this._readyState = WebSocketReadyState.CONNECTING;
    onSocket(this);
    push({ op: 'websocket.create', websocket: this._vox_id, url: 'wss://local/' + spec.path, protocols: [],
      headers: { 'X-Voxsim-Parameters': paramsHeader(Object.assign({}, spec.defaults, parameters)) } });
  }
  Object.assign(Client.prototype, MediaSource, {
    addEventListener(event, cb) { Emitter.addEventListener.call(this, event, cb); },
    removeEventListener(event, cb) { Emitter.removeEventListener.call(this, event, cb); },
    id() { return this._clientId; },
    webSocketId() { return this._vox_id; },
    toString() { return this._spec.name + '(' + this._clientId + ')'; },
    close() {
      if (this._closed) return;
      this._closed = true;
      push({ op: 'websocket.close', websocket: this._vox_id, code: 1000, reason: 'Normal connection close' });
    },
    clearMediaBuffer(parameters) {
      push({ op: 'websocket.clearMediaBuffer', websocket: this._vox_id, params: plain(parameters, 'parameters') });
    },
  });

  function frame(client, customEvent, payload) {
    if (client._closed) return;
    push({ op: 'websocket.send', websocket: client._vox_id,
      text: stringify({ customEvent: customEvent, payload: plain(payload, 'parameters') || {} }) });
  }

  function define(spec) {
    function VendorClient() { throw new TypeError(spec.name + ' is created by its factory, not with new'); }
    VendorClient.prototype = Object.create(Client.prototype);
    for (const method of Object.keys(spec.methods)) {
      const how = spec.methods[method];
      VendorClient.prototype[method] = function () {
        if (typeof how === 'function') {
          const made = how(Array.prototype.slice.call(arguments));
          frame(this, made.customEvent, made.payload);
        } else {
          frame(this, how, arguments[0]);
        }
      };
    }
    const factory = function (parameters) {
      const p = isObject(parameters) ? parameters : {};
      kit.markAsync();
      return new NativePromise((resolve, reject) => {
        const client = Object.create(VendorClient.prototype);
        Client.call(client, spec, p, resolve, reject);
      });
    };
    return { factory: factory, Client: VendorClient };
  }

  // `{Name: prefix + Name}` for each name (the typings' enums), plus `extra` members as they are.
  function enumOf(prefix, names, extra) {
    const out = {};
    for (const n of names) out[n] = prefix + n;
    return Object.freeze(Object.assign(out, extra || {}));
  }

  // Methods that send the frame named after them: {sessionUpdate: 'SessionUpdate', ...} (the `methods` of a spec).
  function framesOf(names) {
    const out = {};
    for (const m of names) out[m] = m.charAt(0).toUpperCase() + m.slice(1);
    return out;
  }

  // A vendor namespace's media events: '<ns>.Events.WebSocketMediaStarted' and '...Ended'.
  function mediaEventsOf(ns) { return enumOf(ns + '.Events.', ['WebSocketMediaStarted', 'WebSocketMediaEnded']); }

  Object.defineProperty(global, '__voxConnectors', {
    value: Object.freeze({ define: define, enumOf: enumOf, mediaEventsOf: mediaEventsOf, framesOf: framesOf }),
    writable: false,
    configurable: true, enumerable: false });
})(globalThis);

/*
 * voxsim: the VoxEngine shim. Loaded once into every isolate, before the rule's scenarios.
 *
 * JS never calls Python. Every API call pushes a command onto `outbox`; Python drains it
 * after each delivery (one eval: `__vox.deliver(event)` returns the drained commands as
 * JSON). Results that JS waits for (HTTP responses, timers, media events) come back as
 * later deliveries. Names and string values follow the official VoxEngine typings.
 *
 * The bridge protocol (the events delivered here, the command ops pushed here and their
 * fields) is described in one place: voxsim/runtime/protocol.py. Change both together;
 * tests/runtime/test_protocol.py checks that every op pushed here has a Python handler.
 */
(function (global) {
  'use strict';

  // Intrinsics captured before any scenario runs, so a scenario that reassigns them
  // cannot break the bridge.
  const stringify = JSON.stringify;
  const parse = JSON.parse;
  const defineProperty = Object.defineProperty;
  const freeze = Object.freeze;
  const NativePromise = Promise;

  // ---------------------------------------------------------------- enums

  const AppEvents = freeze({
    CallAlerting: 'Application.CallAlerting',
    Started: 'Application.Started',
    HttpRequest: 'Application.HttpRequest',
    Terminating: 'Application.Terminating',
    Terminated: 'Application.Terminated',
    WebSocket: 'AppEvents.NewWebSocketConnection',
    NewWebSocketFailed: 'Application.OnNewWebSocketFailed',
  });

  const CALL_EVENT_NAMES = [
    'Connected', 'Disconnected', 'Failed', 'Ringing', 'AudioStarted', 'ToneReceived',
    'ToneDetected', 'PlaybackStarted', 'PlaybackReady', 'PlaybackFinished', 'MessageReceived',
    'InfoReceived', 'RecordStarted', 'RecordStopped', 'RecordError', 'StateChanged', 'Statistics',
    'OnHold', 'OffHold', 'MicStatusChange', 'ReInviteReceived', 'ReInviteAccepted',
    'ReInviteRejected', 'TransferComplete', 'TransferFailed', 'BlindTransferRequested',
    'Forwarding', 'PushSent', 'FirstAudioPacketReceived', 'FirstVideoPacketReceived',
    'RtpStopped', 'RtpResumed', 'AudioIdentificationStarted', 'AudioIdentificationResult',
    'AudioIdentificationStopped', 'AudioIdentificationError', 'BeepDetectionComplete',
    'BeepDetectionError', 'AudioQualityDetected',
  ];
  const callEvents = {};
  for (const n of CALL_EVENT_NAMES) callEvents[n] = 'Call.' + n;
  callEvents.VideoTrackCreated = 'Call.Video.TrackCreated';
  const CallEvents = freeze(callEvents);

  const PlayerEvents = freeze({
    Created: 'Player.Created',
    PlaybackReady: 'Player.PlaybackReady',
    Started: 'Player.Started',
    Stopped: 'Player.Stopped',
    PlaybackFinished: 'Player.PlaybackFinished',
    Error: 'Player.Error',
    PlaybackMarkerReached: 'Player.PlaybackMarkerReached',
    PlaybackBuffering: 'Player.Buffering',
  });

  // The typings give no values: voxsim follows the '<Class>.<Event>' pattern of the other enums.
  const SequencePlayerEvents = freeze({
    Created: 'SequencePlayer.Created',
    PlaybackReady: 'SequencePlayer.PlaybackReady',
    Started: 'SequencePlayer.Started',
    Stopped: 'SequencePlayer.Stopped',
    PlaybackFinished: 'SequencePlayer.PlaybackFinished',
    Error: 'SequencePlayer.Error',
    PlaybackMarkerReached: 'SequencePlayer.PlaybackMarkerReached',
  });

  const RecorderEvents = freeze({
    Started: 'Recorder.Started',
    Stopped: 'Recorder.Stopped',
    RecorderError: 'Recorder.Error',
  });

  const WebSocketEvents = freeze({
    OPEN: 'WebSocket.Open',
    CLOSE: 'WebSocket.Close',
    MESSAGE: 'WebSocket.Message',
    ERROR: 'WebSocket.Error',
    CREATED: 'WebSocket.Created',
    MEDIA_STARTED: 'WebSocket.MediaEventStarted',
    MEDIA_ENDED: 'WebSocket.MediaEventEnded',
  });

  // The typings' values: PCM16_8KHZ is PCM8 and PCM16_16KHZ is PCM16 under another name.
  const WebSocketAudioEncoding = freeze({
    PCM8: 'PCM8', PCM16_8KHZ: 'PCM8',
    PCM16: 'PCM16', PCM16_16KHZ: 'PCM16',
    ALAW: 'ALAW', ULAW: 'ULAW', OPUS: 'OPUS',
  });

  const WebSocketReadyState = freeze({ CLOSED: 'closed', CLOSING: 'closing', CONNECTING: 'connecting', OPEN: 'open' });

  const WebSocketCloseCode = freeze({
    CLOSE_NORMAL: 1000, CLOSE_GOING_AWAY: 1001, CLOSE_PROTOCOL_ERROR: 1002, CLOSE_UNSUPPORTED: 1003,
    CLOSED_NO_STATUS: 1005, CLOSE_ABNORMAL: 1006, CLOSE_UNSUPPORTED_PAYLOAD: 1007, CLOSE_POLICY_VIOLATION: 1008,
    CLOSE_TOO_LARGE: 1009, CLOSE_MANDATORY_EXTENSION: 1010, CLOSE_SERVER_ERROR: 1011, CLOSE_SERVICE_RESTART: 1012,
    CLOSE_TRY_AGAIN_LATER: 1013, CLOSE_BAD_GATEWAY: 1014, CLOSE_TLS_FAIL: 1015,
  });

  const DTMFType = freeze({ ALL: 0, TELEPHONE_EVENT: 1, IN_BAND: 2, SIP_INFO: 3 });

  const ACDEvents = freeze({
    OperatorReached: 'ACD.OperatorReached',
    OperatorCallAttempt: 'ACD.OperatorCallAttempt',
    OperatorFailed: 'ACD.OperatorFailed',
    Error: 'ACD.Error',
    Waiting: 'ACD.Waiting',
    Queued: 'ACD.Queued',
    Offline: 'ACD.Offline',
    QueueFull: 'ACD.QueueFull',
  });

  const Modules = freeze({
    ACD: 'acd', AI: 'ai', ApplicationStorage: 'applicationstorage', ASR: 'asr',
    Avatar: 'avatar', Conference: 'conference', ElevenLabs: 'elevenlabs', Gemini: 'gemini',
    IVR: 'ivr', OpenAI: 'openai', PushService: 'pushservice', Recorder: 'recorder',
    SmartQueue: 'smartqueue', StreamingAgent: 'streamingagent', Ultravox: 'ultravox',
    Cartesia: 'cartesia', Yandex: 'yandex', VoximplantAPI: 'voximplantapi',
    CallList: 'calllist',  // not in the typings' enum, but scenarios of the platform's call-list guides use it
  });

  // ---------------------------------------------------------------- session state

  const cfg = { maxTimers: 100, httpMaxPending: 35, maxLogChars: 15000, idPrefix: 'js-', maxExternalBytes: 0 };
  let outbox = [];
  let fatal = null;        // the first uncaught error: ends the session ("JS session error")
  let asyncSeen = false;   // promises in play: Python must drain again after microtasks
  let stage = 'running';   // 'terminating' after Application.Terminating, then 'terminated'
  let customData = '';
  let idSeq = 0;
  let timerSeq = 0;
  let httpSeq = 0;
  let httpAfterTerminating = 0;
  let current = null;      // the handler running now, reported when a delivery times out
  const appHandlers = new Map();
  const handlersOf = new WeakMap();
  const units = new Map(); // id -> Call | Player | Recorder | Conference | WebSocket | ASR
  const timers = new Map();
  const httpPending = new Map();

  // Every command goes through here: { op, ...fields }, ops and fields as in voxsim/runtime/protocol.py (Op).
  function push(cmd) { outbox.push(cmd); }
  function newId(kind) { idSeq += 1; return cfg.idPrefix + kind + idSeq; }

  function describe(err) {
    if (err instanceof Error) {
      return { name: err.name, message: String(err.message), stack: String(err.stack || '') };
    }
    let text;
    try { text = typeof err === 'string' ? err : stringify(err); } catch (e) { text = String(err); }
    return { name: 'Uncaught', message: String(text), stack: '' };
  }

  function fail(err) { if (!fatal) fatal = describe(err); }

  // "Modules.ASR is not emulated by voxsim (used: ASREvents.Result)"
  function notEmulated(what, used) {
    return new Error(what + ' is not emulated by voxsim' + (used ? ' (used: ' + used + ')' : ''));
  }

  // A deep copy with JSON semantics: commands must survive JSON.stringify in `drain`.
  function plain(value, what) {
    if (value === undefined || value === null) return null;
    try { return parse(stringify(value)); } catch (e) {
      throw new TypeError((what || 'argument') + ' must be JSON-serializable: ' + e.message);
    }
  }

  function headersOf(value) {
    if (value === undefined || value === null) return {};
    if (typeof value !== 'object') return {};
    const out = {};
    for (const k of Object.keys(value)) {
      const v = value[k];
      if (v !== undefined && v !== null) out[k] = String(v);
    }
    return out;
  }

  function isThenable(r) {
    return r !== null && (typeof r === 'object' || typeof r === 'function') && typeof r.then === 'function';
  }

  // Runs one scenario callback. A throw (or a rejected promise it returns) is fatal for
  // the session, as on the platform; so is a handler that is not a function.
  function invoke(fn, self, args) {
    if (fatal) return undefined;
    if (typeof fn !== 'function') {
      fail(new TypeError('Event handler is not a function: ' + String(fn)));
      return undefined;
    }
    current = fn;
    try {
      const r = fn.apply(self, args);
      if (isThenable(r)) {
        asyncSeen = true;
        r.then(undefined, fail);
      }
      return r;
    } catch (e) {
      fail(e);
      return undefined;
    } finally {
      current = null;
    }
  }

  // ---------------------------------------------------------------- event emitters

  function listeners(owner) {
    let map = handlersOf.get(owner);
    if (!map) { map = new Map(); handlersOf.set(owner, map); }
    return map;
  }

  function addListener(map, event, cb) {
    let list = map.get(event);
    if (!list) { list = []; map.set(event, list); }
    list.push(cb);
  }

  function removeListener(map, event, cb) {
    if (cb === undefined) { map.delete(event); return; }
    const list = map.get(event);
    if (!list) return;
    const i = list.indexOf(cb);
    if (i >= 0) list.splice(i, 1);
  }

  function emit(map, event, self, payload) {
    const list = map.get(event);
    if (!list) return undefined;
    let value;
    for (const fn of list.slice()) {
      const r = invoke(fn, self, [payload]);
      if (r !== undefined) value = r;
      if (fatal) break;
    }
    return value;
  }

  const Emitter = {
    addEventListener(event, cb) { addListener(listeners(this), String(event), cb); },
    removeEventListener(event, cb) { removeListener(listeners(this), String(event), cb); },
  };

  // ---------------------------------------------------------------- media units

  function unitRef(unit, what) {
    if (unit && typeof unit === 'object' && units.get(unit._vox_id) === unit) {
      return { kind: unit._vox_kind, id: unit._vox_id };
    }
    throw new TypeError((what || 'argument') + ' is not a media unit voxsim emulates (Call, Player, Recorder, ' +
      'Conference, WebSocket, ASR)');
  }

  function register(unit, kind, id) {
    defineProperty(unit, '_vox_id', { value: id });
    defineProperty(unit, '_vox_kind', { value: kind });
    units.set(id, unit);
  }

  // Media to a WebSocket is encoded as `encoding` says; voxsim has no Opus encoder.
  function checkEncoding(to, parameters) {
    if (to.kind === 'websocket' && isObject(parameters) && parameters.encoding === WebSocketAudioEncoding.OPUS) {
      throw notEmulated('WebSocketAudioEncoding.OPUS', 'sendMediaTo');
    }
  }

  const MediaSource = {
    sendMediaTo(unit, parameters) {
      const to = unitRef(unit, 'mediaUnit');
      checkEncoding(to, parameters);
      push({ op: 'media.send', from: unitRef(this), to: to, params: plain(parameters, 'parameters') });
    },
    stopMediaTo(unit) {
      push({ op: 'media.stop', from: unitRef(this), to: unitRef(unit, 'mediaUnit') });
    },
  };

  // ---------------------------------------------------------------- Call

  function Call(info) {
    register(this, 'call', info.id);
    this._incoming = !!info.incoming;
    this._callerid = info.callerid || '';
    this._displayName = info.displayName || '';
    this._number = info.number || '';
    this._clientType = info.clientType || 'sip';
    this._customData = info.customData || '';
    this._state = info.state || 'ALERTING';
    this.is_conf = !!info.isConference;
  }

  // A command on a call: { op: 'call.<...>', call: <the call's id>, ...extra } (protocol.py Op.CALL_*).
  function callCommand(call, op, extra) {
    const cmd = { op: op, call: call._vox_id };
    if (extra) Object.assign(cmd, extra);
    push(cmd);
  }

  Object.assign(Call.prototype, Emitter, MediaSource, {
    id() { return this._vox_id; },
    state() { return this._state; },
    toString() { return 'Call(' + this._vox_id + ')'; },
    incoming() { return this._incoming; },
    callerid() { return this._callerid; },
    displayName() { return this._displayName; },
    number() { return this._number; },
    clientType() { return this._clientType; },
    vad() { return false; },
    customData(data) {
      if (data !== undefined) {
        this._customData = limitedCustomData(data, 'Call.customData');
        callCommand(this, 'call.customData', { data: this._customData });
      }
      return this._customData;
    },
    answer(extraHeaders, parameters) {
      callCommand(this, 'call.answer', { headers: headersOf(extraHeaders), params: plain(parameters, 'parameters') });
    },
    answerDirect(peerCall, extraHeaders, parameters) {
      callCommand(this, 'call.answer', { headers: headersOf(extraHeaders), params: plain(parameters, 'parameters'),
        direct: true, peer: unitRef(peerCall, 'peerCall').id });
    },
    reject(code, extraHeaders) {
      callCommand(this, 'call.reject', { code: Number(code) || 486, headers: headersOf(extraHeaders) });
    },
    decline(code, extraHeaders) { this.reject(code, extraHeaders); },
    hangup(extraHeaders) { callCommand(this, 'call.hangup', { headers: headersOf(extraHeaders) }); },
    ring(extraHeaders) { callCommand(this, 'call.ring', { headers: headersOf(extraHeaders) }); },
    startEarlyMedia(extraHeaders, scheme) {
      callCommand(this, 'call.startEarlyMedia', { headers: headersOf(extraHeaders), scheme: plain(scheme, 'scheme') });
    },
    say(text, parameters) {
      // Legacy form say(text, language, ttsOptions): the 2nd argument is a voice, not an object.
      let params = parameters;
      if (parameters !== undefined && (typeof parameters !== 'object' || parameters === null || parameters._vox_voice)) {
        params = { voice: parameters, ttsOptions: arguments[2] };
      }
      callCommand(this, 'call.say', { text: String(text), params: plain(params, 'parameters') });
    },
    startPlayback(url, parameters) {
      const params = typeof parameters === 'boolean' ? { loop: parameters } : plain(parameters, 'parameters');
      callCommand(this, 'call.startPlayback', { url: String(url), params: params });
    },
    stopPlayback() { callCommand(this, 'call.stopPlayback'); },
    playProgressTone(country) { callCommand(this, 'call.playProgressTone', { country: String(country || 'US') }); },
    sendDigits(digits) { callCommand(this, 'call.sendDigits', { digits: String(digits) }); },
    handleTones(doHandle, supportedDtmfTypes) {
      callCommand(this, 'call.handleTones', { enable: !!doHandle, type: Number(supportedDtmfTypes) || 0 });
    },
    sendMessage(text) { callCommand(this, 'call.sendMessage', { text: String(text) }); },
    sendInfo(mimeType, body, headers) {
      callCommand(this, 'call.sendInfo', { mimeType: String(mimeType), body: String(body), headers: headersOf(headers) });
    },
    record(parameters) { callCommand(this, 'call.record', { params: plain(parameters, 'parameters') }); },
    stopRecording() { callCommand(this, 'call.stopRecording'); },
    handleMicStatus(handle) { callCommand(this, 'call.handleMicStatus', { enable: !!handle }); },
    handleBlindTransfer(handle) { callCommand(this, 'call.handleBlindTransfer', { enable: handle !== false }); },
    notifyBlindTransferSuccess(headers) {
      callCommand(this, 'call.notifyBlindTransfer', { success: true, headers: headersOf(headers) });
    },
    notifyBlindTransferFailed(code, reason, headers) {
      callCommand(this, 'call.notifyBlindTransfer', { success: false, code: Number(code), reason: String(reason || ''),
        headers: headersOf(headers) });
    },
    enableBeepDetection(parameters) { callCommand(this, 'call.beepDetection', { enable: true, params: plain(parameters) }); },
    disableBeepDetection() { callCommand(this, 'call.beepDetection', { enable: false }); },
    transferTo(parameters) {
      const p = parameters || {};
      callCommand(this, 'call.transferTo', { to: p.to === undefined ? null : String(p.to),
        target: p.call ? unitRef(p.call, 'call').id : null, headers: headersOf(p.headers) });
    },
    reInvite(headers, mimeType, body) {
      callCommand(this, 'call.reInvite', reInviteArgs(headers, mimeType, body));
    },
    acceptReInvite(headers, mimeType, body) {
      callCommand(this, 'call.acceptReInvite', reInviteArgs(headers, mimeType, body));
    },
    rejectReInvite(headers, parameters) {
      callCommand(this, 'call.rejectReInvite', { headers: headersOf(headers), params: plain(parameters) });
    },
  });

  function reInviteArgs(headers, mimeType, body) {
    return { headers: headersOf(headers), mimeType: String(mimeType || ''), body: String(body || '') };
  }

  function callFromInfo(info) {
    const known = units.get(info.id);
    return known || new Call(info);
  }

  // ---------------------------------------------------------------- Player, Recorder

  function Player(kind, source, parameters) {
    register(this, 'player', newId('p'));
    push({ op: 'player.create', player: this._vox_id, kind: kind, source: source, params: plain(parameters, 'parameters') });
  }
  Object.assign(Player.prototype, Emitter, MediaSource, {
    id() { return this._vox_id; },
    pause() { push({ op: 'player.pause', player: this._vox_id }); },
    resume() { push({ op: 'player.resume', player: this._vox_id }); },
    stop() { push({ op: 'player.stop', player: this._vox_id }); },
    addMarker(offset) { push({ op: 'player.addMarker', player: this._vox_id, offset: Number(offset) || 0 }); },
  });

  function Recorder(parameters) {
    register(this, 'recorder', newId('r'));
    push({ op: 'recorder.create', recorder: this._vox_id, params: plain(parameters, 'parameters') });
  }
  Object.assign(Recorder.prototype, Emitter, {
    id() { return this._vox_id; },
    stop() { push({ op: 'recorder.stop', recorder: this._vox_id }); },
    mute(doMute) { push({ op: 'recorder.mute', recorder: this._vox_id, mute: !!doMute }); },
  });

  // ---------------------------------------------------------------- Conference, Endpoint (Modules.Conference)

  // A recorder of a conference's mix (video parameters are accepted and ignored: voxsim records audio).
  function ConferenceRecorder(parameters) { Recorder.call(this, parameters); this._priority = []; }
  ConferenceRecorder.prototype = Object.create(Recorder.prototype);
  Object.assign(ConferenceRecorder.prototype, {
    setConference(conference) {
      push({ op: 'media.send', from: unitRef(conference, 'conference'), to: unitRef(this), params: null });
    },
    setPriority(priority) {
      this._priority = Array.isArray(priority) ? priority.slice() : [];
      return Promise.resolve();
    },
    getPriority() { return this._priority.slice(); },
    update() {},
  });

  const ConferenceEvents = freeze({
    ConferenceError: 'Conference.Error',
    Started: 'Conference.Started',
    Stopped: 'Conference.Stopped',
    EndpointAdded: 'Conference.EndpointAdded',
    EndpointUpdated: 'Conference.EndpointUpdated',
    EndpointRemoved: 'Conference.EndpointRemoved',
    EndpointManaged: 'Conference.EndpointManaged',
  });
  const ENDPOINT_MODES = ['MIX', 'FORWARD'];
  const ENDPOINT_DIRECTIONS = ['SEND', 'RECEIVE', 'BOTH'];

  function Conference(parameters) {
    register(this, 'conference', newId('conf'));
    defineProperty(this, '_endpoints', { value: new Map() });
    push({ op: 'conference.create', conference: this._vox_id, params: plain(parameters, 'parameters') });
  }
  Object.assign(Conference.prototype, Emitter, MediaSource, {
    id() { return this._vox_id; },
    stop() { push({ op: 'conference.stop', conference: this._vox_id }); },
    getList() { return Array.from(this._endpoints.values()); },
    get(id) { return this._endpoints.get(String(id)); },
    add(parameters) {
      const p = isObject(parameters) ? parameters : {};
      const unit = p.call;
      const ref = unitRef(unit, 'parameters.call');
      const mode = ENDPOINT_MODES.includes(p.mode) ? p.mode : 'MIX';
      const direction = ENDPOINT_DIRECTIONS.includes(p.direction) ? p.direction : 'BOTH';
      const endpoint = new Endpoint(unit, mode, direction, p.displayName);
      this._endpoints.set(endpoint._vox_endpoint, endpoint);
      push({ op: 'conference.add', conference: this._vox_id, endpoint: endpoint._vox_endpoint, unit: ref,
        mode: mode, direction: direction });
      return endpoint;
    },
  });

  function Endpoint(unit, mode, direction, displayName) {
    defineProperty(this, '_vox_endpoint', { value: newId('ep') });
    defineProperty(this, '_unit', { value: unit });
    this._mode = mode;
    this._direction = direction;
    this._displayName = displayName === undefined ? '' : String(displayName);
  }
  Object.assign(Endpoint.prototype, {
    id() { return this._vox_endpoint; },
    getMode() { return this._mode; },
    getDirection() { return this._direction; },
    getCall() { return this._unit && this._unit._vox_kind === 'call' ? this._unit : undefined; },
    setDisplayName(displayName) { this._displayName = String(displayName); },
    manageEndpoint() { return Promise.resolve(); },
  });

  // ---------------------------------------------------------------- outbound calls

  function isObject(v) { return typeof v === 'object' && v !== null; }
  function opt(v) { return v === undefined || v === null ? null : v; }
  function optString(v) { return v === undefined || v === null ? null : String(v); }

  function dial(kind, number, info, params) {
    const call = new Call(Object.assign({ id: newId('c'), incoming: false, number: String(number) }, info));
    push({ op: 'dial', kind: kind, call: call._vox_id, to: String(number), params: params });
    return call;
  }

  function callSIP(to, a2) {
    let p;
    if (isObject(a2)) {
      p = {
        callerid: optString(a2.callerid), displayName: optString(a2.displayName),
        password: optString(a2.password), authUser: optString(a2.authUser),
        headers: headersOf(a2.headers !== undefined && a2.headers !== null ? a2.headers : a2.extraHeaders),
        video: !!a2.video, outProxy: optString(a2.outProxy), regId: opt(a2.regId), scheme: plain(a2.scheme),
      };
    } else {
      const a = arguments;
      p = {
        callerid: optString(a[1]), displayName: optString(a[2]), password: optString(a[3]),
        authUser: optString(a[4]), headers: headersOf(a[5]), video: !!a[6], outProxy: optString(a[7]),
        regId: null, scheme: plain(a[8]),
      };
    }
    return dial('sip', to, { callerid: p.callerid || '', displayName: p.displayName || '', clientType: 'sip' }, p);
  }

  function callUser(a1) {
    let p;
    if (isObject(a1)) {
      p = {
        username: String(a1.username), callerid: optString(a1.callerid), displayName: optString(a1.displayName),
        headers: headersOf(a1.extraHeaders !== undefined && a1.extraHeaders !== null ? a1.extraHeaders : a1.headers),
        video: !!a1.video, scheme: plain(a1.scheme), analyticsLabel: optString(a1.analyticsLabel),
        pushNotificationTimeout: opt(a1.pushNotificationTimeout),
      };
    } else {
      const a = arguments;
      p = { username: String(a[0]), callerid: optString(a[1]), displayName: optString(a[2]),
        headers: headersOf(a[3]), video: !!a[4], scheme: plain(a[5]) };
    }
    return dial('user', p.username, { callerid: p.callerid || '', displayName: p.displayName || '', clientType: 'user' }, p);
  }

  function callUserDirect(incomingCall, username, a3) {
    let p;
    if (isObject(a3)) {
      p = { callerid: optString(a3.callerid), displayName: optString(a3.displayName), headers: headersOf(a3.extraHeaders) };
    } else {
      p = { callerid: optString(a3), displayName: optString(arguments[3]), headers: headersOf(arguments[4]) };
    }
    p.username = String(username);
    p.incomingCall = unitRef(incomingCall, 'incomingCall').id;
    return dial('userDirect', username, { callerid: p.callerid || '', displayName: p.displayName || '', clientType: 'user' }, p);
  }

  function callPSTN(number, callerid, parameters) {
    const p = { callerid: optString(callerid), followDiversion: !!(parameters && parameters.followDiversion),
      amd: !!(parameters && parameters.amd) };
    return dial('pstn', number, { callerid: p.callerid || '', clientType: 'pstn' }, p);
  }

  function callConference(conferenceId, callerid, displayName, headers, scheme) {
    const p = { callerid: optString(callerid), displayName: optString(displayName), headers: headersOf(headers),
      scheme: plain(scheme) };
    return dial('conference', conferenceId, { callerid: p.callerid || '', displayName: p.displayName || '',
      clientType: 'sip', isConference: true }, p);
  }

  // ---------------------------------------------------------------- easyProcess

  function easyProcess(call1, call2, onEstablished, direct) {
    const isConf = (c) => !!c.is_conf;
    const isPSTN = (c) => c.clientType() === 'pstn';
    call2.addEventListener(CallEvents.Connected, (e) => {
      if (direct) {
        call1.answerDirect(call2, e.headers, { displayName: e.call.displayName() });
        return;
      }
      const params = { displayName: e.call.displayName() };
      if (e.scheme && !isConf(call1) && !isConf(call2)) params.scheme = e.scheme;
      call1.answer(e.headers, params);
    });
    VoxEngine.sendMediaBetween(call1, call2);
    if (typeof onEstablished === 'function') {
      call1.addEventListener(CallEvents.Connected, () => onEstablished(call1, call2));
    }
    call2.addEventListener(CallEvents.Ringing, () => call1.ring());
    call2.addEventListener(CallEvents.AudioStarted, (e) => {
      if (e.scheme) call1.startEarlyMedia(null, e.scheme); else call1.startEarlyMedia();
    });
    const relay = (from, to) => {
      from.addEventListener(CallEvents.MessageReceived, (e) => to.sendMessage(e.text));
      from.addEventListener(CallEvents.InfoReceived, (e) => to.sendInfo(e.mimeType, e.body, e.headers));
    };
    relay(call1, call2);
    relay(call2, call1);
    if (!isPSTN(call1) && !isPSTN(call2)) {
      const reinvites = (from, to) => {
        from.addEventListener(CallEvents.ReInviteReceived, (e) => to.reInvite(e.headers, e.mimeType, e.body));
        from.addEventListener(CallEvents.ReInviteAccepted, (e) => to.acceptReInvite(e.headers, e.mimeType, e.body));
        from.addEventListener(CallEvents.ReInviteRejected, (e) =>
          to.rejectReInvite(e.headers, { code: e.code, reason: e.reason }));
      };
      reinvites(call1, call2);
      reinvites(call2, call1);
    }
    for (const c of [call1, call2]) {
      c.addEventListener(CallEvents.Failed, () => JSession.close());
      c.addEventListener(CallEvents.Disconnected, () => JSession.close());
    }
  }

  function onAlerting(fn) { VoxEngine.addEventListener(AppEvents.CallAlerting, fn); }

  function forwardCallToPSTN(numberTransform, onEstablished, options) {
    onAlerting((e) => {
      const o = options || {};
      const number = typeof numberTransform === 'function' ? numberTransform(e.destination) : e.destination;
      const params = o.followDiversion !== undefined ? { followDiversion: o.followDiversion } : undefined;
      const call2 = VoxEngine.callPSTN(number, o.callerid || e.callerid, params);
      VoxEngine.easyProcess(e.call, call2, onEstablished);
    });
  }

  function forwardCallToSIP(onEstablished, video) {
    onAlerting((e) => {
      const call2 = VoxEngine.callSIP(e.toURI, e.callerid, e.displayName, null, null, null, video);
      VoxEngine.easyProcess(e.call, call2, onEstablished);
    });
  }

  function forwardCallToUser(onEstablished, video) {
    onAlerting((e) => {
      const call2 = VoxEngine.callUser(e.destination, e.callerid, e.displayName, null, video, e.scheme);
      VoxEngine.easyProcess(e.call, call2, onEstablished);
    });
  }

  function forwardCallToUserDirect(onEstablished) {
    onAlerting((e) => {
      const call2 = VoxEngine.callUserDirect(e.call, e.destination,
        { callerid: e.callerid, displayName: e.displayName, extraHeaders: null });
      VoxEngine.easyProcess(e.call, call2, onEstablished, true);
    });
  }

  function playSoundAndHangup(fileURL) {
    onAlerting((e) => {
      const call = e.call;
      call.addEventListener(CallEvents.Connected, () => call.startPlayback(fileURL));
      call.addEventListener(CallEvents.PlaybackFinished, () => call.hangup());
      call.addEventListener(CallEvents.Failed, () => VoxEngine.terminate());
      call.addEventListener(CallEvents.Disconnected, () => VoxEngine.terminate());
      call.answer();
    });
  }

  // ---------------------------------------------------------------- WebSocket

  // Python opens, reads and writes the socket (voxsim/runtime/websocket.py); this object keeps its state from the
  // events (readyState, protocol) and calls the on* handler of an event before its listeners, as the typings say.
  const WEBSOCKET_HANDLERS = {
    'WebSocket.Open': 'onopen', 'WebSocket.Close': 'onclose', 'WebSocket.Message': 'onmessage',
    'WebSocket.Error': 'onerror', 'WebSocket.Created': 'oncreated', 'WebSocket.MediaEventStarted': 'onmediastarted',
    'WebSocket.MediaEventEnded': 'onmediaended',
  };

  function protocolsOf(value) {
    if (value === undefined || value === null) return [];
    return (Array.isArray(value) ? value : [value]).map(String);
  }

  function wsHeaders(value) {
    const out = {};
    if (Array.isArray(value)) {
      for (const h of value) if (isObject(h) && h.name !== undefined) out[String(h.name)] = String(h.value);
      return out;
    }
    return headersOf(value);
  }

  function WebSocket(url, parameters) {
    if (!(this instanceof WebSocket)) return new WebSocket(url, parameters);
    const p = isObject(parameters) ? parameters : {};
    register(this, 'websocket', newId('ws'));
    this._url = String(url);
    this._readyState = WebSocketReadyState.CONNECTING;
    this._protocol = '';
    for (const prop of Object.values(WEBSOCKET_HANDLERS)) this[prop] = null;
    push({ op: 'websocket.create', websocket: this._vox_id, url: this._url, protocols: protocolsOf(p.protocols),
      headers: wsHeaders(p.headers) });
  }
  Object.assign(WebSocket.prototype, Emitter, MediaSource, {
    id() { return this._vox_id; },
    toString() { return 'WebSocket(' + this._vox_id + ')'; },
    send(data) { push({ op: 'websocket.send', websocket: this._vox_id, text: String(data) }); },
    close(code, reason) {
      if (this._readyState === WebSocketReadyState.CLOSED || this._readyState === WebSocketReadyState.CLOSING) return;
      this._readyState = WebSocketReadyState.CLOSING;
      push({ op: 'websocket.close', websocket: this._vox_id, code: Number(code) || 1000,
        reason: reason === undefined ? '' : String(reason) });
    },
    clearMediaBuffer(parameters) {
      push({ op: 'websocket.clearMediaBuffer', websocket: this._vox_id, params: plain(parameters, 'parameters') });
    },
  });
  for (const [name, getter] of [['readyState', function () { return this._readyState; }],
    ['url', function () { return this._url; }], ['protocol', function () { return this._protocol; }]]) {
    defineProperty(WebSocket.prototype, name, { get: getter, enumerable: true });
  }

  // A socket a client opened to the session's access URL (AppEvents.WebSocket): Python accepted it already, and
  // its WebSocket.Open follows the event.
  function inboundWebSocket(id, url) {
    const ws = Object.create(WebSocket.prototype);
    register(ws, 'websocket', String(id));
    ws._url = String(url);
    ws._readyState = WebSocketReadyState.CONNECTING;
    ws._protocol = '';
    for (const prop of Object.values(WEBSOCKET_HANDLERS)) ws[prop] = null;
    return ws;
  }

  // The state an event leaves the socket in, then its on* handler, then its listeners (deliverUnit).
  function websocketEvent(ws, ev, payload) {
    if (ev.name === WebSocketEvents.OPEN) {
      ws._readyState = WebSocketReadyState.OPEN;
      ws._protocol = String((ev.data && ev.data.protocol) || '');
    } else if (ev.name === WebSocketEvents.CLOSE) {
      ws._readyState = WebSocketReadyState.CLOSED;
    }
    const handler = ws[WEBSOCKET_HANDLERS[ev.name]];
    if (handler !== null && handler !== undefined) invoke(handler, ws, [payload]);
  }

  // ---------------------------------------------------------------- ASR (Modules.ASR)

  // Python recognises (voxsim/runtime/asr.py, voxsim/media/asr_unit.py): the text a simulated caller spoke, else
  // voice-activity detection. The ASR is a media unit that only receives: call.sendMediaTo(asr) feeds it.
  const ASREvents = freeze({
    ASRError: 'ASR.Error',
    Started: 'ASR.Started',
    CaptureStarted: 'ASR.CaptureStarted',
    SpeechCaptured: 'ASR.SpeechCaptured',
    Result: 'ASR.Result',
    InterimResult: 'ASR.InterimResult',
    Stopped: 'ASR.Stopped',
  });

  // The typings' ASRProfileList and ASRModelList enums have no values: each member is an opaque string that names
  // itself ('ASRProfileList.Google.en_US'). Every member voxengine.d.ts declares is here, and only those.
  const ASR_PROFILES = {
    Amazon: 'en_GB en_US es_US fr_CA fr_FR',
    Deepgram: 'zh zh_CN zh_TW da nl en en_AU en_GB en_IN en_NZ en_US fr fr_CA de hi hi_Latn id it ja ko no pl pt ' +
      'pt_BR pt_PT ru es es_419 sv ta tr uk',
    Google: 'af_ZA sq_AL am_ET ar_DZ ar_BH ar_EG ar_IQ ar_IL ar_JO ar_KW ar_LB ar_MR ar_MA ar_OM ar_QA ar_SA ar_PS ' +
      'ar_SY ar_TN ar_AE ar_YE hy_AM az_AZ eu_ES bn_BD bn_IN bs_BA bg_BG my_MM ca_ES cmn_Hans_CN cmn_Hans_HK ' +
      'cmn_Hant_TW yue_Hant_HK hr_HR cs_CZ da_DK nl_BE nl_NL en_AU en_CA en_GH en_HK en_IN en_IE en_KE en_NZ ' +
      'en_NG en_PK en_PH en_SG en_ZA en_TZ en_GB en_US et_EE fil_PH fi_FI fr_BE fr_CA fr_FR fr_CH gl_ES ka_GE ' +
      'de_AT de_DE de_CH el_GR gu_IN iw_IL hi_IN hu_HU is_IS id_ID it_IT it_CH ja_JP jv_ID kn_IN kk_KZ km_KH ' +
      'rw_RW ko_KR lo_LA lv_LV lt_LT mk_MK ms_MY ml_IN mr_IN mn_MN ne_NP no_NO fa_IR pl_PL pt_BR pt_PT ' +
      'pa_Guru_IN ro_RO ru_RU sr_RS si_LK sk_SK sl_SI st_ZA es_AR es_BO es_CL es_CO es_CR es_DO es_EC es_SV ' +
      'es_GT es_HN es_MX es_NI es_PA es_PY es_PE es_PR es_ES es_US es_UY es_VE su_ID sw_KE sw_TZ ss_Latn_ZA ' +
      'sv_SE ta_IN ta_MY ta_SG ta_LK te_IN th_TH ts_ZA tn_Latn_ZA tr_TR uk_UA ur_IN ur_PK uz_UZ ve_ZA vi_VN ' +
      'xh_ZA zu_ZA',
    Microsoft: 'af_ZA am_ET ar_AE ar_BH ar_DZ ar_EG ar_IL ar_IQ ar_JO ar_KW ar_LB ar_LY ar_MA ar_OM ar_PS ar_QA ' +
      'ar_SA ar_SY ar_TN ar_YE as_IN az_AZ bg_BG bn_IN bs_BA ca_ES cs_CZ cy_GB da_DK de_AT de_CH de_DE ' +
      'el_GR en_AU en_CA en_GB en_GH en_HK en_IE en_IN en_KE en_NG en_NZ en_PH en_SG en_TZ en_US en_ZA ' +
      'es_AR es_BO es_CL es_CO es_CR es_CU es_DO es_EC es_ES es_GQ es_GT es_HN es_MX es_NI es_PA es_PE ' +
      'es_PR es_PY es_SV es_US es_UY es_VE et_EE eu_ES fa_IR fi_FI fil_PH fr_BE fr_CA fr_CH fr_FR ga_IE ' +
      'gl_ES gu_IN he_IL hi_IN hr_HR hu_HU hy_AM id_ID is_IS it_CH it_IT ja_JP jv_ID ka_GE kk_KZ km_KH ' +
      'kn_IN ko_KR lo_LA lt_LT lv_LV mk_MK ml_IN mn_MN mr_IN ms_MY mt_MT my_MM nb_NO ne_NP nl_BE nl_NL ' +
      'or_IN pa_IN pl_PL ps_AF pt_BR pt_PT ro_RO ru_RU si_LK sk_SK sl_SI so_SO sq_AL sr_RS sv_SE sw_KE ' +
      'sw_TZ ta_IN te_IN th_TH tr_TR uk_UA ur_IN uz_UZ vi_VN wuu_CN yue_CN zh_CN zh_CN_shandong ' +
      'zh_CN_sichuan zh_HK zh_TW zu_ZA',
    SaluteSpeech: 'ru_RU',
    TBank: 'ru_RU',
    Yandex: 'auto de_DE en_US es_ES fi_FI fr_FR he_HE it_IT kk_KK nl_NL pl_PL pt_PT pt_BR ru_RU sv_SE tr_TR uz_UZ',
    YandexV3: 'auto de_DE en_US es_ES fi_FI fr_FR he_HE it_IT kk_KK nl_NL pl_PL pt_PT pt_BR ru_RU sv_SE tr_TR uz_UZ',
  };
  const ASR_MODELS = {
    Amazon: 'default',
    Deepgram: 'default general general_enhanced meeting meeting_enhanced phonecall phonecall_enhanced voicemail ' +
      'finance finance_enhanced conversational video nova_general nova_phonecall nova2_general ' +
      'nova2_meeting nova2_phonecall nova2_voicemail nova2_finance nova2_conversationalai nova2_video ' +
      'nova2_medical nova2_drivethru nova2_automotive nova2_atc nova3_general nova3_medical',
    Google: 'default default_enhanced command_and_search command_and_search_enhanced phone_call phone_call_enhanced ' +
      'video video_enhanced',
    Microsoft: 'default',
    SaluteSpeech: 'default general media callcenter',
    TBank: 'default',
    Yandex: 'default general generalrc dates names maps numbers',
    YandexV3: 'default general generalrc dates names maps numbers',
  };
  const ASR_ENUMS = {
    ASRLanguage: 'ENGLISH_US=en-US ENGLISH_CA=en-CA ENGLISH_UK=en-GB ENGLISH_AU=en-AU SPANISH_ES=es-ES ' +
      'SPANISH_MX=es-MX ITALIAN_IT=it-IT FRENCH_FR=fr-FR FRENCH_CA=fr-CA POLISH_PL=pl-PL ' +
      'PORTUGUES_PT=pt-PT CATALAN_ES=ca-ES CHINESE_TW=cmn-Hant-TW DANISH_DK=da-DK GERMAN_DE=de-DE ' +
      'FINNISH_FI=fi-FI JAPANESE_JP=ja-JP KOREAN_KR=ko-KR DUTCH_NL=nl-NL NORWEGIAN_NO=nb-NO ' +
      'PORTUGUESE_BR=pt-BR RUSSIAN_RU=ru-RU SWEDISH_SE=sv-SE CHINESE_CN=cmn-Hans-CN ' +
      'CHINESE_HK=cmn-Hans-HK AFRIKAANS_ZA=af-ZA INDONESIAN_ID=id-ID MALAYSIA_MY=ms-MY CZECH_CZ=cs-CZ ' +
      'ENGLISH_IN=en-IN ENGLISH_IE=en-IE ENGLISH_NZ=en-NZ ENGLISH_PH=en-PH ENGLISH_ZA=en-ZA ' +
      'SPANISH_AR=es-AR SPANISH_BO=es-BO SPANISH_CL=es-CL SPANISH_CO=es-CO SPANISH_CR=es-CR ' +
      'SPANISH_EC=es-EC SPANISH_SV=es-SV SPANISH_US=es-US SPANISH_GT=es-GT SPANISH_HN=es-HN ' +
      'SPANISH_NI=es-NI SPANISH_PA=es-PA SPANISH_PY=es-PY SPANISH_PE=es-PE SPANISH_PR=es-PR ' +
      'SPANISH_DO=es-DO SPANISH_UY=es-UY SPANISH_VE=es-VE BASQUE_ES=eu-ES FILIPINO_PH=fil-PH ' +
      'GALICIAN_ES=gl-ES CROATIAN_HR=hr-HR ZULU_ZA=zu-ZA ICELANDIC_IS=is-IS LITHUANIAN_LT=lt-LT ' +
      'HUNGARIAN_HU=hu-HU ROMANIAN_RO=ro-RO SLOVAK_SK=sk-SK SLOVENIAN_SL=sl-SI VIETNAMESE_VN=vi-VN ' +
      'TURKISH_TR=tr-TR GREEK_GR=el-GR BULGARIAN_BG=bg-BG SERBIAN_RS=sr-RS UKRAINIAN_UA=uk-UA ' +
      'HEBREW_IL=he-IL ARABIC_IL=ar-IL ARABIC_JO=ar-JO ARABIC_AE=ar-AE ARABIC_BH=ar-BH ARABIC_DZ=ar-DZ ' +
      'ARABIC_SA=ar-SA ARABIC_IQ=ar-IQ ARABIC_KW=ar-KW ARABIC_MA=ar-MA ARABIC_TN=ar-TN ARABIC_OM=ar-OM ' +
      'ARABIC_PS=ar-PS ARABIC_QA=ar-QA ARABIC_LB=ar-LB ARABIC_EG=ar-EG FARSI_IR=fa-IR HINDI_IN=hi-IN ' +
      'THAI_TH=th-TH CANTONESE_HK=yue-Hant-HK AMHARIC_ET=am-ET ARMENIAN_AM=hy-AM AZERBAIJANI_AZ=az-AZ ' +
      'BENGALI_BD=bn-BD BENGALI_IN=bn-IN ENGLISH_GH=en-GH ENGLISH_KE=en-KE ENGLISH_NG=en-NG ' +
      'ENGLISH_TZ=en-TZ GEORGIAN_GE=ka-GE GUJARATI_IN=gu-IN JAVANESE_ID=jv-ID KANNADA_IN=kn-IN ' +
      'KHMER_KH=km-KH LAO_LA=lo-LA LATVIAN_LV=lv-LV MALAYALAM_IN=ml-IN MARATHI_IN=mr-IN NEPALI_NP=ne-NP ' +
      'SINHALA_LK=si-LK SUNDANESE_ID=su-ID SWAHILI_TZ=sw-TZ SWAHILI_KE=sw-KE TAMIL_IN=ta-IN ' +
      'TAMIL_SG=ta-SG TAMIL_LK=ta-LK TAMIL_MY=ta-MY TELUGU_IN=te-IN URDU_PK=ur-PK URDU_IN=ur-IN',
    ASRModel: 'COMMAND_AND_SEARCH=command_and_search PHONE_CALL=phone_call VIDEO=video DEFAULT=default',
    ASRDictionary: 'ADDRESS_RU=asr-dict-address-ru ADDRESS_TR=asr-dict-address-tr ADDRESS=asr-dict-yand-maps ' +
      'NOTES=asr-dict-yand-notes SEARCH_QUERIES=asr-dict-yand-queries MUSIC=asr-dict-yand-music ' +
      'ECOMMERCE=asr-dict-yand-buying NUMBERS_RU=asr-dict-yand-numbers ' +
      'GENERAL_RU=asr-dict-yand-general DATE_RU=asr-dict-yand-dates NAMES_RU=asr-dict-yand-names ' +
      'QUESTIONNAIRE_RU=asr-dict-yand-questionnaire TBANK=asr-dict-tinkoff-',
  };

  function opaqueEnums(path, table) {
    const out = {};
    for (const vendor of Object.keys(table)) {
      const members = {};
      for (const name of table[vendor].split(' ')) members[name] = path + '.' + vendor + '.' + name;
      out[vendor] = freeze(members);
    }
    return freeze(out);
  }

  function valuedEnum(pairs) {
    const out = {};
    for (const pair of pairs.split(' ')) {
      const at = pair.indexOf('=');
      out[pair.slice(0, at)] = pair.slice(at + 1);
    }
    return freeze(out);
  }

  const ASRProfileList = opaqueEnums('ASRProfileList', ASR_PROFILES);
  const ASRModelList = opaqueEnums('ASRModelList', ASR_MODELS);
  const ASRLanguage = valuedEnum(ASR_ENUMS.ASRLanguage);
  const ASRModel = valuedEnum(ASR_ENUMS.ASRModel);
  const ASRDictionary = valuedEnum(ASR_ENUMS.ASRDictionary);

  function ASR(parameters) {
    const p = isObject(parameters) ? parameters : {};
    register(this, 'asr', newId('asr'));
    const language = p.profile !== undefined ? p.profile : p.lang !== undefined ? p.lang : p.language;
    const dictionary = p.dictionary !== undefined ? p.dictionary : p.dict;
    this._language = language === undefined || language === null ? '' : String(language);
    this._dictionary = dictionary === undefined || dictionary === null ? [] :
      (Array.isArray(dictionary) ? dictionary : [dictionary]).map(String);
    this._stopped = false;
    push({ op: 'asr.create', asr: this._vox_id, params: plain(p, 'parameters') });
  }
  Object.assign(ASR.prototype, Emitter, {
    id() { return this._vox_id; },
    toString() { return 'ASR(' + this._vox_id + ')'; },
    language() { return this._language; },
    dictionary() { return this._dictionary.slice(); },
    stop() {
      if (this._stopped) return;
      this._stopped = true;
      push({ op: 'asr.stop', asr: this._vox_id });
    },
  });

  // ---------------------------------------------------------------- VoxEngine

  function thrower(what, used) { return function () { throw notEmulated(what, used); }; }

  // Custom data the scenario sets is at most 200 bytes (UTF-8) on the platform; longer data is refused.
  const MAX_CUSTOM_DATA_BYTES = 200;
  function limitedCustomData(data, what) {
    const text = String(data);
    const bytes = utf8Encode(text).length;
    if (bytes > MAX_CUSTOM_DATA_BYTES) {
      throw new RangeError(what + ': the data is ' + bytes + ' bytes long; the limit is ' + MAX_CUSTOM_DATA_BYTES);
    }
    return text;
  }

  const VoxEngine = {
    addEventListener(event, cb) { addListener(appHandlers, String(event), cb); },
    removeEventListener(event, cb) { removeListener(appHandlers, String(event), cb); },
    customData(data) {
      if (data !== undefined) {
        customData = limitedCustomData(data, 'VoxEngine.customData');
        push({ op: 'customData', data: customData });
      }
      return customData;
    },
    terminate() { push({ op: 'terminate' }); },
    callSIP, callUser, callUserDirect, callPSTN, callConference,
    callWhatsappUser: thrower('VoxEngine.callWhatsappUser'),
    sendMediaBetween(unit1, unit2) {
      // a WebSocket gets the default encoding (PCM8), as from sendMediaTo without parameters
      push({ op: 'media.between', a: unitRef(unit1, 'unit1'), b: unitRef(unit2, 'unit2') });
    },
    stopMediaBetween(unit1, unit2) {
      push({ op: 'media.unbridge', a: unitRef(unit1, 'unit1'), b: unitRef(unit2, 'unit2') });
    },
    easyProcess, forwardCallToPSTN, forwardCallToSIP, forwardCallToUser, forwardCallToUserDirect,
    playSoundAndHangup,
    createTTSPlayer(text, parameters) { return new Player('tts', String(text), parameters); },
    createURLPlayer(request, parameters) {
      const req = typeof request === 'string' ? { url: request } : plain(request, 'request');
      return new Player('url', req, parameters);
    },
    createToneScriptPlayer(script, parameters) { return new Player('tone', String(script), parameters); },
    // a Recorder that can also record a conference (setConference)
    createRecorder(parameters) { return new ConferenceRecorder(parameters); },
    createSequencePlayer(parameters) {
      const segments = isObject(parameters) && Array.isArray(parameters.segments) ? parameters.segments : null;
      if (!segments) throw new TypeError('createSequencePlayer: parameters.segments must be an array');
      const plainSegments = segments.map((segment, n) => {
        if (!isObject(segment) || (typeof segment.text !== 'string' && typeof segment.url !== 'string')) {
          throw new TypeError('createSequencePlayer: segment ' + n + ' needs a text or a url');
        }
        return plain(segment, 'segment ' + n);
      });
      return new Player('sequence', plainSegments, {});
    },
    createASR(parameters) { return new ASR(parameters); },
    createConference(parameters) { return new Conference(parameters); },
    destroyConference(conference) { unitRef(conference, 'conference'); conference.stop(); },
    createWebSocket(url, parameters) { return new WebSocket(url, parameters); },
    // Connections to the session's access URL (ws:// or wss://) become AppEvents.WebSocket (websocket.py).
    allowWebSocketConnections() { push({ op: 'websocket.allowInbound' }); },
    enqueueACDRequest: thrower('Modules.ACD', 'VoxEngine.enqueueACDRequest'),
    enqueueTask: thrower('Modules.SmartQueue', 'VoxEngine.enqueueTask'),
    createStreamingAgent: thrower('Modules.StreamingAgent', 'VoxEngine.createStreamingAgent'),
    enableStatisticsForIncomingWebsockets() {},
    disableStatisticsForIncomingWebsockets() {},
    enableTraceForIncomingWebsockets() {},
    disableTraceForIncomingWebsockets() {},
  };

  const JSession = { close() { VoxEngine.terminate(); } };

  // ---------------------------------------------------------------- Logger, console

  function logText(text) { push({ op: 'log', text: String(text).slice(0, cfg.maxLogChars) }); }

  const Logger = {
    write(message) { logText(message); },
    hideTones(flag) { push({ op: 'log.hideTones', hide: !!flag }); },
  };

  function consoleArg(v) {
    if (typeof v === 'string') return v;
    if (v instanceof Error) return String(v.stack || v);
    try { const s = stringify(v); return s === undefined ? String(v) : s; } catch (e) { return String(v); }
  }
  function consoleWrite() { logText(Array.prototype.map.call(arguments, consoleArg).join(' ')); }
  const console = {
    log: consoleWrite, info: consoleWrite, warn: consoleWrite, error: consoleWrite, debug: consoleWrite,
  };

  // ---------------------------------------------------------------- timers (Python fires them)

  function setTimer(fn, ms, args, repeat) {
    if (stage !== 'running') return 0;  // timers are dead once Terminating fires
    if (typeof fn !== 'function') throw new TypeError('The timer callback must be a function');
    if (timers.size >= cfg.maxTimers) {
      throw new Error('Too many active timers: a session may have at most ' + cfg.maxTimers);
    }
    timerSeq += 1;
    const delay = Math.max(0, Number(ms) || 0);
    timers.set(timerSeq, { fn: fn, args: args, repeat: repeat });
    push({ op: 'timer.set', id: timerSeq, ms: delay, repeat: repeat });
    return timerSeq;
  }

  function clearTimer(id) {
    if (timers.delete(id)) push({ op: 'timer.clear', id: id });
  }

  function fireTimer(id) {
    const t = timers.get(id);
    if (!t) return;
    if (!t.repeat) timers.delete(id);
    invoke(t.fn, global, t.args);
  }

  // ---------------------------------------------------------------- Net

  // Request headers as typed ({name: value}) or in the older typings' form, ["Name: value", ...] (also
  // [{name|key, value}, ...]): each entry is sent as that header.
  function httpHeaders(value) {
    if (!Array.isArray(value)) return headersOf(value);
    const out = {};
    for (const entry of value) {
      if (typeof entry === 'string') {
        const at = entry.indexOf(':');
        if (at > 0) out[entry.slice(0, at).trim()] = entry.slice(at + 1).trim();
      } else if (isObject(entry) && (entry.name !== undefined || entry.key !== undefined)) {
        out[String(entry.name !== undefined ? entry.name : entry.key)] = String(entry.value);
      }
    }
    return out;
  }

  // The legacy options object (`new Net.HttpRequestOptions()`, then its fields set one by one).
  function HttpRequestOptions() {
    this.method = 'GET';
    this.headers = [];
    this.params = {};
    this.postData = undefined;
    this.rawOutput = false;
    this.timeout = undefined;
    this.connectionTimeout = undefined;
    this.enableSystemLog = false;
  }

  function httpOptions(options) {
    const o = options || {};
    let postData = null;
    if (Array.isArray(o.postData)) postData = { bytes: o.postData.map((b) => Number(b) & 255) };
    else if (o.postData !== undefined && o.postData !== null) postData = { text: String(o.postData) };
    return {
      method: String(o.method || 'GET').toUpperCase(), postData: postData, headers: httpHeaders(o.headers),
      params: headersOf(o.params), rawOutput: !!o.rawOutput,
      timeout: o.timeout === undefined || o.timeout === null ? null : Number(o.timeout),
      connectionTimeout: o.connectionTimeout === undefined || o.connectionTimeout === null ? null :
        Number(o.connectionTimeout),
    };
  }

  function httpStart(url, options, onResult) {
    if (stage === 'terminated') throw new Error('HTTP requests are not allowed after Application.Terminated');
    if (stage === 'terminating') {
      if (httpAfterTerminating >= 1) throw new Error('Only one HTTP request is allowed after Application.Terminating');
      httpAfterTerminating += 1;
    }
    if (httpPending.size >= cfg.httpMaxPending) throw new Error('Exceeded the HTTP connection count limit!');
    httpSeq += 1;
    httpPending.set(httpSeq, onResult);
    push({ op: 'http', id: httpSeq, url: String(url), options: httpOptions(options) });
  }

  const Net = {
    httpRequestAsync(url, options) {
      asyncSeen = true;
      let resolve;
      const p = new NativePromise((r) => { resolve = r; });
      httpStart(url, options, resolve);
      return p;
    },
    httpRequest(url, callback, options) {
      httpStart(url, options, (result) => invoke(callback, global, [result]));
    },
    HttpRequestOptions,
    // sendMail and sendMailAsync: shim/mail.js
  };

  function finishHttp(id, result) {
    const onResult = httpPending.get(id);
    if (!onResult) return;
    httpPending.delete(id);
    onResult(result);
  }

  // ---------------------------------------------------------------- ApplicationStorage (storage.py answers)

  let storageSeq = 0;
  const storagePending = new Map();

  // One call: `command(id)` builds its storage.* command (a TypeError it throws rejects the promise, as every
  // refusal does); the StorageResult with that id settles the promise.
  function storageCall(what, command) {
    asyncSeen = true;
    return new NativePromise((resolve, reject) => {
      storageSeq += 1;
      let cmd;
      try { cmd = command(storageSeq); } catch (e) { reject(e); return; }
      storagePending.set(storageSeq, { resolve: resolve, reject: reject, what: what });
      push(cmd);
    });
  }

  function storageText(value, name, what) {
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    throw new TypeError('ApplicationStorage.' + what + ': ' + name + ' must be a string');
  }

  // ttl and count: whole numbers (Python checks the ranges); absent is null, the platform's default.
  function storageNumber(value, name, what) {
    if (value === undefined || value === null) return null;
    const n = Number(value);
    if (!Number.isFinite(n)) throw new TypeError('ApplicationStorage.' + what + ': ' + name + ' must be a number');
    return Math.floor(n);
  }

  const ApplicationStorage = freeze({
    get(key) {
      return storageCall('get', (id) => ({ op: 'storage.get', id: id, key: storageText(key, 'key', 'get') }));
    },
    put(key, value, ttl) {
      return storageCall('put', (id) => ({ op: 'storage.put', id: id, key: storageText(key, 'key', 'put'),
        value: storageText(value, 'value', 'put'), ttl: storageNumber(ttl, 'ttl', 'put') }));
    },
    remove(key) {
      return storageCall('remove', (id) => ({ op: 'storage.remove', id: id,
        key: storageText(key, 'key', 'remove') }));
    },
    keys(pattern, count) {
      return storageCall('keys', (id) => ({ op: 'storage.keys', id: id,
        pattern: pattern === undefined || pattern === null ? null : storageText(pattern, 'pattern', 'keys'),
        count: storageNumber(count, 'count', 'keys') }));
    },
  });

  function finishStorage(id, result) {
    const pending = storagePending.get(id);
    if (!pending) return;
    storagePending.delete(id);
    if (result && result.error !== undefined) {
      const err = new Error('ApplicationStorage.' + pending.what + ': ' + result.error);
      if (result.code !== undefined) err.code = result.code;
      pending.reject(err);
    } else {
      pending.resolve(result ? result.value : null);
    }
  }

  // ---------------------------------------------------------------- helpers

  function utf8Encode(str) {
    const out = [];
    const s = String(str);
    for (let i = 0; i < s.length; i++) {
      let c = s.codePointAt(i);
      if (c > 0xffff) i++;
      if (c < 0x80) out.push(c);
      else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
      else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
      else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    }
    return out;
  }

  function utf8Decode(bytes) {
    let out = '';
    for (let i = 0; i < bytes.length;) {
      const b = bytes[i] & 255;
      let c;
      let n;
      if (b < 0x80) { c = b; n = 1; }
      else if (b >= 0xf0) { c = b & 7; n = 4; }
      else if (b >= 0xe0) { c = b & 15; n = 3; }
      else { c = b & 31; n = 2; }
      for (let k = 1; k < n; k++) c = (c << 6) | ((bytes[i + k] & 255) & 63);
      out += String.fromCodePoint(c);
      i += n;
    }
    return out;
  }

  function str2bytes(str, encoding) {
    const enc = String(encoding || 'utf-8').toLowerCase();
    if (enc === 'utf-8' || enc === 'utf8') return utf8Encode(str);
    return Array.prototype.map.call(String(str), (ch) => ch.charCodeAt(0) & 255);
  }

  function bytes2str(bytes, encoding) {
    const enc = String(encoding || 'utf-8').toLowerCase();
    if (enc === 'utf-8' || enc === 'utf8') return utf8Decode(bytes);
    return Array.prototype.map.call(bytes, (b) => String.fromCharCode(b & 255)).join('');
  }

  const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

  function base64_encode(data) {
    const bytes = typeof data === 'string' ? utf8Encode(data) : Array.from(data);
    let out = '';
    for (let i = 0; i < bytes.length; i += 3) {
      const n = (bytes[i] << 16) | ((bytes[i + 1] || 0) << 8) | (bytes[i + 2] || 0);
      out += B64[(n >> 18) & 63] + B64[(n >> 12) & 63];
      out += i + 1 < bytes.length ? B64[(n >> 6) & 63] : '=';
      out += i + 2 < bytes.length ? B64[n & 63] : '=';
    }
    return out;
  }

  function base64_decode(str) {
    const s = String(str).replace(/[^A-Za-z0-9+/]/g, '');
    const out = [];
    for (let i = 0; i < s.length; i += 4) {
      const n = (B64.indexOf(s[i]) << 18) | (B64.indexOf(s[i + 1]) << 12) |
        ((s[i + 2] ? B64.indexOf(s[i + 2]) : 0) << 6) | (s[i + 3] ? B64.indexOf(s[i + 3]) : 0);
      out.push((n >> 16) & 255);
      if (s[i + 2]) out.push((n >> 8) & 255);
      if (s[i + 3]) out.push(n & 255);
    }
    return out;
  }

  function bytes2hex(bytes, upperCase) {
    const hex = Array.prototype.map.call(bytes, (b) => ((b & 255) + 0x100).toString(16).slice(1)).join('');
    return upperCase ? hex.toUpperCase() : hex;
  }

  function hex2bytes(str) {
    const out = [];
    const s = String(str);
    for (let i = 0; i + 1 < s.length; i += 2) out.push(parseInt(s.substr(i, 2), 16));
    return out;
  }

  function uuidgen() {
    const h = [];
    for (let i = 0; i < 16; i++) h.push(Math.floor(Math.random() * 256));
    h[6] = (h[6] & 0x0f) | 0x40;
    h[8] = (h[8] & 0x3f) | 0x80;
    const x = bytes2hex(h);
    return x.slice(0, 8) + '-' + x.slice(8, 12) + '-' + x.slice(12, 16) + '-' + x.slice(16, 20) + '-' + x.slice(20);
  }

  // A Date whose UTC fields read as the wall-clock time in `timezone`.
  function getLocalTime(timezone, date) {
    const d = date === undefined ? new Date() : new Date(date);
    const fmt = new Intl.DateTimeFormat('en-US', { timeZone: String(timezone), hourCycle: 'h23',
      year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    const f = {};
    for (const part of fmt.formatToParts(d)) f[part.type] = Number(part.value);
    return new Date(Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second, d.getUTCMilliseconds()));
  }

  function levenshtein_distance(a, b) {
    const s = String(a);
    const t = String(b);
    let prev = Array.from({ length: t.length + 1 }, (_, j) => j);
    for (let i = 1; i <= s.length; i++) {
      const row = [i];
      for (let j = 1; j <= t.length; j++) {
        row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (s[i - 1] === t[j - 1] ? 0 : 1));
      }
      prev = row;
    }
    return prev[t.length];
  }

  // ---------------------------------------------------------------- modules (require)

  // Any property of a namespace voxsim does not emulate throws when the scenario uses
  // it, so that `require(Modules.X)` alone never breaks a scenario (LocalStack style).
  function unsupported(moduleName, globalName) {
    const fail = (used) => { throw notEmulated(moduleName, used); };
    return new Proxy(function () {}, {
      get(target, prop) {
        if (typeof prop === 'symbol' || prop === 'then' || prop === 'toJSON') return undefined;
        return fail(globalName + '.' + String(prop));
      },
      set(target, prop) { return fail(globalName + '.' + String(prop)); },
      apply() { return fail(globalName + '()'); },
      construct() { return fail('new ' + globalName + '()'); },
    });
  }

  const MODULE_GLOBALS = {
    acd: ['ACDRequest'],
    ai: ['AI'],
    applicationstorage: [],
    calllist: [],  // CallList is always defined (shim/call_list.js)
    asr: [],
    avatar: ['Avatar', 'AvatarEvents', 'VoximplantAvatar'],
    conference: [],
    elevenlabs: ['ElevenLabs'],
    gemini: ['Gemini'],
    ivr: ['IVR', 'IVRState', 'IVRSettings'],
    openai: ['OpenAI'],
    pushservice: ['PushService'],
    recorder: [],
    smartqueue: ['SmartQueue', 'SmartQueueEvents'],
    streamingagent: ['StreamingAgent', 'StreamingAgentEvents'],
    ultravox: ['Ultravox'],
    cartesia: ['Cartesia'],
    yandex: ['Yandex'],
    voximplantapi: ['VoximplantAPI', 'VoximplantApi'],
  };

  function require(module) {
    const key = String(module);
    const names = MODULE_GLOBALS[key];
    if (!names) {
      logText('voxsim: require(' + key + '): unknown module, ignored');
      return undefined;
    }
    const member = Object.keys(Modules).find((k) => Modules[k] === key);
    if (key === 'acd') global.ACDEvents = ACDEvents;
    const installer = moduleInstallers[key];
    if (installer) {
      installer(global);
      return undefined;
    }
    for (const name of names) {
      if (!(name in global)) global[name] = unsupported('Modules.' + member, name);
    }
    return undefined;
  }

  // What require(Modules.X) installs for a module voxsim emulates in a file of its own (voxsim/runtime/shim/*.js,
  // loaded after this one): the file calls kit.defineModule(key, installer) with the function that sets its
  // globals. A module without one gets the not-emulated proxies above.
  const moduleInstallers = {};

  // Voices are opaque values passed back to say()/createTTSPlayer(); any path works.
  function voices(path) {
    const target = { _vox_voice: true, toString: () => path, toJSON: () => path };
    return new Proxy(target, {
      get(t, prop) {
        if (typeof prop === 'symbol' || prop in t) return t[prop];
        return voices(path + '.' + String(prop));
      },
    });
  }

  // ---------------------------------------------------------------- every other official name

  // The typings' top-level names that nothing above defines. Each is a proxy that throws when a scenario uses it,
  // never a ReferenceError: "<Name> is not emulated by voxsim" ("Modules.<Member>" for a module's name); or, for
  // the name of a module that a file of shim/ emulates (kit.defineModule) while the scenario did not require it,
  // the platform's ReferenceError. Files of shim/ that emulate a name assign its global and replace the proxy
  // (they run after this file).
  const DEFAULT_NAMES = ('AI AMD CCAI CallList Cartesia ElevenLabs Gemini IVR IVRState MeasurementProtocol OpenAI ' +
    'Ultravox VoximplantAPI VoximplantApi VoximplantAvatar Yandex ACDRequest SmartQueueTask ' +
    'StreamingAgent').split(' ');

  function moduleOf(name) {
    return Object.keys(MODULE_GLOBALS).find((key) => MODULE_GLOBALS[key].includes(name));
  }

  function defaultName(name) {
    const key = moduleOf(name);
    const member = key && Object.keys(Modules).find((k) => Modules[k] === key);
    const fail = (used) => {
      if (key && moduleInstallers[key]) {
        throw new ReferenceError(name + ' is not defined: require(Modules.' + member + ') defines it');
      }
      throw notEmulated(key ? 'Modules.' + member : name, used);
    };
    return new Proxy(function () {}, {
      get(target, prop) {
        if (typeof prop === 'symbol' || prop === 'then' || prop === 'toJSON') return undefined;
        return fail(name + '.' + String(prop));
      },
      set(target, prop) { return fail(name + '.' + String(prop)); },
      apply() { return fail(name + '()'); },
      construct() { return fail('new ' + name + '()'); },
    });
  }

  // ---------------------------------------------------------------- deliveries from Python

  // Events arrive as { kind, id?, name?, data?, call?, reply? }: see voxsim/runtime/protocol.py
  // (AppEvent, UnitEvent, TimerFired, HttpResult, StorageResult and their encode()).

  const CALL_STATE_AFTER = {
    'Call.Connected': 'CONNECTED', 'Call.Disconnected': 'TERMINATED', 'Call.Failed': 'TERMINATED',
  };

  function deliverApp(ev) {
    if (ev.name === AppEvents.Terminating) stage = 'terminating';
    if (ev.name === AppEvents.Terminated) stage = 'terminated';
    const payload = Object.assign({ name: ev.name }, ev.data);
    if (ev.call) payload.call = callFromInfo(ev.call);
    if (ev.name === AppEvents.WebSocket && ev.data && ev.data.websocket !== undefined) {
      payload.websocket = inboundWebSocket(ev.data.websocket, ev.data.path);
    }
    const value = emit(appHandlers, ev.name, VoxEngine, payload);
    if (ev.reply !== undefined) reply(ev.reply, value);
  }

  function replyBody(value) {
    if (value === undefined || value === null) return { body: '', type: 'text/plain' };
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      return { body: String(value), type: 'text/plain' };
    }
    return { body: stringify(value), type: 'application/json' };
  }

  // The HttpRequest handler's return value is the HTTP reply (a promise is awaited).
  function reply(id, value) {
    if (isThenable(value)) {
      value.then((v) => push(Object.assign({ op: 'http.reply', req: id }, replyBody(v))),
        () => push({ op: 'http.reply', req: id, body: '', type: 'text/plain', error: true }));
      return;
    }
    let body;
    try { body = replyBody(value); } catch (e) { fail(e); body = { body: '', type: 'text/plain', error: true }; }
    push(Object.assign({ op: 'http.reply', req: id }, body));
  }

  function deliverUnit(ev) {
    const unit = units.get(ev.id);
    if (!unit) return;
    const payload = Object.assign({ name: ev.name }, ev.data);
    if (ev.kind === 'call') {
      const next = CALL_STATE_AFTER[ev.name];
      if (next) unit._state = next;
      else if ((ev.name === 'Call.Ringing' || ev.name === 'Call.AudioStarted') && unit._state === 'ALERTING') {
        unit._state = 'PROGRESSING';
      }
      payload.call = unit;
      payload.id = unit._vox_id;
    } else {
      payload[ev.kind] = unit;
    }
    if (ev.kind === 'asr' && ev.name === ASREvents.Stopped) unit._stopped = true;
    if (ev.kind === 'websocket') {
      websocketEvent(unit, ev, payload);
      if (fatal) return;
    }
    if (ev.kind === 'conference' && ev.data && ev.data.endpointId !== undefined) {
      payload.endpoint = unit._endpoints.get(ev.data.endpointId);
      if (ev.name === 'Conference.EndpointRemoved') unit._endpoints.delete(ev.data.endpointId);
    }
    emit(listeners(unit), ev.name, unit, payload);
    if (ev.kind === 'call') for (const watch of callWatchers) if (!fatal) watch(unit, ev.name, payload);
  }

  // What files of shim/ watch on every call (kit.watchCalls(fn)): fn(call, name, payload) after the call's own
  // listeners have run (shim/amd.js starts a detector on Connected and ends it on Disconnected).
  const callWatchers = [];

  function dispatch(ev) {
    switch (ev.kind) {
      case 'app': deliverApp(ev); break;
      case 'call': case 'player': case 'recorder': case 'conference': case 'websocket': case 'asr':
        deliverUnit(ev);
        break;
      case 'timer': fireTimer(ev.id); break;
      case 'http': finishHttp(ev.id, ev.data); break;
      case 'storage': finishStorage(ev.id, ev.data); break;
      default: {
        const deliverKind = kindDeliverers[ev.kind];
        if (!deliverKind) throw new Error('voxsim: unknown delivery kind ' + ev.kind);
        deliverKind(ev);
      }
    }
  }

  // Deliveries of the kinds a file of shim/ answers itself (kit.defineKind(kind, deliver)): `deliver(ev)` gets
  // the event as protocol.py encodes it ({kind, id, data} for an answer).
  const kindDeliverers = {};

  // The reply of every eval: protocol.py `Drained`.
  function drain() {
    const out = outbox;
    outbox = [];
    const result = { commands: out, async: asyncSeen };
    if (fatal) result.fatal = fatal;
    return stringify(result);
  }

  function deliver(ev) {
    if (!fatal) {
      try { dispatch(ev); } catch (e) { fail(e); }
    }
    return drain();
  }

  const bridge = freeze({
    init(options) {
      Object.assign(cfg, options.limits || {});
      customData = String(options.customData || '');
      return drain();
    },
    deliver: deliver,
    drain: drain,
    current() { return current === null ? '' : String(current); },
  });

  // ---------------------------------------------------------------- external memory

  // ArrayBuffer contents live outside the V8 heap, so the isolate's heap limit does not see them (an
  // ArrayBuffer of 64 MB every 100 ms grew one scenario to 6 GB). The constructors are wrapped to count the
  // bytes of every new buffer, a FinalizationRegistry takes them off when the buffer is collected, and a
  // buffer that would pass cfg.maxExternalBytes throws: uncaught, it ends this session only.
  function trackExternalMemory(g) {
    let live = 0;
    const seen = new WeakSet();
    const registry = new FinalizationRegistry((bytes) => { live -= bytes; });
    const count = (buffer) => {
      if (!buffer || seen.has(buffer) || !cfg.maxExternalBytes) return;
      const bytes = buffer.byteLength;
      if (live + bytes > cfg.maxExternalBytes) {
        throw new RangeError('the scenario exhausted the memory limit (' +
          Math.round(cfg.maxExternalBytes / 1048576) + ' MB of ArrayBuffers)');
      }
      seen.add(buffer);
      live += bytes;
      registry.register(buffer, bytes);
    };
    const wrap = (Ctor, bufferOf) => new Proxy(Ctor, {
      construct(target, args, newTarget) {
        const made = Reflect.construct(target, args, newTarget === wrapped.get(target) ? target : newTarget);
        count(bufferOf(made));
        return made;
      },
    });
    const wrapped = new Map();
    wrapped.set(g.ArrayBuffer, null);
    const names = ['ArrayBuffer', 'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array',
      'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array', 'DataView'];
    for (const name of names) {
      const Ctor = g[name];
      if (typeof Ctor !== 'function') continue;
      const proxy = wrap(Ctor, name === 'ArrayBuffer' ? (b) => b : (view) => view.buffer);
      wrapped.set(Ctor, proxy);
      g[name] = proxy;
    }
  }

  // ---------------------------------------------------------------- globals

  const globals = {
    AppEvents, CallEvents, PlayerEvents, SequencePlayerEvents, RecorderEvents, ConferenceEvents, WebSocketEvents,
    WebSocketAudioEncoding, WebSocketReadyState, WebSocketCloseCode, WebSocket, Conference, ConferenceRecorder,
    Endpoint, DTMFType, Modules, VoxEngine, JSession,
    ASR, ASREvents, ASRProfileList, ASRModelList, ASRLanguage, ASRModel, ASRDictionary,
    Logger, Net, ApplicationStorage, Call, Player, Recorder, console, require, ACDEvents,
    BasePlayer: Player, SequencePlayer: Player, Voice: function Voice() {},
    VoiceList: voices('VoiceList'), Language: voices('Language'),
    Crypto: unsupported('Crypto', 'Crypto'), PhoneNumber: unsupported('PhoneNumber', 'PhoneNumber'),
    setTimeout(fn, ms) { return setTimer(fn, ms, Array.prototype.slice.call(arguments, 2), false); },
    setInterval(fn, ms) { return setTimer(fn, ms, Array.prototype.slice.call(arguments, 2), true); },
    clearTimeout: clearTimer,
    clearInterval: clearTimer,
    base64_encode, base64_decode, str2bytes, bytes2str, bytes2hex, hex2bytes, uuidgen, getLocalTime,
    levenshtein_distance,
  };
  // Plain assignment: mini-racer declared setTimeout with `var` (non-configurable).
  for (const name of Object.keys(globals)) global[name] = globals[name];
  for (const name of DEFAULT_NAMES) if (!(name in global)) global[name] = defaultName(name);
  // mini-racer's own setTimeout runs callbacks outside any eval, where no deadline can reach
  // them; the Python-driven timers above replace it, and its building block goes too.
  if (typeof Atomics === 'object') delete Atomics.waitAsync;
  global.__timer_manager = undefined;
  trackExternalMemory(global);
  defineProperty(global, '__vox', { value: bridge, writable: false, configurable: false, enumerable: false });

  // The shim's own pieces, for the files of voxsim/runtime/shim/ that run after this one (connectors, modules).
  // bridge.py deletes `__voxKit` once they have taken it, so scenarios never see it.
  const kit = freeze({
    push, newId, register, units, listeners, emit, invoke, fail, notEmulated, plain, isObject, headersOf,
    logText, unitRef, Emitter, MediaSource, WebSocketEvents, WebSocketReadyState, NativePromise,
    markAsync() { asyncSeen = true; },
    defineModule(key, installer) { moduleInstallers[String(key)] = installer; },
    defineKind(kind, deliver) { kindDeliverers[String(kind)] = deliver; },
    watchCalls(watch) { callWatchers.push(watch); },
  });
  defineProperty(global, '__voxKit', { value: kit, writable: false, configurable: true, enumerable: false });
})(globalThis);

/*
 * voxsim: the VoxEngine `AMD` namespace (answering machine detection), and the `amd` parameter of callPSTN,
 * callSIP and callUser.
 *
 * An extension file of the shim (voxsim/runtime/shim/): it runs after voxengine.js, whose not-emulated default
 * `AMD` it replaces. `AMD.create(parameters)` makes a detector. Given as the `amd` parameter of a call, it starts
 * when the call connects; attached with `call.sendMediaTo(amd)`, it starts on `detect()` (or at Connected when
 * detect() came first). Starting is one `amd.detect` command; voxsim/runtime/amd.py answers with an `amd` delivery
 * (AMD.Events.DetectionComplete with the verdict the call's far end is configured with, or DetectionError). A call
 * that ends while its detector listens completes it with CALL_ENDED, here. `detect()` returns a promise of the
 * event that ends the detection.
 */
(function (global) {
  'use strict';

  const kit = global.__voxKit;
  const freeze = Object.freeze;

  const Events = freeze({ DetectionComplete: 'AMD.Events.DetectionComplete', DetectionError: 'AMD.Events.DetectionError' });
  const Model = freeze({ BR: 'br', CL: 'cl', CO: 'colombia', KZ: 'kz', MX: 'mx', RU: 'ru', PH: 'ph', PE: 'pe', US: 'us',
    EU_GENERAL: 'eu_general' });
  const ResultClass = freeze({ VOICEMAIL: 'VOICEMAIL', HUMAN: 'HUMAN', TIMEOUT: 'TIMEOUT', CALL_ENDED: 'CALL_ENDED' });
  const ResultSubtype = freeze({ MIMIC: 'MIMIC', NONE: 'NONE' });
  const MODELS = Object.keys(Model).map((k) => Model[k]);
  const DEFAULT_TIMEOUT = 6500;
  const MAX_TIMEOUT = 20000;

  // Idle: nothing asked yet; armed: waits for its call to connect; detecting: the amd.detect command went out;
  // done: an event ended the detection (detect() may start another).
  const IDLE = 'idle', ARMED = 'armed', DETECTING = 'detecting', DONE = 'done';
  const byCall = new Map();  // a call's id -> the detector listening to it (the newest one attached)

  function checkedParameters(parameters) {
    if (!kit.isObject(parameters)) throw new TypeError('AMD.create: parameters must be an object (AMD.AMDParameters)');
    if (MODELS.indexOf(parameters.model) < 0) {
      throw new TypeError('AMD.create: model must be one of AMD.Model (' + MODELS.join(', ') + '), not ' +
        String(parameters.model));
    }
    const timeout = parameters.timeout === undefined || parameters.timeout === null ? DEFAULT_TIMEOUT :
      Number(parameters.timeout);
    if (!(timeout >= 0 && timeout <= MAX_TIMEOUT)) {
      throw new RangeError('AMD.create: timeout must be 0 to ' + MAX_TIMEOUT + ' ms, not ' + String(parameters.timeout));
    }
    return { model: parameters.model, timeout: timeout, thresholds: parameters.thresholds };
  }

  function AnsweringMachineDetector(parameters) {
    const p = checkedParameters(parameters);
    kit.register(this, 'amd', kit.newId('amd'));
    this._model = p.model;
    this._timeout = p.timeout;
    this._call = undefined;
    this._state = IDLE;
    this._waiters = [];
  }

  function start(detector) {
    detector._state = DETECTING;
    kit.push({ op: 'amd.detect', amd: detector._vox_id, call: detector._call._vox_id, model: detector.model,
      timeout: detector.timeout });
  }

  function connected(call) {
    return call.state() === 'CONNECTED';
  }

  function finish(detector, name, data) {
    detector._state = DONE;
    const payload = Object.assign({ name: name, amd: detector }, data);
    if (name === Events.DetectionComplete) payload.call = detector._call;
    const waiters = detector._waiters;
    detector._waiters = [];
    kit.emit(kit.listeners(detector), name, detector, payload);
    for (const resolve of waiters) resolve(payload);
  }

  function attach(detector, call, armed) {
    const previous = detector._call;
    if (previous && byCall.get(previous._vox_id) === detector) byCall.delete(previous._vox_id);
    detector._call = call;
    byCall.set(call._vox_id, detector);
    if (armed && detector._state !== DETECTING) {
      if (connected(call)) start(detector); else detector._state = ARMED;
    }
  }

  // The typings' readonly properties.
  Object.defineProperties(AnsweringMachineDetector.prototype, {
    call: { get() { return this._call; } },
    model: { get() { return this._model; } },
    timeout: { get() { return this._timeout; } },
  });

  Object.assign(AnsweringMachineDetector.prototype, kit.Emitter, {
    id() { return this._vox_id; },
    toString() { return 'AMD(' + this._vox_id + ')'; },
    detect() {
      kit.markAsync();
      const promise = new kit.NativePromise((resolve) => this._waiters.push(resolve));
      if (this._state === DETECTING || this._state === ARMED) return promise;
      const call = this._call;
      if (!call) {
        finish(this, Events.DetectionError, { message: 'AMD: no call to listen to: pass the detector as the amd ' +
          'parameter of callPSTN/callSIP/callUser, or call.sendMediaTo(amd) first' });
      } else if (call.state() === 'TERMINATED') {
        finish(this, Events.DetectionError, { callId: call._vox_id, message: 'AMD: the call has ended' });
      } else {
        attach(this, call, true);
      }
      return promise;
    },
  });

  // The call's events that start and end detection (after the call's own listeners).
  kit.watchCalls((call, name) => {
    const detector = byCall.get(call._vox_id);
    if (!detector || detector._call !== call) return;
    if (name === 'Call.Connected' && detector._state === ARMED) {
      start(detector);
    } else if (name === 'Call.Disconnected' || name === 'Call.Failed') {
      byCall.delete(call._vox_id);
      if (detector._state === ARMED) {
        // Never answered: nothing was detected. The call's Failed says why; a detect() promise still settles.
        detector._state = IDLE;
        if (detector._waiters.length > 0) {
          finish(detector, Events.DetectionError, { callId: call._vox_id,
            message: 'AMD: the call ended before it was answered' });
        }
      }
      if (detector._state === DETECTING) {
        finish(detector, Events.DetectionComplete, { callId: call._vox_id, resultClass: ResultClass.CALL_ENDED,
          resultSubtype: ResultSubtype.NONE });
      }
    }
  });

  kit.defineKind('amd', (ev) => {
    const detector = kit.units.get(ev.id);
    if (!detector || detector._state !== DETECTING) return;  // the call ended first: CALL_ENDED went out
    finish(detector, ev.name, ev.data || {});
  });

  function detectorOf(parameters, method) {
    const amd = kit.isObject(parameters) ? parameters.amd : undefined;
    if (amd === undefined || amd === null) return null;
    if (!(amd instanceof AnsweringMachineDetector)) {
      throw new TypeError('VoxEngine.' + method + ': amd must be an AMD.AnsweringMachineDetector (AMD.create)');
    }
    return amd;
  }

  // callPSTN(number, callerid, parameters), callSIP(to, parameters), callUser(parameters): the `amd` parameter
  // arms the detector on the new call.
  function withDetector(method, parametersAt) {
    const place = global.VoxEngine[method];
    global.VoxEngine[method] = function () {
      const detector = detectorOf(arguments[parametersAt], method);
      const call = place.apply(this, arguments);
      if (detector) attach(detector, call, true);
      return call;
    };
  }
  withDetector('callPSTN', 2);
  withDetector('callSIP', 1);
  withDetector('callUser', 0);

  // call.sendMediaTo(amd) attaches the detector: no media flows in voxsim, the verdict is the far end's.
  const sendMediaTo = global.Call.prototype.sendMediaTo;
  const stopMediaTo = global.Call.prototype.stopMediaTo;
  global.Call.prototype.sendMediaTo = function (unit, parameters) {
    if (unit instanceof AnsweringMachineDetector) {
      attach(unit, this, false);
      return undefined;
    }
    return sendMediaTo.call(this, unit, parameters);
  };
  global.Call.prototype.stopMediaTo = function (unit) {
    if (unit instanceof AnsweringMachineDetector) return undefined;
    return stopMediaTo.call(this, unit);
  };

  global.AMD = freeze({
    create(parameters) { return new AnsweringMachineDetector(parameters); },
    AnsweringMachineDetector: AnsweringMachineDetector,
    Events: Events, Model: Model, ResultClass: ResultClass, ResultSubtype: ResultSubtype,
  });
})(globalThis);

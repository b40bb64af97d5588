/*
 * voxsim: the VoxEngine `CallList` namespace, for the sessions a call list starts.
 *
 * An extension file of the shim (voxsim/runtime/shim/): it runs after voxengine.js, whose not-emulated default
 * `CallList` it replaces. Each report is one `callList.report` command (voxsim/runtime/call_list.py); the call
 * list service's answer comes back as a `callList` delivery with the `Net.HttpRequestResult` that the callback
 * receives, or the `...Async` promise resolves with, as an HTTP request's result on the platform.
 */
(function (global) {
  'use strict';

  const kit = global.__voxKit;
  let seq = 0;
  const pending = new Map();

  // What a report carries: a string as it is, anything else as JSON (the platform's "string or JSON").
  function reportText(value, method) {
    if (value === undefined || value === null) return '';
    if (typeof value === 'string') return value;
    try { return JSON.stringify(value); } catch (e) {
      throw new TypeError('CallList.' + method + ': the report must be a string or JSON-serializable: ' + e.message);
    }
  }

  function changes(data, method) {
    if (!kit.isObject(data)) throw new TypeError('CallList.' + method + ': data must be an object');
    return kit.plain(data, 'CallList.' + method + ' data');
  }

  function send(report, data, onResult) {
    seq += 1;
    pending.set(seq, onResult);
    kit.push({ op: 'callList.report', id: seq, report: report, data: data });
  }

  function withCallback(report, data, callback) {
    send(report, data, (result) => {
      if (callback !== undefined && callback !== null) kit.invoke(callback, global, [result]);
    });
  }

  function asPromise(report, data) {
    kit.markAsync();
    return new kit.NativePromise((resolve) => send(report, data, resolve));
  }

  kit.defineKind('callList', (ev) => {
    const onResult = pending.get(ev.id);
    if (!onResult) return;
    pending.delete(ev.id);
    onResult(ev.data);
  });

  global.CallList = Object.freeze({
    reportResult(result, callback) { withCallback('result', reportText(result, 'reportResult'), callback); },
    reportResultAsync(result) { return asPromise('result', reportText(result, 'reportResultAsync')); },
    reportError(error, callback) { withCallback('error', reportText(error, 'reportError'), callback); },
    reportErrorAsync(error) { return asPromise('error', reportText(error, 'reportErrorAsync')); },
    reportProgress(progress, callback) {
      withCallback('progress', reportText(progress, 'reportProgress'), callback);
    },
    reportProgressAsync(progress) { return asPromise('progress', reportText(progress, 'reportProgressAsync')); },
    requestNextAttempt(data, callback) {
      withCallback('nextAttempt', changes(data, 'requestNextAttempt'), callback);
    },
    requestNextAttemptAsync(data) { return asPromise('nextAttempt', changes(data, 'requestNextAttemptAsync')); },
  });
})(globalThis);

/*
 * voxsim: `Net.sendMail` and `Net.sendMailAsync`.
 *
 * An extension file of the shim (voxsim/runtime/shim/): it runs after voxengine.js and puts both functions on its
 * `Net`. Each message is one `mail.send` command (voxsim/runtime/mail.py): the local mailbox keeps it, and an SMTP
 * relay gets it when one is configured. The answer comes back as a `mail` delivery with the `Net.SendMailResult`
 * ({code, error?}) that the callback receives, or the promise resolves with. Arguments of the wrong type throw
 * here, at the call, as a TypeError. The options' password stays here: voxsim never sends it anywhere.
 */
(function (global) {
  'use strict';

  const kit = global.__voxKit;
  let seq = 0;
  const pending = new Map();

  function text(value, what) {
    if (value === undefined || value === null) return '';
    if (typeof value === 'object' || typeof value === 'function') {
      throw new TypeError('Net.sendMail: ' + what + ' must be a string');
    }
    return String(value);
  }

  // `to` is a string or a list of them; cc and bcc are lists (a single string is taken too).
  function addresses(value, what, required) {
    if ((value === undefined || value === null) && !required) return [];
    const list = Array.isArray(value) ? value : [value];
    if (required && list.length === 0) throw new TypeError('Net.sendMail: ' + what + ' must name an address');
    return list.map((address) => {
      if (typeof address !== 'string' || !address.trim()) {
        throw new TypeError('Net.sendMail: ' + what + ' must be a string or a list of strings');
      }
      return address;
    });
  }

  function message(server, from, to, title, body, options) {
    if (typeof server !== 'string' || !server) throw new TypeError('Net.sendMail: mailServerAddress must be a string');
    if (typeof from !== 'string' || !from.trim()) throw new TypeError('Net.sendMail: from must be a string');
    if (options !== undefined && options !== null && !kit.isObject(options)) {
      throw new TypeError('Net.sendMail: options must be an object (Net.SendMailOptions)');
    }
    const o = options || {};
    const port = o.port === undefined || o.port === null ? null : Number(o.port);
    if (port !== null && !(Number.isInteger(port) && port > 0 && port < 65536)) {
      throw new TypeError('Net.sendMail: options.port must be a port number');
    }
    return {
      server: server, port: port, from: from, to: addresses(to, 'to', true), cc: addresses(o.cc, 'options.cc'),
      bcc: addresses(o.bcc, 'options.bcc'), title: text(title, 'title'), body: text(body, 'body'),
      html: text(o.html, 'options.html'), login: text(o.login, 'options.login'),
    };
  }

  function send(mail, onResult) {
    seq += 1;
    pending.set(seq, onResult);
    kit.push(Object.assign({ op: 'mail.send', id: seq }, mail));
  }

  kit.defineKind('mail', (ev) => {
    const onResult = pending.get(ev.id);
    if (!onResult) return;
    pending.delete(ev.id);
    onResult(ev.data);
  });

  global.Net.sendMail = function sendMail(server, from, to, title, body, callback, options) {
    if (callback !== undefined && callback !== null && typeof callback !== 'function') {
      throw new TypeError('Net.sendMail: callback must be a function');
    }
    send(message(server, from, to, title, body, options), (result) => {
      if (callback) kit.invoke(callback, global, [result]);
    });
  };

  global.Net.sendMailAsync = function sendMailAsync(server, from, to, title, body, options) {
    const mail = message(server, from, to, title, body, options);
    kit.markAsync();
    return new kit.NativePromise((resolve) => send(mail, resolve));
  };
})(globalThis);

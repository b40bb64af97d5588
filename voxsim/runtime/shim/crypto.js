/*
 * voxsim: the VoxEngine `Crypto` namespace (md5, sha1, sha256, hmac_sha256), in plain JS.
 *
 * An extension file of the shim (voxsim/runtime/shim/): it runs after voxengine.js, whose not-emulated
 * `Crypto` it replaces. Strings are hashed as their UTF-8 bytes; md5 also takes the bytes themselves (an array
 * of numbers, as str2bytes returns, or of strings, hashed as one). Every digest is lowercase hex, as on the platform.
 */
(function (global) {
  'use strict';

  function utf8(str) {
    const out = [];
    const s = String(str);
    for (let i = 0; i < s.length; i++) {
      let c = s.codePointAt(i);
      if (c > 0xffff) i++;
      if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;  // a lone surrogate is encoded as U+FFFD, as TextEncoder does
      if (c < 0x80) out.push(c);
      else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
      else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
      else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    }
    return out;
  }

  function bytesOf(data, name, what) {
    if (typeof data === 'string') return utf8(data);
    if (Array.isArray(data)) {
      // bytes (numbers, as str2bytes gives them), or strings hashed one after the other
      if (data.every((b) => typeof b === 'number')) return data.map((b) => b & 255);
      return utf8(data.join(''));
    }
    if (data instanceof Uint8Array) return Array.from(data);
    throw new TypeError('Crypto.' + name + ': ' + what + ' must be a string');
  }

  function hex(words, littleEndian) {
    let out = '';
    for (const w of words) {
      for (let k = 0; k < 4; k++) {
        const shift = littleEndian ? 8 * k : 24 - 8 * k;
        out += (((w >>> shift) & 255) + 0x100).toString(16).slice(1);
      }
    }
    return out;
  }

  // The message padded to whole 64-byte blocks, with its bit length (RFC 1321 3.1-3.2, FIPS 180-4 5.1.1).
  function padded(bytes, littleEndian) {
    const m = bytes.slice();
    const bits = bytes.length * 8;
    m.push(0x80);
    while (m.length % 64 !== 56) m.push(0);
    const hi = Math.floor(bits / 0x100000000);
    const lo = bits >>> 0;
    const len = [];
    for (let k = 0; k < 4; k++) len.push((lo >>> (8 * k)) & 255);
    for (let k = 0; k < 4; k++) len.push((hi >>> (8 * k)) & 255);
    return m.concat(littleEndian ? len : len.reverse());
  }

  function word(m, at, littleEndian) {
    return littleEndian
      ? (m[at] | (m[at + 1] << 8) | (m[at + 2] << 16) | (m[at + 3] << 24)) >>> 0
      : ((m[at] << 24) | (m[at + 1] << 16) | (m[at + 2] << 8) | m[at + 3]) >>> 0;
  }

  const rotl = (x, n) => ((x << n) | (x >>> (32 - n))) >>> 0;
  const rotr = (x, n) => ((x >>> n) | (x << (32 - n))) >>> 0;

  // ------------------------------------------------------------------ MD5 (RFC 1321)

  const MD5_S = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
  const MD5_K = Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 0x100000000) >>> 0);

  function md5Bytes(bytes) {
    const m = padded(bytes, true);
    let a0 = 0x67452301, b0 = 0xefcdab89, c0 = 0x98badcfe, d0 = 0x10325476;
    for (let off = 0; off < m.length; off += 64) {
      const x = Array.from({ length: 16 }, (_, j) => word(m, off + 4 * j, true));
      let a = a0, b = b0, c = c0, d = d0;
      for (let i = 0; i < 64; i++) {
        const round = i >> 4;
        let f, g;
        if (round === 0) { f = (b & c) | (~b & d); g = i; }
        else if (round === 1) { f = (d & b) | (~d & c); g = (5 * i + 1) % 16; }
        else if (round === 2) { f = b ^ c ^ d; g = (3 * i + 5) % 16; }
        else { f = c ^ (b | ~d); g = (7 * i) % 16; }
        const next = (a + f + MD5_K[i] + x[g]) >>> 0;
        a = d; d = c; c = b;
        b = (b + rotl(next, MD5_S[round * 4 + (i % 4)])) >>> 0;
      }
      a0 = (a0 + a) >>> 0; b0 = (b0 + b) >>> 0; c0 = (c0 + c) >>> 0; d0 = (d0 + d) >>> 0;
    }
    return [a0, b0, c0, d0];
  }

  // ------------------------------------------------------------------ SHA-1 (FIPS 180-4 6.1)

  function sha1Bytes(bytes) {
    const m = padded(bytes, false);
    const h = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];
    const w = new Array(80);
    for (let off = 0; off < m.length; off += 64) {
      for (let t = 0; t < 16; t++) w[t] = word(m, off + 4 * t, false);
      for (let t = 16; t < 80; t++) w[t] = rotl(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
      let [a, b, c, d, e] = h;
      for (let t = 0; t < 80; t++) {
        let f, k;
        if (t < 20) { f = (b & c) | (~b & d); k = 0x5a827999; }
        else if (t < 40) { f = b ^ c ^ d; k = 0x6ed9eba1; }
        else if (t < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8f1bbcdc; }
        else { f = b ^ c ^ d; k = 0xca62c1d6; }
        const tmp = (rotl(a, 5) + f + e + k + w[t]) >>> 0;
        e = d; d = c; c = rotl(b, 30); b = a; a = tmp;
      }
      h[0] = (h[0] + a) >>> 0; h[1] = (h[1] + b) >>> 0; h[2] = (h[2] + c) >>> 0;
      h[3] = (h[3] + d) >>> 0; h[4] = (h[4] + e) >>> 0;
    }
    return h;
  }

  // ------------------------------------------------------------------ SHA-256 (FIPS 180-4 6.2)

  const SHA256_K = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
  ];

  function sha256Bytes(bytes) {
    const m = padded(bytes, false);
    const h = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    const w = new Array(64);
    for (let off = 0; off < m.length; off += 64) {
      for (let t = 0; t < 16; t++) w[t] = word(m, off + 4 * t, false);
      for (let t = 16; t < 64; t++) {
        const s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >>> 3);
        const s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >>> 10);
        w[t] = (w[t - 16] + s0 + w[t - 7] + s1) >>> 0;
      }
      let [a, b, c, d, e, f, g, k] = h;
      for (let t = 0; t < 64; t++) {
        const t1 = (k + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + SHA256_K[t] + w[t]) >>> 0;
        const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
        k = g; g = f; f = e; e = (d + t1) >>> 0; d = c; c = b; b = a; a = (t1 + t2) >>> 0;
      }
      const next = [a, b, c, d, e, f, g, k];
      for (let i = 0; i < 8; i++) h[i] = (h[i] + next[i]) >>> 0;
    }
    return h;
  }

  function wordsToBytes(words) {
    const out = [];
    for (const w of words) out.push((w >>> 24) & 255, (w >>> 16) & 255, (w >>> 8) & 255, w & 255);
    return out;
  }

  // HMAC (RFC 2104) over SHA-256: a key longer than the 64-byte block is hashed first.
  function hmacSha256(keyBytes, dataBytes) {
    let key = keyBytes.length > 64 ? wordsToBytes(sha256Bytes(keyBytes)) : keyBytes.slice();
    while (key.length < 64) key.push(0);
    const inner = key.map((b) => b ^ 0x36).concat(dataBytes);
    const outer = key.map((b) => b ^ 0x5c).concat(wordsToBytes(sha256Bytes(inner)));
    return sha256Bytes(outer);
  }

  const Crypto = Object.freeze({
    md5(data) { return hex(md5Bytes(bytesOf(data, 'md5', 'data')), true); },
    sha1(data) { return hex(sha1Bytes(bytesOf(data, 'sha1', 'data')), false); },
    sha256(data) { return hex(sha256Bytes(bytesOf(data, 'sha256', 'data')), false); },
    hmac_sha256(key, data) {
      return hex(hmacSha256(bytesOf(key, 'hmac_sha256', 'key'), bytesOf(data, 'hmac_sha256', 'data')), false);
    },
  });

  global.Crypto = Crypto;
})(globalThis);

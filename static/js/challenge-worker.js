/* Solves an ALTCHA v2 challenge (PBKDF2/SHA-256) off the page's thread: finds the counter whose derived key
   starts with the challenge's prefix. Same algorithm as the altcha Python library's solve_challenge. */
"use strict";

function hexToBytes(hex) {
  var bytes = new Uint8Array(hex.length / 2);
  for (var i = 0; i < bytes.length; i++) {
    bytes[i] = parseInt(hex.substr(i * 2, 2), 16);
  }
  return bytes;
}

function toHex(buffer) {
  return Array.prototype.map.call(new Uint8Array(buffer), function (b) {
    return ("0" + b.toString(16)).slice(-2);
  }).join("");
}

async function solve(parameters) {
  var nonce = hexToBytes(parameters.nonce);
  var salt = hexToBytes(parameters.salt);
  var prefix = parameters.keyPrefix.toLowerCase();
  var bits = (parameters.keyLength || 32) * 8;
  var password = new Uint8Array(nonce.length + 4);
  password.set(nonce, 0);
  var view = new DataView(password.buffer);
  for (var counter = 0; counter < 0xffffffff; counter++) {
    view.setUint32(nonce.length, counter, false);
    var key = await crypto.subtle.importKey("raw", password, "PBKDF2", false, ["deriveBits"]);
    var derived = await crypto.subtle.deriveBits(
      { name: "PBKDF2", hash: "SHA-256", salt: salt, iterations: parameters.cost }, key, bits
    );
    var hex = toHex(derived);
    if (hex.startsWith(prefix)) {
      return { counter: counter, derivedKey: hex };
    }
  }
  throw new Error("no solution");
}

self.onmessage = function (event) {
  solve(event.data.parameters).then(
    function (solution) { self.postMessage({ solution: solution }); },
    function (error) { self.postMessage({ error: String(error) }); }
  );
};

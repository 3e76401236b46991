// Certificate sign-in: fetch a challenge, ask the Web eID browser extension to sign it with
// the card's authentication key, post the token. Without the extension, show the challenge so
// the token can be made elsewhere (`nixa cert sign-challenge`) and pasted.
(function () {
  "use strict";
  var form = document.getElementById("certificate-form");
  if (!form) return;
  var button = document.getElementById("certificate-signin");
  var errorBox = document.getElementById("certificate-error");
  var manual = document.getElementById("certificate-manual");
  // The message protocol of the Web eID extension (web-eid.js 2.x).
  var LIBRARY_VERSION = "2.0.0";
  var ACK_TIMEOUT_MS = 2000;
  var USER_TIMEOUT_MS = 120000;

  function fail(message) {
    errorBox.textContent = message || form.dataset.msgFailed;
    errorBox.hidden = false;
  }

  function askExtension(nonce) {
    return new Promise(function (resolve, reject) {
      var acked = false;
      function onMessage(event) {
        if (event.source !== window || !event.data || typeof event.data.action !== "string") return;
        var a = event.data.action;
        if (a === "web-eid:authenticate-ack") { acked = true; return; }
        if (a === "web-eid:authenticate-success") { cleanup(); resolve(event.data); }
        if (a === "web-eid:authenticate-failure") { cleanup(); reject(new Error(event.data.error && event.data.error.message || "failure")); }
      }
      function cleanup() { window.removeEventListener("message", onMessage); clearTimeout(ackTimer); clearTimeout(userTimer); }
      var ackTimer = setTimeout(function () { if (!acked) { cleanup(); reject(new Error("no-extension")); } }, ACK_TIMEOUT_MS);
      var userTimer = setTimeout(function () { cleanup(); reject(new Error("timeout")); }, USER_TIMEOUT_MS);
      window.addEventListener("message", onMessage);
      window.postMessage({ action: "web-eid:authenticate", libraryVersion: LIBRARY_VERSION, challengeNonce: nonce, options: { lang: form.dataset.lang } }, window.location.origin);
    });
  }

  button.addEventListener("click", function () {
    errorBox.hidden = true;
    button.disabled = true;
    var body = new URLSearchParams();
    body.set("csrf", form.elements.csrf.value);
    fetch(form.dataset.challenge, { method: "POST", body: body, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error("challenge"); return r.json(); })
      .then(function (c) {
        form.elements.ceremony.value = c.ceremony;
        if (manual) {
          document.getElementById("certificate-origin").textContent = c.origin;
          document.getElementById("certificate-nonce").textContent = c.nonce;
        }
        return askExtension(c.nonce).then(function (token) {
          form.elements.token.value = JSON.stringify({
            format: token.format, unverifiedCertificate: token.unverifiedCertificate,
            algorithm: token.algorithm, signature: token.signature, appVersion: token.appVersion
          });
          form.submit();
        }, function (e) {
          if (e.message === "no-extension" && manual) { manual.hidden = false; return; }
          if (e.message === "no-extension") throw new Error(form.dataset.msgNoExtension);
          throw e;
        });
      })
      .catch(function (e) { fail(e && e.message !== "challenge" ? e.message : null); })
      .then(function () { button.disabled = false; });
  });
})();

// Passkeys (WebAuthn) for the login page (#passkey-form) and the account page
// (#passkey-register-form). Served from /static/passkey.js: the CSP allows no inline script.
// The server sends the options as JSON (binary fields base64url); the response goes back in a
// normal form POST, so the server's redirects (to the portal, to the account page) are followed
// by the browser as for the password form.
"use strict";
(function () {
  function b64urlToBuf(s) {
    var b64 = s.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    var bin = atob(b64);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function bufToB64url(buf) {
    var bytes = new Uint8Array(buf);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function supported() {
    return !!(window.PublicKeyCredential && navigator.credentials);
  }

  function showError(form, el, text) {
    if (!el) return;
    el.textContent = text || form.dataset.msgFailed;
    el.hidden = false;
  }

  function fetchOptions(form, extra) {
    var body = new URLSearchParams();
    body.set("csrf", form.elements.csrf.value);
    if (extra) Object.keys(extra).forEach(function (k) { body.set(k, extra[k]); });
    return fetch(form.dataset.options, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: body.toString()
    }).then(function (res) {
      return res.json().then(function (json) {
        if (!res.ok) throw new Error(json.error || "request_failed");
        return json;
      });
    });
  }

  // ---------------------------------------------------------------- sign-in (login page)
  var loginForm = document.getElementById("passkey-form");
  if (loginForm) {
    var loginError = document.getElementById("passkey-error");
    var conditional = null;

    var toRequestOptions = function (pk) {
      var o = Object.assign({}, pk);
      o.challenge = b64urlToBuf(pk.challenge);
      o.allowCredentials = (pk.allowCredentials || []).map(function (c) {
        return Object.assign({}, c, { id: b64urlToBuf(c.id) });
      });
      return o;
    };

    var submitAssertion = function (ceremony, cred) {
      var r = cred.response;
      var json = {
        id: cred.id,
        rawId: bufToB64url(cred.rawId),
        type: cred.type,
        response: {
          authenticatorData: bufToB64url(r.authenticatorData),
          clientDataJSON: bufToB64url(r.clientDataJSON),
          signature: bufToB64url(r.signature),
          userHandle: r.userHandle ? bufToB64url(r.userHandle) : null
        },
        extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {}
      };
      loginForm.elements.ceremony.value = ceremony;
      loginForm.elements.credential.value = JSON.stringify(json);
      loginForm.submit();
    };

    var getCredential = function (mediation, signal) {
      return fetchOptions(loginForm).then(function (res) {
        var req = { publicKey: toRequestOptions(res.options.publicKey) };
        if (mediation) req.mediation = mediation;
        if (signal) req.signal = signal;
        return navigator.credentials.get(req).then(function (cred) {
          if (cred) submitAssertion(res.ceremony, cred);
        });
      });
    };

    // Autofill: passkeys offered in the personal-ID field (autocomplete="username webauthn").
    if (supported() && PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (ok) {
        if (!ok) return;
        conditional = new AbortController();
        getCredential("conditional", conditional.signal).catch(function () { /* aborted or dismissed */ });
      });
    }

    document.getElementById("passkey-signin").addEventListener("click", function () {
      if (!supported()) return showError(loginForm, loginError, loginForm.dataset.msgUnsupported);
      if (conditional) { conditional.abort(); conditional = null; }
      getCredential(null, null).catch(function () { showError(loginForm, loginError); });
    });
  }

  // -------------------------------------------------------------- registration (account page)
  var regForm = document.getElementById("passkey-register-form");
  if (regForm) {
    var regError = document.getElementById("passkey-register-error");
    document.getElementById("passkey-register").addEventListener("click", function () {
      if (!supported()) return showError(regForm, regError, regForm.dataset.msgUnsupported);
      var name = document.getElementById("passkey-name");
      if (!name.value.trim()) { name.focus(); return showError(regForm, regError, name.validationMessage || null); }
      fetchOptions(regForm).then(function (res) {
        var pk = Object.assign({}, res.options.publicKey);
        pk.challenge = b64urlToBuf(pk.challenge);
        pk.user = Object.assign({}, pk.user, { id: b64urlToBuf(pk.user.id) });
        pk.excludeCredentials = (pk.excludeCredentials || []).map(function (c) {
          return Object.assign({}, c, { id: b64urlToBuf(c.id) });
        });
        return navigator.credentials.create({ publicKey: pk }).then(function (cred) {
          var r = cred.response;
          var json = {
            id: cred.id,
            rawId: bufToB64url(cred.rawId),
            type: cred.type,
            response: {
              attestationObject: bufToB64url(r.attestationObject),
              clientDataJSON: bufToB64url(r.clientDataJSON),
              transports: r.getTransports ? r.getTransports() : undefined
            },
            extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {}
          };
          regForm.elements.ceremony.value = res.ceremony;
          regForm.elements.credential.value = JSON.stringify(json);
          regForm.submit();
        });
      }).catch(function () { showError(regForm, regError); });
    });
  }
})();

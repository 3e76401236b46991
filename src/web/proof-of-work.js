// Solves the login page's proof-of-work puzzle (authn::proof_of_work) while the person types:
// the first counter whose SHA-256 of "PUZZLE:COUNTER" starts with the required zero bits. The
// password form waits for the answer if it is sent before the work is done.
"use strict";
(function () {
  const form = document.getElementById("password-form");
  const field = document.getElementById("proof-of-work");
  const status = document.getElementById("proof-of-work-status");
  if (!form || !field || !window.crypto || !window.crypto.subtle) return;
  const puzzle = form.dataset.proofOfWork;
  const bits = Number(puzzle.split(".")[3]) || 0;
  const done = document.currentScript ? document.currentScript.dataset.done : "";
  const encoder = new TextEncoder();

  function zeroBits(bytes) {
    let n = 0;
    for (const b of bytes) {
      if (b === 0) { n += 8; continue; }
      return n + Math.clz32(b) - 24;
    }
    return n;
  }

  async function solve() {
    for (let counter = 0; ; counter++) {
      const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(puzzle + ":" + counter)));
      if (zeroBits(hash) >= bits) return puzzle + ":" + counter;
    }
  }

  let sendWhenDone = false;
  const answer = solve().then(function (value) {
    field.value = value;
    if (status) status.textContent = done;
    if (sendWhenDone) form.submit();
    return value;
  });
  form.addEventListener("submit", function (event) {
    if (field.value) return;
    event.preventDefault();
    sendWhenDone = true;
  });
  void answer;
})();

// Cross-device sign-in: polls the status of this browser's login request every 2 seconds and
// continues (posting the same form a person without JavaScript would press) once the app
// approved. Served as a static file: the CSP allows no inline script.
(function () {
  "use strict";
  var form = document.getElementById("qr-continue");
  var status = document.getElementById("qr-status");
  if (!form || !status || !window.fetch) { return; }
  var url = form.getAttribute("data-status");
  var timer = null;
  function stop(message) {
    if (timer) { clearInterval(timer); timer = null; }
    if (message) { status.textContent = message; }
  }
  function poll() {
    fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (res) { return res.ok ? res.json() : { status: "expired" }; })
      .then(function (body) {
        if (body.status === "approved") { stop(null); form.submit(); }
        else if (body.status === "denied") { stop(status.getAttribute("data-denied")); }
        else if (body.status !== "pending") { stop(status.getAttribute("data-expired")); }
      })
      .catch(function () { /* a network blip: the next tick tries again */ });
  }
  timer = setInterval(poll, 2000);
})();

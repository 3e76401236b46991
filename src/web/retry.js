// The "you are in line" page: asks for the same page again after the time the server gave
// (Retry-After), once. Without scripts, the person follows the link when they choose.
"use strict";
(function () {
  const link = document.getElementById("busy-retry");
  if (!link) return;
  const secs = Math.max(1, Number(link.dataset.retrySecs) || 5);
  setTimeout(function () { window.location.replace(link.href); }, secs * 1000);
})();

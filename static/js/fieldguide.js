// Fieldguide's only script: htmx settings, keyboard shortcuts and the check timer.
// Everything works without it; it only saves keystrokes and seconds.
(function () {
  "use strict";

  if (window.htmx) {
    // Show the server's 4xx explanation in place instead of silently ignoring it.
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "4..", swap: true, error: false },
      { code: "...", swap: false, error: true },
    ];
  }

  function typing(target) {
    return target.closest("input, textarea, select, [contenteditable]");
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    var panel = document.getElementById("triage-panel");
    if (!panel) return;
    var button = panel.querySelector('[data-key="' + CSS.escape(event.key.toLowerCase()) + '"]');
    if (button && !button.disabled) {
      event.preventDefault();
      button.click();
    }
  });

  function tick() {
    document.querySelectorAll("input[data-timer-since]").forEach(function (input) {
      if (input.dataset.touched) return;
      var since = Date.parse(input.dataset.timerSince);
      if (isNaN(since)) return;
      var minutes = Math.max(0, (Date.now() - since) / 60000);
      input.value = minutes.toFixed(1);
    });
  }
  document.addEventListener("input", function (event) {
    if (event.target.matches("input[data-timer-since]")) event.target.dataset.touched = "1";
  });
  setInterval(tick, 5000);
  document.addEventListener("htmx:afterSettle", tick);
  document.addEventListener("DOMContentLoaded", tick);
})();

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

  // A key pressed while htmx is still swapping in the new panel waits for it to settle:
  // clicking a form htmx has not wired up yet would submit it as a full page load.
  var pendingKey = null;
  var BUSY = ".htmx-request, .htmx-swapping, .htmx-added, .htmx-settling";

  function press(key) {
    var panel = document.getElementById("triage-panel");
    if (!panel) return false;
    var button = panel.querySelector('[data-key="' + CSS.escape(key) + '"]');
    if (!button || button.disabled) return false;
    if (panel.matches(BUSY) || panel.querySelector(BUSY)) {
      pendingKey = key;
      return true;
    }
    button.click();
    return true;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (press(event.key.toLowerCase())) event.preventDefault();
  });
  document.addEventListener("htmx:afterSettle", function () {
    var key = pendingKey;
    pendingKey = null;
    if (key) press(key);
  });

  // "/" jumps to the header search box; in it, ArrowDown walks the suggestions (ArrowUp
  // back, Escape closes them). Without this script the box is a plain search form.
  function suggestionLinks() {
    return Array.prototype.slice.call(document.querySelectorAll("#top-suggestions a"));
  }
  document.addEventListener("keydown", function (event) {
    var box = document.getElementById("top-q");
    if (!box) return;
    if (event.key === "/" && !typing(event.target) && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
      box.focus();
      box.select();
      return;
    }
    var links = suggestionLinks();
    var here = links.indexOf(document.activeElement);
    if (event.target !== box && here < 0) return;
    if (event.key === "ArrowDown" && links.length) {
      event.preventDefault();
      links[Math.min(here + 1, links.length - 1)].focus();
    } else if (event.key === "ArrowUp" && here >= 0) {
      event.preventDefault();
      if (here === 0) box.focus();
      else links[here - 1].focus();
    } else if (event.key === "Escape") {
      // First Escape closes the suggestions and keeps the words; a second one clears the
      // box as Escape in any search field does.
      var list = document.getElementById("top-suggestions");
      if (list && list.innerHTML.trim()) {
        event.preventDefault();
        list.innerHTML = "";
      }
      box.focus();
    }
  });

  // Suggestions close when the focus or a click goes elsewhere (a tap below them on a
  // phone must reach the page, not a suggestion left open).
  function closeSuggestions() {
    var list = document.getElementById("top-suggestions");
    if (list) list.innerHTML = "";
  }
  document.addEventListener("focusout", function (event) {
    var form = event.target.closest && event.target.closest(".topsearch");
    if (!form) return;
    setTimeout(function () {
      if (!form.contains(document.activeElement)) closeSuggestions();
    }, 0);
  });
  document.addEventListener("click", function (event) {
    if (!event.target.closest(".topsearch")) closeSuggestions();
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    // An answer that arrives after the box lost the focus is not shown.
    var box = document.getElementById("top-q");
    if (event.target.id === "top-suggestions" && box && !box.form.contains(document.activeElement)) {
      closeSuggestions();
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

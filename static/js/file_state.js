// Keeps each file's check state on the draft page current: polls the small JSON endpoint while a file is
// being checked and swaps in the server-rendered state (uploads/_file_state.html). No inline script (CSP).
(function () {
  "use strict";
  // The portal's one back-off (js/portal.js), from 1 s up to 8 s: a check takes seconds, not minutes.
  var FIRST = 1;
  var LAST = 4;
  var attempt = 0;
  var timer = null;

  function list() {
    return document.querySelector("[data-state-url]");
  }

  function checking() {
    return document.querySelector('[data-file-state="pending"], [data-file-state="held"]') !== null;
  }

  function apply(files) {
    files.forEach(function (file) {
      var current = document.querySelector('.file-state[data-upload-id="' + file.id + '"]');
      if (current && current.getAttribute("data-file-state") !== file.state) {
        var holder = document.createElement("div");
        holder.innerHTML = file.html.trim();
        if (holder.firstChild) {
          current.replaceWith(holder.firstChild);
        }
      }
    });
  }

  function poll() {
    timer = null;
    var element = list();
    if (!element || !checking()) {
      attempt = 0;
      return;
    }
    fetch(element.getAttribute("data-state-url"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : { files: [] };
      })
      .then(function (data) {
        apply(data.files || []);
      })
      .catch(function () {})
      .then(schedule);
  }

  function schedule() {
    if (timer === null && checking()) {
      timer = window.setTimeout(poll, window.Portal.backoff(Math.min(FIRST + attempt, LAST)));
      attempt += 1;
    }
  }

  // The file list is replaced after each upload (js/uploads.js); watch for new pending files.
  var root = document.getElementById("file-list") || document.body;
  new MutationObserver(schedule).observe(root, { childList: true, subtree: true });
  schedule();
})();

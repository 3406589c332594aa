/* What every page script shares: the CSRF token for requests, the retry back-off, and focus on an error summary.
   Plain script, no build step: it defines window.Portal before the page's own scripts run. */
(function () {
  "use strict";
  // Waits between tries while the server or the network is away: quick at first, then every 30 s.
  var DELAYS = [500, 1000, 2000, 4000, 8000, 15000, 30000];

  function csrfToken() {
    var meta = document.querySelector("meta[name=csrf-token]");
    if (meta && meta.content) {
      return meta.content;
    }
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function withCsrf(headers) {
    var all = { "X-CSRFToken": csrfToken() };
    Object.keys(headers || {}).forEach(function (key) {
      all[key] = headers[key];
    });
    return all;
  }

  /* The wait before try number `attempt` (0 = the first retry). */
  function backoff(attempt) {
    return DELAYS[Math.min(attempt, DELAYS.length - 1)];
  }

  /* The first `count` waits as a list (for clients that take a list of delays, such as tus-js-client). */
  function backoffList(count) {
    var delays = [];
    for (var attempt = 0; attempt < count; attempt += 1) {
      delays.push(backoff(attempt));
    }
    return delays;
  }

  window.Portal = { csrfToken: csrfToken, withCsrf: withCsrf, backoff: backoff, backoffList: backoffList };

  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.querySelector("[data-focus-on-load]");
    if (summary) {
      summary.focus();
    }
  });
})();

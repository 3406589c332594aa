/* Member pages: warn before the idle timeout, offer "stay signed in", and leave when the session has ended.
   The seconds left come from the dialog's data attributes; the server enforces the timeout on its own. */
"use strict";

(function () {
  var dialog = document.getElementById("session-dialog");
  if (!dialog || typeof dialog.showModal !== "function") {
    return;
  }
  var keepalive = dialog.querySelector("form[data-keepalive]");
  var warnTimer = null;
  var endTimer = null;

  function leave() {
    window.location.assign(dialog.dataset.expiredUrl);
  }

  function schedule(remaining, extendable) {
    window.clearTimeout(warnTimer);
    window.clearTimeout(endTimer);
    var deadline = new Date(Date.now() + remaining * 1000);
    var time = deadline.toLocaleTimeString(document.documentElement.lang, { hour: "2-digit", minute: "2-digit" });
    dialog.querySelectorAll("[data-session-deadline]").forEach(function (node) {
      node.textContent = time;
    });
    dialog.querySelectorAll("[data-session-extendable]").forEach(function (node) {
      node.hidden = !extendable;
    });
    dialog.querySelector("[data-session-final]").hidden = extendable;
    var warning = Number(dialog.dataset.warning);
    warnTimer = window.setTimeout(function () {
      if (!dialog.open) {
        dialog.showModal();
      }
    }, Math.max(0, remaining - warning) * 1000);
    endTimer = window.setTimeout(leave, remaining * 1000);
  }

  function stay() {
    window
      .fetch(keepalive.action, {
        method: "POST",
        body: new FormData(keepalive),
        credentials: "same-origin",
        redirect: "manual",
        headers: { Accept: "application/json" },
      })
      .then(function (response) {
        if (response.status >= 500) {
          // The portal is briefly away (503), the session is not over: the dialog stays for another try.
          return null;
        }
        if (!response.ok) {
          throw new Error("session ended");
        }
        return response.json();
      })
      .then(function (state) {
        if (state) {
          dialog.close();
          schedule(state.remaining, state.extendable);
        }
      })
      .catch(function (error) {
        // A network failure (TypeError) says nothing about the session; anything else means it ended.
        if (!(error instanceof TypeError)) {
          leave();
        }
      });
  }

  keepalive.addEventListener("submit", function (event) {
    event.preventDefault();
    stay();
  });
  // Escape closes the dialog; take that as "stay signed in" rather than leaving a silent countdown behind.
  dialog.addEventListener("cancel", function (event) {
    event.preventDefault();
    if (keepalive.hidden) {
      dialog.close();
    } else {
      stay();
    }
  });

  schedule(Number(dialog.dataset.remaining), dialog.dataset.extendable === "true");
})();

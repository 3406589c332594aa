/* Login under attack: when the server asks for a proof of work, solve it when the member presses "Anmelden".

   Only on a page the server marked (data-challenge: attack mode is on; otherwise the form goes as it is). On
   submit, fetch a fresh challenge from /anmelden/pruefung/, show "Sicherheitsprüfung läuft" (a live region),
   solve it in a worker (challenge-worker.js) and send the form with the solution in the hidden "altcha" field.
   Without JavaScript the server hands out a wait ticket instead, so nobody depends on this script. */
"use strict";

(function () {
  var form = document.getElementById("login-form");
  if (!form || !form.dataset.challenge || !window.Worker || !window.crypto || !crypto.subtle || !window.fetch) {
    return;
  }
  var field = form.querySelector("input[name=altcha]");
  var button = document.getElementById("login-submit");
  var status = document.getElementById("challenge-status");
  var busy = false;

  function say(text) {
    status.hidden = !text;
    status.textContent = text || "";
  }

  function send() {
    busy = true;
    form.submit();
  }

  function fail() {
    busy = false;
    button.removeAttribute("aria-disabled");
    form.removeAttribute("aria-busy");
    say(status.dataset.failed);
  }

  form.addEventListener("submit", function (event) {
    if (field.value) {
      return;
    }
    event.preventDefault();
    if (busy) {
      return;
    }
    busy = true;
    fetch(form.dataset.challengeUrl, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : { required: false }; })
      .then(function (answer) {
        if (!answer.required) {
          send();
          return;
        }
        button.setAttribute("aria-disabled", "true");
        form.setAttribute("aria-busy", "true");
        say(status.dataset.running);
        var worker = new Worker(form.dataset.workerUrl);
        worker.onmessage = function (message) {
          worker.terminate();
          if (message.data.error) {
            fail();
            return;
          }
          var payload = { challenge: answer.challenge, solution: message.data.solution };
          field.value = btoa(JSON.stringify(payload));
          send();
        };
        worker.onerror = function () {
          worker.terminate();
          fail();
        };
        worker.postMessage(answer.challenge);
      })
      .catch(function () {
        // The server decides: without a solution it answers with a short wait, never a refusal.
        send();
      });
  });
})();

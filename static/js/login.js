/* Login page: focus the error summary, warn while Caps Lock is on, and let the member show the PIN. */
"use strict";

(function () {
  var summary = document.querySelector("[data-focus-on-load]");
  if (summary) {
    summary.focus();
  }

  var pin = document.getElementById("id_pin");
  if (!pin) {
    return;
  }

  var caps = document.getElementById("pin-caps");
  function updateCaps(event) {
    if (typeof event.getModifierState === "function") {
      caps.hidden = !event.getModifierState("CapsLock");
    }
  }
  pin.addEventListener("keydown", updateCaps);
  pin.addEventListener("keyup", updateCaps);
  pin.addEventListener("blur", function () {
    caps.hidden = true;
  });

  var toggle = document.getElementById("pin-toggle");
  var status = document.getElementById("pin-toggle-status");
  toggle.hidden = false;
  toggle.addEventListener("click", function () {
    var show = pin.type === "password";
    pin.type = show ? "text" : "password";
    toggle.textContent = show ? toggle.dataset.hideLabel : toggle.dataset.showLabel;
    status.textContent = show ? toggle.dataset.shownStatus : toggle.dataset.hiddenStatus;
  });
  // Never send the form with the PIN readable on screen behind it (a shared screen, the browser's form history).
  pin.form.addEventListener("submit", function () {
    pin.type = "password";
  });
})();

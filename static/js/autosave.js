/* Autosave of the draft form: debounced, with the draft's version so a stale tab gets a clear conflict notice;
   a pending edit is sent when the page is hidden or closed (keepalive), so closing the tab loses nothing. */
(function () {
  "use strict";
  var form = document.getElementById("draft-form");
  if (!form || !window.fetch || !window.Portal) {
    return;
  }
  var status = document.getElementById("save-status");
  var versionInput = form.querySelector("input[name=version]");
  var DELAY = 800;
  var retries = 0;
  var timer = null;
  var saving = false;
  var again = false;
  var stopped = false;
  var dirty = false;

  function show(text, kind) {
    status.textContent = text;
    status.classList.toggle("is-error", kind === "error");
    status.classList.toggle("is-ok", kind === "ok");
    status.dataset.state = kind || "";
  }

  function showFieldErrors(errors) {
    form.querySelectorAll(".field__error").forEach(function (node) {
      var name = node.id.replace(/-errors$/, "");
      var messages = errors[name] || [];
      node.textContent = "";
      if (messages.length) {
        var prefix = document.createElement("span");
        prefix.className = "visually-hidden";
        prefix.textContent = form.dataset.msgErrorTitle;
        node.append(prefix, " " + messages.join(" "));
      }
      node.parentNode.classList.toggle("field--error", messages.length > 0);
      var input = node.parentNode.querySelector("input, select, textarea");
      if (input) {
        if (messages.length) {
          input.setAttribute("aria-invalid", "true");
        } else {
          input.removeAttribute("aria-invalid");
        }
      }
    });
  }

  function body() {
    return new URLSearchParams(new FormData(form));
  }

  function save() {
    if (stopped) {
      return;
    }
    if (saving) {
      again = true;
      return;
    }
    saving = true;
    dirty = false;
    window.clearTimeout(timer);
    show(form.dataset.msgSaving, "saving");
    fetch(form.dataset.autosaveUrl, {
      method: "POST",
      body: body(),
      credentials: "same-origin",
      headers: window.Portal.withCsrf({ Accept: "application/json" }),
    })
      .then(function (response) {
        return response.json().then(
          function (data) {
            return { response: response, data: data };
          },
          function () {
            // Not JSON (a proxy's error page): only the status counts.
            return { response: response, data: {} };
          }
        );
      })
      .then(function (result) {
        var data = result.data;
        if (result.response.status === 409 || result.response.status === 401) {
          // Another tab saved newer data, or the session ended: never overwrite, say what to do.
          stopped = true;
          show(data.message, "error");
          status.setAttribute("role", "alert");
          return;
        }
        if (result.response.status >= 500) {
          retryLater();
          return;
        }
        if (!result.response.ok) {
          show(data.message || form.dataset.msgFailed, "error");
          return;
        }
        retries = 0;
        versionInput.value = data.version;
        showFieldErrors(data.errors || {});
        if (!dirty) {
          show(data.message, Object.keys(data.errors || {}).length ? "error" : "ok");
        }
      })
      .catch(function () {
        retryLater();
      })
      .then(function () {
        saving = false;
        if (again) {
          again = false;
          save();
        }
      });
  }

  /* Nothing was saved: say so, and send the whole form again after a back-off (a newer edit goes sooner). */
  function retryLater() {
    dirty = true;
    show(form.dataset.msgRetrying, "error");
    var delay = window.Portal.backoff(retries + 2);
    retries += 1;
    window.clearTimeout(timer);
    timer = window.setTimeout(save, delay);
  }

  function schedule() {
    if (stopped) {
      return;
    }
    dirty = true;
    show(form.dataset.msgUnsaved, "pending");
    window.clearTimeout(timer);
    timer = window.setTimeout(save, DELAY);
  }

  /* The page is going away (tab closed, app switched, navigation): send what is not saved yet, in a request the
     browser completes after the page is gone. The CSRF token travels in the header and in the body. */
  function flush() {
    if (!dirty || stopped || saving) {
      return;
    }
    dirty = false;
    window.clearTimeout(timer);
    var data = body();
    try {
      fetch(form.dataset.autosaveUrl, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        keepalive: true,
        headers: window.Portal.withCsrf({ Accept: "application/json" }),
      })
        .then(function (response) {
          return response.ok ? response.json() : null;
        })
        .then(function (saved) {
          // Still here (the tab was only hidden): keep the new version for the next save.
          if (saved && saved.version) {
            versionInput.value = saved.version;
            show(saved.message, Object.keys(saved.errors || {}).length ? "error" : "ok");
          }
        })
        .catch(function () {
          dirty = true;
        });
    } catch (error) {
      if (navigator.sendBeacon) {
        navigator.sendBeacon(form.dataset.autosaveUrl, data);
      }
    }
  }

  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
  // "Save for later" posts the whole form: no autosave may race it with the same version.
  form.addEventListener("submit", function () {
    window.clearTimeout(timer);
    stopped = true;
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") {
      flush();
    }
  });
  window.addEventListener("pagehide", flush);
  window.addEventListener("online", function () {
    if (status.dataset.state === "error" && !stopped) {
      save();
    }
  });
})();

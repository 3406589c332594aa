/* Autosave of the draft form: debounced, with the draft's version so a stale tab gets a clear conflict notice. */
(function () {
  "use strict";
  var form = document.getElementById("draft-form");
  if (!form || !window.fetch) {
    return;
  }
  var status = document.getElementById("save-status");
  var versionInput = form.querySelector("input[name=version]");
  var tokenMeta = document.querySelector("meta[name=csrf-token]");
  var DELAY = 800;
  // While the server cannot save (503, a dropped connection) the page keeps trying, less and less often.
  var RETRY_DELAYS = [2000, 4000, 8000, 15000, 30000];
  var retries = 0;
  var timer = null;
  var saving = false;
  var again = false;
  var stopped = false;

  function show(text, kind) {
    status.textContent = text;
    status.classList.toggle("is-error", kind === "error");
    status.classList.toggle("is-ok", kind === "ok");
    status.dataset.state = kind || "";
  }

  function showFieldErrors(errors) {
    form.querySelectorAll(".field-errors").forEach(function (node) {
      var name = node.id.replace(/-errors$/, "");
      node.textContent = (errors[name] || []).join(" ");
      node.parentNode.classList.toggle("field-error", Boolean(errors[name]));
    });
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
    show(form.dataset.msgSaving, "saving");
    fetch(form.dataset.autosaveUrl, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      credentials: "same-origin",
      headers: { "X-CSRFToken": tokenMeta ? tokenMeta.content : "", Accept: "application/json" },
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
        show(data.message, Object.keys(data.errors || {}).length ? "error" : "ok");
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
    show(form.dataset.msgRetrying, "error");
    var delay = RETRY_DELAYS[Math.min(retries, RETRY_DELAYS.length - 1)];
    retries += 1;
    window.clearTimeout(timer);
    timer = window.setTimeout(save, delay);
  }

  function schedule() {
    if (stopped) {
      return;
    }
    show(form.dataset.msgUnsaved, "pending");
    window.clearTimeout(timer);
    timer = window.setTimeout(save, DELAY);
  }

  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
  window.addEventListener("online", function () {
    if (status.dataset.state === "error" && !stopped) {
      save();
    }
  });
})();

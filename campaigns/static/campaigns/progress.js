// The campaign's progress in the admin: polls the JSON endpoint every two seconds while the campaign runs.
(function () {
  "use strict";
  var panel = document.getElementById("campaign-progress");
  if (!panel) {
    return;
  }
  var url = panel.getAttribute("data-url");
  var bar = document.getElementById("campaign-bar");
  var settled = { finished: true, cancelled: true };

  function show(data) {
    panel.querySelectorAll("[data-field]").forEach(function (node) {
      var key = node.getAttribute("data-field");
      if (Object.prototype.hasOwnProperty.call(data, key)) {
        node.textContent = key === "percent" ? Number(data[key]).toFixed(1) : String(data[key]);
      }
    });
    if (bar) {
      bar.value = data.percent;
    }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (data) {
        if (data) {
          show(data);
          if (settled[data.status]) {
            return;
          }
        }
        window.setTimeout(poll, 2000);
      })
      .catch(function () {
        window.setTimeout(poll, 5000);
      });
  }

  window.setTimeout(poll, 2000);
})();

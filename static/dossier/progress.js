// Polls a dossier's status while the worker renders it; without JavaScript the page
// refreshes itself instead (noscript meta refresh).
(function () {
  "use strict";
  // A dossier being made, or a download of all one's data being put together.
  var box = document.getElementById("dossier-progress") || document.getElementById("export-progress");
  if (!box) return;
  var url = box.getAttribute("data-status-url");
  function part(role) { return box.querySelector('[data-role="' + role + '"]'); }
  function label(state) { return box.getAttribute("data-label-" + state) || state; }
  function show(status) {
    part("bar").value = status.progress;
    part("percent").textContent = status.progress + "%";
    if (status.status !== box.getAttribute("data-state")) {
      box.setAttribute("data-state", status.status);
      part("state").textContent = label(status.status);
    }
    if (status.status === "ready") {
      part("ready").hidden = false;
      part("waiting").hidden = true;
    }
    if (status.status === "failed") {
      part("error").textContent = status.error || "";
      part("error").hidden = false;
      part("waiting").hidden = true;
    }
  }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (status) {
        show(status);
        if (status.status !== "ready" && status.status !== "failed") setTimeout(poll, 1500);
        else if (status.status === "ready") window.location.reload();
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  var state = box.getAttribute("data-state");
  if (state !== "ready" && state !== "failed") setTimeout(poll, 1000);
})();

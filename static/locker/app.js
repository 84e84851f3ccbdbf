// Small enhancements only: every form also works with scripts off.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function ready(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }

  // Quick exit: hide the page, lock the session with the form's POST, then replace this page
  // in the history with the exit address (which redirects to a neutral site), so Back does
  // not return to the case. The page leaves when the lock is answered or after 800 ms,
  // whichever comes first; the POST is kept alive if it is still under way. The page shown
  // while the database is down has a plain link to the neutral site instead.
  function quickExit(event) {
    if (event) event.preventDefault();
    var control = document.getElementById("quick-exit");
    var form = control.form;
    try { sessionStorage.clear(); } catch (e) { /* private mode */ }
    // offline.js deletes any offline drafts and kept forms.
    document.dispatchEvent(new CustomEvent("locker:quick-exit"));
    document.body.style.visibility = "hidden";
    if (!form) { window.location.replace(control.href); return; }
    var gone = false;
    function leave() {
      if (gone) return;
      gone = true;
      window.location.replace(form.action);
    }
    window.setTimeout(leave, 800);
    try {
      // "manual": the answer redirects to the neutral site, which this request must not follow.
      fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin",
                           keepalive: true, redirect: "manual" }).then(leave, leave);
    } catch (e) { leave(); }
  }

  ready(function () {
    var exit = document.getElementById("quick-exit");
    if (exit) exit.addEventListener("click", quickExit);
    // Three quick presses of Escape also leave.
    var presses = [];
    document.addEventListener("keydown", function (e) {
      if (e.key !== "Escape") return;
      var now = Date.now();
      presses = presses.filter(function (t) { return now - t < 1500; });
      presses.push(now);
      if (presses.length >= 3) quickExit(e);
    });

    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });

    // Sign-up: suggest the phone's own time zone.
    document.querySelectorAll("[data-detect-tz] select").forEach(function (select) {
      var zone = "";
      try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { return; }
      if (!zone || select.value === zone) return;
      if (!Array.prototype.some.call(select.options, function (o) { return o.value === zone; })) {
        select.add(new Option(zone.replace(/_/g, " "), zone), 0);
      }
      select.value = zone;
    });

    // A contact's statement: times are read in the contact's own zone, the phone's. When it
    // is not the zone the page was drawn in, say so, and make "when" now in the phone's zone.
    document.querySelectorAll("input[data-browser-tz]").forEach(function (input) {
      var zone = "";
      try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { return; }
      if (!zone || input.value === zone) return;
      input.value = zone;
      var name = input.form.querySelector("[data-tz-name]");
      if (name) name.textContent = zone;
      var when = input.form.querySelector("input[name=occurred_at]");
      if (when) {
        var now = new Date();
        now.setMinutes(now.getMinutes() - now.getTimezoneOffset());
        when.value = now.toISOString().slice(0, 16);
      }
    });

    document.querySelectorAll("[data-copy]").forEach(function (button) {
      if (!navigator.clipboard) return;
      button.hidden = false;
      button.addEventListener("click", function () {
        var input = document.querySelector(button.getAttribute("data-copy"));
        navigator.clipboard.writeText(input.value).then(function () {
          button.textContent = button.getAttribute("data-copied");
        });
      });
    });
    document.querySelectorAll("[data-share]").forEach(function (button) {
      if (!navigator.share) return;
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.share({ text: button.getAttribute("data-share-text"), url: button.getAttribute("data-share") })
          .catch(function () { /* dismissed */ });
      });
    });

    document.querySelectorAll("form[data-upload]").forEach(enhanceUpload);
  });

  // Upload forms: send with XMLHttpRequest to show progress; on a failed connection keep
  // everything typed and chosen and offer Retry. The form's hidden submission id makes a
  // retry after a lost response land on the first save instead of saving twice.
  function enhanceUpload(form) {
    var strings = form.querySelector("template[data-strings]");
    var text = function (name) { return strings ? strings.getAttribute("data-" + name) : ""; };
    var status = form.querySelector("[data-status]");
    var bar = form.querySelector("[data-progress]");
    var line = form.querySelector("[data-status-text]");
    var retry = form.querySelector("[data-retry]");
    var submit = form.querySelector("[data-submit]");
    var errors = form.querySelector("[data-errors]");
    var picked = form.querySelector("[data-picked]");
    var busy = false;

    function listPicked() {
      if (!picked) return;
      picked.textContent = "";
      form.querySelectorAll("input[type=file]").forEach(function (input) {
        Array.prototype.forEach.call(input.files || [], function (file) {
          var li = document.createElement("li");
          li.textContent = "✓ " + file.name + " (" + Math.max(1, Math.round(file.size / 1024)) + " KB)";
          picked.appendChild(li);
        });
      });
    }
    form.querySelectorAll("input[type=file]").forEach(function (input) {
      input.addEventListener("change", listPicked);
    });

    function showErrors(list) {
      errors.textContent = "";
      list.forEach(function (message) {
        var p = document.createElement("p");
        p.className = "error";
        p.textContent = message;
        errors.appendChild(p);
      });
      errors.scrollIntoView({ block: "center" });
    }

    function send() {
      if (busy) return;
      busy = true;
      status.hidden = false;
      retry.hidden = true;
      submit.disabled = true;
      bar.value = 0;
      line.textContent = text("sending");
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.getAttribute("action") || window.location.href);
      xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) {
          bar.value = Math.round((e.loaded / e.total) * 100);
          if (e.loaded === e.total) line.textContent = text("saving");
        }
      });
      xhr.onload = function () {
        busy = false;
        var data = null;
        try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
        if (xhr.status >= 200 && xhr.status < 300 && data && data.redirect) {
          window.location.assign(data.redirect);
          return;
        }
        submit.disabled = false;
        status.hidden = true;
        // A refused token (the page was open too long) comes with a fresh one: the form
        // stays as it is, files included, and Save sends it again.
        if (data && data.csrf_token) {
          var token = form.querySelector("input[name=csrfmiddlewaretoken]");
          if (token) token.value = data.csrf_token;
        }
        if (data && data.errors) { showErrors(data.errors); return; }
        // A page instead of an answer (e.g. the link stopped working): show it.
        document.open(); document.write(xhr.responseText); document.close();
      };
      xhr.onerror = xhr.ontimeout = function () {
        busy = false;
        submit.disabled = false;
        line.textContent = text("failed");
        retry.hidden = false;
        // offline.js keeps it as a draft when the user turned offline drafts on.
        form.dispatchEvent(new CustomEvent("locker:send-failed", { bubbles: true }));
      };
      xhr.send(new FormData(form));
    }

    form.addEventListener("submit", function (e) { e.preventDefault(); send(); });
    retry.addEventListener("click", send);
  }
})();

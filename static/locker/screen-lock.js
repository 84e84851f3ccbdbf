// Lock on return (issue 16 item 8): a signed-in page seen again after more than
// LOCKER_SCREEN_LOCK_S hidden (another app, the screen off, a tab in the background, a page
// restored from the back-forward cache or reloaded by the browser) is covered at once, and the
// session is locked on the server as after the quick exit, so that every other page asks for
// the password too. The cover lifts only when the server says the password is right
// (/accounts/unlock/ answers {"unlocked": true}); what was typed in the page stays as it was.
// It hides the page from a glance at a reopened phone; the page's content is still in memory
// beneath it (docs/security.md, "Lock on return").
// Loaded in <head>, not deferred, so that a page reopened after too long is never drawn
// uncovered. A page drawn while the session is locked loads it with a limit of 0: the
// server's lock has taken over, and the marks below are cleared.
(function () {
  "use strict";
  var script = document.currentScript;
  var limitMs = Number(script.getAttribute("data-lock-after-s") || 0) * 1000;
  var lockUrl = script.getAttribute("data-lock-url");
  // In sessionStorage (this tab only; the quick exit clears it), so that a page the browser
  // reloads, or the next page of the tab, knows when the last one was hidden and whether it
  // was covered.
  var HIDDEN = "locker.hiddenAt";
  var COVERED = "locker.covered";
  var root = document.documentElement;
  var hiddenAt = 0;
  var cover = null;
  var lockSent = null;

  function store(name, value) {
    try {
      if (value === null) sessionStorage.removeItem(name); else sessionStorage.setItem(name, value);
    } catch (e) { /* private mode: the in-memory mark still works for this page */ }
  }
  function stored(name) {
    try { return sessionStorage.getItem(name); } catch (e) { return null; }
  }

  if (!(limitMs > 0)) {
    store(HIDDEN, null);
    store(COVERED, null);
    return;
  }

  function ready(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }

  function noteHidden() {
    if (hiddenAt) return;
    hiddenAt = Date.now();
    store(HIDDEN, String(hiddenAt));
  }

  function seenAgain() {
    if (document.visibilityState === "hidden") return;
    var since = hiddenAt || Number(stored(HIDDEN)) || 0;
    hiddenAt = 0;
    store(HIDDEN, null);
    if ((since && Date.now() - since > limitMs) || stored(COVERED)) lock();
  }

  function token() {
    var input = cover && cover.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // The server's half: lock the session (a CSRF-checked POST). Sent again before an unlock
  // if it failed, so the password is never checked against a session that was not locked.
  function sendLock() {
    var body = new FormData();
    body.append("csrfmiddlewaretoken", token());
    lockSent = fetch(lockUrl, {
      method: "POST", body: body, credentials: "same-origin", redirect: "manual",
      headers: { "X-Requested-With": "XMLHttpRequest" }
    }).then(function (answer) {
      if (!(answer.ok || answer.type === "opaqueredirect")) throw new Error("not locked");
    });
    lockSent.catch(function () { lockSent = null; });
    return lockSent;
  }

  function lock() {
    root.classList.add("screen-locked");
    store(COVERED, "1");
    if (cover) return;
    ready(function () {
      if (cover) return;
      var template = document.getElementById("screen-lock-cover");
      if (!template) return;
      cover = template.content.firstElementChild.cloneNode(true);
      document.body.appendChild(cover);
      // Below the header, which keeps the (discreet) name and the quick exit.
      var header = document.querySelector("header.top");
      cover.style.top = (header ? header.getBoundingClientRect().bottom : 0) + "px";
      Array.prototype.forEach.call(document.body.children, function (el) {
        if (el !== cover && el !== header && el.tagName !== "TEMPLATE" && el.tagName !== "SCRIPT") {
          el.inert = true;
          el.setAttribute("data-lock-inert", "");
        }
      });
      var nav = header && header.querySelector(".top-nav");
      if (nav) { nav.inert = true; nav.setAttribute("data-lock-inert", ""); }
      var form = cover.querySelector("form");
      form.addEventListener("submit", unlock);
      form.querySelector("input[type=password]").focus();
      sendLock();
    });
  }

  function unlock(event) {
    event.preventDefault();
    var form = event.target;
    var error = form.querySelector("[data-lock-error]");
    var offline = form.querySelector("[data-lock-offline]");
    var password = form.querySelector("input[type=password]");
    var data = new FormData(form);
    data.append("password", password.value);
    error.hidden = true;
    offline.hidden = true;
    (lockSent || sendLock()).then(function () {
      return fetch(form.action, {
        method: "POST", body: data, credentials: "same-origin",
        headers: { "X-Requested-With": "XMLHttpRequest" }
      });
    }).then(function (answer) {
      return answer.json().catch(function () { return {}; });
    }).then(function (reply) {
      if (reply.unlocked) { uncover(); return; }
      // No answer of ours (the session ended meanwhile): the page itself says what now.
      if (!reply.error) { window.location.reload(); return; }
      error.textContent = reply.error;
      error.hidden = false;
      password.value = "";
      password.focus();
    }, function () {
      offline.hidden = false;
    });
  }

  function uncover() {
    if (cover) cover.remove();
    cover = null;
    lockSent = null;
    root.classList.remove("screen-locked");
    store(COVERED, null);
    document.querySelectorAll("[data-lock-inert]").forEach(function (el) {
      el.inert = false;
      el.removeAttribute("data-lock-inert");
    });
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") noteHidden(); else seenAgain();
  });
  window.addEventListener("pagehide", noteHidden);
  // Restored from the back-forward cache: this page's memory is as it was when it left.
  window.addEventListener("pageshow", function (event) { if (event.persisted) seenAgain(); });
  // A page loaded now (the tab's next page, or one the browser reloads): the tab's last
  // page may have been hidden long ago, or covered.
  seenAgain();
})();

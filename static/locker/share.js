// Share into the locker (docs/capture.md, "Share into the locker"). static/locker/sw.js keeps
// what the phone's share sheet posted in CacheStorage ("locker-share", one share at a time)
// and sends the browser to /share/?held=<id>. This script reads it back:
// - on the message form (step "form"): the text goes into the message text, the files into
//   the file input, the names or numbers the text shows are offered as the sender; then the
//   kept copy is deleted at once, so it lives only in this page until Save sends it through
//   the ordinary, CSRF-checked log form;
// - while signed out or choosing a case (step "waiting"): says what waits, keeps it;
// - with no case to put it in (step "forget"): deletes it.
// A kept share older than MAX_AGE_MS is deleted unread (offline.js also sweeps it on every
// page), and the quick exit and log-out delete it with everything else.
(function () {
  "use strict";
  var script = document.getElementById("share-script");
  if (!script) return;
  var cfg = script.dataset;
  var CACHE = "locker-share";
  var MAX_AGE_MS = 30 * 60 * 1000;
  var key = "/share/held/" + (cfg.held || "");

  function ready(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }

  function forget() {
    return window.caches ? caches.delete(CACHE).catch(function () {}) : Promise.resolve();
  }

  // The kept share as FormData, or null (none, or too old: then deleted).
  function load() {
    if (!window.caches || !cfg.held) return Promise.resolve(null);
    // match with cacheName opens no cache: none is made where there was none.
    return caches.match(key, { cacheName: CACHE }).then(function (found) {
      if (!found) return null;
      var at = parseInt(found.headers.get("X-Held-At") || "0", 10);
      if (!at || Date.now() - at > MAX_AGE_MS) return forget().then(function () { return null; });
      return found.formData();
    }).catch(function () { return null; });
  }

  function notice(text, kind) {
    var box = document.querySelector("[data-share-notice]");
    if (!box) {
      box = document.createElement("p");
      var main = document.querySelector("main");
      if (!main) return;
      main.insertBefore(box, main.firstChild);
    }
    box.className = "msg " + (kind || "warning");
    box.setAttribute("data-share-notice", "");
    box.textContent = text;
  }

  // The title, text and address shared, each once, in that order.
  function sharedText(data) {
    var parts = [];
    ["title", "text", "url"].forEach(function (name) {
      var value = data.get(name);
      if (typeof value !== "string") return;
      value = value.trim();
      if (value && !parts.some(function (p) { return p.indexOf(value) >= 0; })) parts.push(value);
    });
    return parts.join("\n");
  }

  function sharedFiles(data) {
    return data.getAll("files").filter(function (f) { return typeof f !== "string" && (f.size || f.name); });
  }

  // What the text shows of its sender: a signature in 【】 (Chinese lenders sign their SMS
  // so: 【某某贷】), a "From:" line, a mobile or SMS-platform number. Only offered, never filled in.
  function senderGuesses(text) {
    var found = [];
    function add(value) {
      value = (value || "").trim();
      if (value && value.length <= 40 && found.indexOf(value) < 0) found.push(value);
    }
    var m;
    var signature = /【([^【】\n]{1,30})】/g;
    while ((m = signature.exec(text))) add(m[1]);
    var line = /(?:^|\n)\s*(?:发件人|发信人|来自|From|Sender)\s*[:：]\s*([^\n]{1,40})/gi;
    while ((m = line.exec(text))) add(m[1]);
    var number = /(?<![\d])(?:\+?86[\s-]?)?(?:1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}|106\d{5,16})(?![\d])/g;
    while ((m = number.exec(text))) add(m[0].replace(/[\s-]/g, ""));
    return found.slice(0, 4);
  }

  function offerSenders(form, text) {
    var input = form.querySelector("input[name=sender]");
    var guesses = senderGuesses(text);
    if (!input || !guesses.length) return;
    var box = document.createElement("div");
    box.className = "share-senders";
    box.setAttribute("data-share-senders", "");
    var p = document.createElement("p");
    p.className = "muted";
    p.textContent = cfg.tSenders || "";
    box.appendChild(p);
    guesses.forEach(function (guess) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "small secondary";
      button.textContent = guess;
      button.addEventListener("click", function () {
        input.value = guess;
        input.dispatchEvent(new Event("input", { bubbles: true }));
      });
      box.appendChild(button);
      box.appendChild(document.createTextNode(" "));
    });
    var field = input.closest(".field") || input.parentNode;
    field.parentNode.insertBefore(box, field.nextSibling);
  }

  function fill() {
    var form = document.querySelector("form[data-upload]");
    if (!form) return;
    load().then(function (data) {
      if (!data) { notice(cfg.tGone, "error"); return null; }
      var text = sharedText(data);
      var area = form.querySelector("textarea[name=text]");
      if (area && text && !area.value) area.value = text;
      var files = sharedFiles(data);
      var input = form.querySelector("input[type=file][name=files]");
      if (files.length && input && window.DataTransfer) {
        var transfer = new DataTransfer();
        files.forEach(function (file) { transfer.items.add(file); });
        input.files = transfer.files;
        input.dispatchEvent(new Event("change"));
      }
      offerSenders(form, text);
      // In the page now: the kept copy goes.
      return forget();
    });
  }

  function waiting() {
    load().then(function (data) {
      if (!data) { notice(cfg.tGone, "error"); return; }
      var what = (cfg.tWaiting || "").replace("{files}", String(sharedFiles(data).length))
        .replace("{chars}", String(sharedText(data).length));
      notice(what, "warning");
    });
  }

  ready(function () {
    if (cfg.step === "form") fill();
    else if (cfg.step === "waiting") waiting();
    else if (cfg.step === "forget") forget();
  });
})();

// The service worker (docs/privacy.md, "Offline drafts"). Served at /sw.js by
// locker/web/views/offline.py, which puts one line before this file: self.LOCKER_OFFLINE, the
// offline page's words and the quick exit's address.
//
// What it keeps: nothing of its own. It answers a navigation that fails for want of a
// connection, and only then:
// - with the empty log form ("shell") that the page stored in CacheStorage, for a user who
//   turned offline drafts on (static/locker/offline.js stores and deletes those caches);
// - otherwise with a small "no connection" page built here, holding no data at all.
// Pages, evidence and API answers are never stored: with drafts off, nothing is.
//
// Share into the locker (docs/capture.md): the phone's share sheet posts what was shared to
// /share/ (the manifest's share_target). That post has no CSRF token and must not reach the
// server as one: it is taken here, its title, text, url and files kept in the "locker-share"
// cache (one share at a time, replacing any older one) under a random id, and the browser is
// sent on to GET /share/?held=<id>, whose script (static/locker/share.js) puts them into the
// message form and deletes them. Nothing is recorded until that form's own Save.
(function () {
  "use strict";
  var WORDS = self.LOCKER_OFFLINE || {};
  var SHELL_PREFIX = "locker-shell-";
  var DB = "locker-offline";
  // A case's quick-log page and its log forms: the only addresses a shell stands in for.
  var LOG_PATH = /^\/cases\/[0-9a-f-]{36}\/log\/(?:([a-z0-9_-]+)\/)?$/;
  var CSS =
    "body{font:18px/1.5 system-ui,sans-serif;margin:0;padding:24px 16px;color:#1b1f24}" +
    "h1{font-size:1.4rem}a{display:inline-flex;align-items:center;min-height:48px;" +
    "padding:10px 18px;margin:8px 8px 0 0;border-radius:12px;text-decoration:none;" +
    "background:#1f3a5f;color:#fff;font-weight:600}a.exit{background:#fff;color:#b3261e;" +
    "border:2px solid #b3261e}";
  var styleHash = null;
  var SHARE_CACHE = "locker-share";
  var SHARE_PATH = "/share/";

  self.addEventListener("install", function () { self.skipWaiting(); });
  self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

  self.addEventListener("fetch", function (event) {
    var request = event.request;
    var url = new URL(request.url);
    if (url.origin !== self.location.origin) return;
    if (request.method === "POST" && url.pathname === SHARE_PATH && request.mode === "navigate") {
      event.respondWith(keepShare(request));
      return;
    }
    if (request.method !== "GET") return;
    if (request.mode === "navigate") {
      if (url.pathname === "/exit/" && sameOrigin(request.referrer)) event.waitUntil(wipe());
      event.respondWith(navigate(request, url));
    } else if (url.pathname.indexOf("/static/") === 0) {
      // The shells' stylesheet and scripts; network first, so that they are never stale.
      event.respondWith(fetch(request).catch(function () {
        return fromShells(url.pathname).then(function (found) { return found || Response.error(); });
      }));
    }
  });

  function sameOrigin(referrer) {
    try { return !!referrer && new URL(referrer).origin === self.location.origin; } catch (e) { return false; }
  }

  function navigate(request, url) {
    return fetch(request).catch(function () {
      // The quick exit without signal still leaves for the neutral address.
      if (url.pathname === "/exit/" && WORDS.exit_url) return Response.redirect(WORDS.exit_url, 303);
      var match = LOG_PATH.exec(url.pathname);
      var key = match ? (match[1] ? "/offline/log/" + match[1] + "/" : "/offline/log/") : null;
      return (key ? fromShells(key) : Promise.resolve(null)).then(function (shell) {
        if (!shell) return offlinePage();
        // A new Response (no URL of its own): the page keeps the case's address, which its
        // relative links and its form's post use.
        return new Response(shell.body, { status: 200, headers: shell.headers });
      });
    });
  }

  function fromShells(key) {
    if (!self.caches) return Promise.resolve(null);
    return caches.keys().then(function (names) {
      var name = names.filter(function (n) { return n.indexOf(SHELL_PREFIX) === 0; })[0];
      if (!name) return null;
      return caches.open(name).then(function (cache) {
        return cache.match(key, { ignoreVary: true }).then(function (found) { return found || null; });
      });
    });
  }

  function randomId() {
    return Array.prototype.map.call(crypto.getRandomValues(new Uint8Array(16)), function (b) {
      return (b + 256).toString(16).slice(1);
    }).join("");
  }

  function keepShare(request) {
    return request.formData().then(function (posted) {
      var kept = new FormData();
      ["title", "text", "url"].forEach(function (name) {
        var value = posted.get(name);
        if (typeof value === "string" && value) kept.append(name, value);
      });
      posted.getAll("files").forEach(function (file) {
        if (typeof file !== "string" && (file.size || file.name)) kept.append("files", file, file.name);
      });
      var id = randomId();
      return caches.delete(SHARE_CACHE).then(function () { return caches.open(SHARE_CACHE); })
        .then(function (cache) {
          // The kept Response's body is the multipart form again: the page reads it with
          // formData(), file names and types included.
          return cache.put(SHARE_PATH + "held/" + id,
            new Response(kept, { headers: { "X-Held-At": String(Date.now()) } }));
        })
        .then(function () { return Response.redirect(new URL(SHARE_PATH + "?held=" + id, self.location.origin).href, 303); });
    }).catch(function () {
      // Unreadable, or no room to keep it: the page says that nothing is waiting.
      return Response.redirect(new URL(SHARE_PATH, self.location.origin).href, 303);
    });
  }

  // The quick exit followed from one of our pages: delete the drafts, the shells and a kept
  // share here too, for the case where the page's own script could not (the offline page has
  // none).
  function wipe() {
    var jobs = [new Promise(function (resolve) {
      var deleting = indexedDB.deleteDatabase(DB);
      deleting.onsuccess = deleting.onerror = deleting.onblocked = function () { resolve(); };
    })];
    if (self.caches) {
      jobs.push(caches.keys().then(function (names) {
        return Promise.all(names.filter(function (n) { return n.indexOf(SHELL_PREFIX) === 0 || n === SHARE_CACHE; })
          .map(function (n) { return caches.delete(n); }));
      }));
    }
    return Promise.all(jobs).catch(function () { /* nothing more to do */ });
  }

  function escape(text) {
    return String(text || "").replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function hashOfStyle() {
    if (styleHash) return Promise.resolve(styleHash);
    return crypto.subtle.digest("SHA-256", new TextEncoder().encode(CSS)).then(function (digest) {
      styleHash = btoa(String.fromCharCode.apply(null, new Uint8Array(digest)));
      return styleHash;
    });
  }

  // Neither the app's name nor anything of a case: whoever holds the phone may see this.
  function offlinePage() {
    return hashOfStyle().then(function (hash) {
      var html = "<!doctype html><html lang=\"" + escape(WORDS.lang || "en") + "\"><head>" +
        "<meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">" +
        "<meta name=\"robots\" content=\"noindex, nofollow\"><title>" + escape(WORDS.title) + "</title>" +
        "<style>" + CSS + "</style></head><body><main><h1>" + escape(WORDS.title) + "</h1><p>" +
        escape(WORDS.text) + "</p><p><a href=\"\">" + escape(WORDS.again) + "</a>" +
        "<a class=\"exit\" href=\"/exit/\">" + escape(WORDS.exit) + "</a></p></main></body></html>";
      return new Response(html, {
        status: 503,
        headers: {
          "Content-Type": "text/html; charset=utf-8",
          "Cache-Control": "no-store",
          "Referrer-Policy": "same-origin",
          "Content-Security-Policy": "default-src 'none'; style-src 'sha256-" + hash + "'; " +
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        }
      });
    });
  }
})();

// Offline drafts (docs/privacy.md, "Offline drafts"), for a user who turned them on in
// Settings; off by default. The server says which in this script tag's data attributes
// (templates/locker/_offline_script.html).
//
// On: a log form saved without a connection is kept in IndexedDB, encrypted with AES-GCM
// under a key this browser made and cannot export, attached files included; the empty log
// forms are kept in CacheStorage so that they open without signal (static/locker/sw.js shows
// them). When the connection returns (the "online" event, and every page load), each draft is
// sent to the log form's own address with its submission id and a fresh CSRF token, and
// deleted only once the server answered with the record's receipt. A retry after a lost
// answer meets the same submission id, so the server gives the first record again
// (locker/web/views/common.py, Submission) instead of a second.
//
// Off: nothing is stored, and whatever an earlier "on" left here is deleted. Logging out and
// the quick exit delete everything this script stored.
(function () {
  "use strict";
  var script = document.getElementById("offline-drafts");
  if (!script || !window.indexedDB || !window.crypto || !crypto.subtle) return;
  var cfg = script.dataset;
  var DB = "locker-offline";
  var DRAFTS = "drafts";
  var KEYS = "keys";
  var SHELL_PREFIX = "locker-shell-";
  // A share kept by static/locker/sw.js for static/locker/share.js, and how long it may wait.
  var SHARE_CACHE = "locker-share";
  var SHARE_MAX_AGE_MS = 30 * 60 * 1000;
  var RECEIPT = /^\/cases\/[0-9a-f-]{36}\/entries\/\d+\/receipt\/$/;
  var on = cfg.drafts === "on";
  var signedIn = cfg.signedIn === "1";
  var user = cfg.user || "";
  var maxBytes = parseInt(cfg.maxBytes || "0", 10);
  var totalBytes = parseInt(cfg.totalBytes || "0", 10);
  var encoder = new TextEncoder();
  var decoder = new TextDecoder();
  var dbPromise = null;

  function t(name, n) {
    var text = cfg["t" + name] || "";
    return n === undefined ? text : text.replace("{n}", String(n));
  }

  function ready(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }

  // IndexedDB -------------------------------------------------------------------------

  function done(request) {
    return new Promise(function (resolve, reject) {
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  // The database, or null when it does not exist and `create` is false (opening one creates
  // it, and with drafts off nothing may be created).
  function openDb(create) {
    if (dbPromise) return dbPromise;
    var exists = create || !indexedDB.databases ? Promise.resolve(true) :
      indexedDB.databases().then(function (list) {
        return list.some(function (d) { return d.name === DB; });
      }, function () { return true; });
    dbPromise = exists.then(function (found) {
      if (!found) return null;
      return new Promise(function (resolve, reject) {
        var opening = indexedDB.open(DB, 1);
        opening.onupgradeneeded = function () {
          opening.result.createObjectStore(DRAFTS, { keyPath: "id" });
          opening.result.createObjectStore(KEYS);
        };
        opening.onsuccess = function () {
          var db = opening.result;
          // Another tab deleting everything (log-out, quick exit) must not be kept waiting.
          db.onversionchange = function () { db.close(); dbPromise = null; };
          resolve(db);
        };
        opening.onerror = function () { reject(opening.error); };
      });
    });
    dbPromise.then(function (db) { if (!db) dbPromise = null; }, function () { dbPromise = null; });
    return dbPromise;
  }

  function store(db, name, mode) {
    return db.transaction(name, mode || "readonly").objectStore(name);
  }

  function allDrafts(db) {
    return db ? done(store(db, DRAFTS).getAll()) : Promise.resolve([]);
  }

  function myDrafts(db) {
    return allDrafts(db).then(function (list) {
      return list.filter(function (r) { return r.user === user; })
        .sort(function (a, b) { return a.saved - b.saved; });
    });
  }

  function removeDraft(db, id) { return done(store(db, DRAFTS, "readwrite").delete(id)); }

  // Everything this script stored: the drafts, their key and the kept log forms.
  function wipeAll() {
    var closing = dbPromise ? dbPromise.then(function (db) { if (db) db.close(); }, function () {}) : Promise.resolve();
    dbPromise = null;
    return closing.then(function () {
      var jobs = [new Promise(function (resolve) {
        var deleting = indexedDB.deleteDatabase(DB);
        deleting.onsuccess = deleting.onerror = deleting.onblocked = function () { resolve(); };
      }), deleteShells(""), deleteShare()];
      return Promise.all(jobs);
    }).catch(function () { /* nothing more can be done here */ });
  }

  function deleteShells(keep) {
    if (!window.caches) return Promise.resolve();
    return caches.keys().then(function (names) {
      return Promise.all(names.filter(function (n) { return n.indexOf(SHELL_PREFIX) === 0 && n !== keep; })
        .map(function (n) { return caches.delete(n); }));
    });
  }

  function deleteShare() {
    return window.caches ? caches.delete(SHARE_CACHE) : Promise.resolve();
  }

  // A share nobody took within SHARE_MAX_AGE_MS (signed out and never back) goes unread.
  function sweepShare() {
    if (!window.caches) return;
    caches.has(SHARE_CACHE).then(function (kept) {
      if (!kept) return null;
      return caches.open(SHARE_CACHE).then(function (cache) {
        return cache.matchAll().then(function (found) {
          var fresh = found.some(function (r) {
            var at = parseInt(r.headers.get("X-Held-At") || "0", 10);
            return at && Date.now() - at <= SHARE_MAX_AGE_MS;
          });
          if (!fresh) return deleteShare();
          return null;
        });
      });
    }).catch(function () {});
  }

  // Drafts off for this account: its drafts go, and with them everything else unless another
  // account of this browser still has drafts waiting.
  function wipeMine() {
    return openDb(false).then(function (db) {
      if (!db) return deleteShells("");
      return allDrafts(db).then(function (list) {
        var others = list.filter(function (r) { return r.user !== user; });
        if (!others.length) return wipeAll();
        return Promise.all(list.filter(function (r) { return r.user === user; })
          .map(function (r) { return removeDraft(db, r.id); })).then(function () { return deleteShells(""); });
      });
    }).catch(function () { return wipeAll(); });
  }

  // Encryption ------------------------------------------------------------------------

  // One AES-GCM key per browser, made here and stored as a non-extractable CryptoKey: the
  // page can use it, but nothing (not this script either) can read its bytes out.
  function theKey(db) {
    return done(store(db, KEYS).get("aes")).then(function (key) {
      if (key) return key;
      return crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"])
        .then(function (made) {
          return done(store(db, KEYS, "readwrite").add(made, "aes")).then(function () { return made; },
            function () { return done(store(db, KEYS).get("aes")); });  // another tab made one first
        });
    });
  }

  // The record's id and owner are bound to its ciphertext: a ciphertext moved to another
  // record does not decrypt.
  function boundData(id) { return encoder.encode("locker-draft-v1|" + id + "|" + user); }

  // A draft's plaintext: 4 bytes of header length, the header (JSON: address, fields, the
  // files' names and sizes), then the files' bytes one after another.
  function pack(draft) {
    var header = encoder.encode(JSON.stringify({
      url: draft.url, fields: draft.fields,
      files: draft.files.map(function (f) { return { field: f.field, name: f.file.name, type: f.file.type, size: f.file.size }; })
    }));
    var length = new Uint8Array(4);
    new DataView(length.buffer).setUint32(0, header.length);
    return new Blob([length, header].concat(draft.files.map(function (f) { return f.file; }))).arrayBuffer();
  }

  function unpack(buffer) {
    var length = new DataView(buffer, 0, 4).getUint32(0);
    var header = JSON.parse(decoder.decode(new Uint8Array(buffer, 4, length)));
    var at = 4 + length;
    var files = header.files.map(function (f) {
      var file = new File([buffer.slice(at, at + f.size)], f.name, { type: f.type });
      at += f.size;
      return { field: f.field, file: file };
    });
    return { url: header.url, fields: header.fields, files: files };
  }

  function decrypt(db, record) {
    return Promise.all([theKey(db), record.data.arrayBuffer()]).then(function (both) {
      return crypto.subtle.decrypt({ name: "AES-GCM", iv: record.iv, additionalData: boundData(record.id) }, both[0], both[1]);
    }).then(unpack);
  }

  // Keeping a form -------------------------------------------------------------------

  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function submissionInput(form) { return form.querySelector("input[name=submission]"); }

  function formDraft(form) {
    var input = submissionInput(form);
    if (input && !input.value) input.value = uuid();
    var fields = [];
    var files = [];
    new FormData(form).forEach(function (value, name) {
      if (name === "csrfmiddlewaretoken") return;
      if (typeof value === "string") fields.push([name, value]);
      else if (value.size || value.name) files.push({ field: name, file: value });
    });
    var url = form.getAttribute("action") || window.location.pathname;
    return { id: input ? input.value : uuid(), url: url, fields: fields, files: files };
  }

  function TooBig() { this.name = "TooBig"; }

  function keep(form) {
    var draft = formDraft(form);
    var db;
    return openDb(true).then(function (opened) {
      db = opened;
      return Promise.all([pack(draft), theKey(db), allDrafts(db)]);
    }).then(function (got) {
      var plain = got[0];
      var others = got[2].filter(function (r) { return r.id !== draft.id; })
        .reduce(function (sum, r) { return sum + (r.size || 0); }, 0);
      if ((maxBytes && plain.byteLength > maxBytes) || (totalBytes && others + plain.byteLength > totalBytes)) {
        throw new TooBig();
      }
      var iv = crypto.getRandomValues(new Uint8Array(12));
      return crypto.subtle.encrypt({ name: "AES-GCM", iv: iv, additionalData: boundData(draft.id) }, got[1], plain)
        .then(function (sealed) {
          // In the clear: the random submission id, whose draft it is, when, how large. The
          // address, every field and every file are inside `data`.
          return done(store(db, DRAFTS, "readwrite").put({
            id: draft.id, user: user, saved: Date.now(), size: plain.byteLength, refused: false,
            iv: iv, data: new Blob([sealed], { type: "application/octet-stream" })
          }));
        });
    });
  }

  function nowIn(zone) {
    try {
      var parts = {};
      new Intl.DateTimeFormat("en-CA", {
        timeZone: zone || undefined, year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit", hourCycle: "h23"
      }).formatToParts(new Date()).forEach(function (p) { parts[p.type] = p.value; });
      return parts.year + "-" + parts.month + "-" + parts.day + "T" + parts.hour + ":" + parts.minute;
    } catch (e) {
      var now = new Date();
      now.setMinutes(now.getMinutes() - now.getTimezoneOffset());
      return now.toISOString().slice(0, 16);
    }
  }

  // A form ready for the next record: empty, a new submission id, the time now.
  function freshForm(form) {
    form.reset();
    var input = submissionInput(form);
    if (input) input.value = uuid();
    var when = form.querySelector("input[name=occurred_at]");
    if (when) when.value = nowIn(cfg.timeZone);
    var picked = form.querySelector("[data-picked]");
    if (picked) picked.textContent = "";
    var status = form.querySelector("[data-status]");
    if (status) status.hidden = true;
    var submit = form.querySelector("[data-submit]");
    if (submit) submit.disabled = false;
    delete form.dataset.offlineDraft;
  }

  function keepAndSay(form) {
    return keep(form).then(function () {
      freshForm(form);
      say([{ kind: "success", text: t("Saved") }]);
      if (navigator.onLine) sendAll();
    }, function (error) {
      say([{ kind: "error", text: error instanceof TooBig ? t("TooBig") : t("NotKept") }]);
    });
  }

  // Sending ---------------------------------------------------------------------------

  function freshToken() {
    return fetch(cfg.tokenUrl, { credentials: "same-origin", redirect: "manual", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) return null;  // signed out or locked (a redirect): later
        return response.json().then(function (data) { return data.csrf_token || null; });
      }, function () { return null; });
  }

  // "sent" with the receipt's address, "refused" with the server's words, or "later".
  function post(draft, id, token) {
    var body = new FormData();
    draft.fields.forEach(function (pair) { body.append(pair[0], pair[1]); });
    draft.files.forEach(function (f) { body.append(f.field, f.file, f.file.name); });
    body.set("submission", id);
    body.set("csrfmiddlewaretoken", token);
    return fetch(draft.url, {
      method: "POST", body: body, credentials: "same-origin", redirect: "manual",
      headers: { "X-Requested-With": "XMLHttpRequest" }
    }).then(function (response) {
      if (response.type === "opaqueredirect") return { result: "later" };
      return response.json().catch(function () { return null; }).then(function (data) {
        if (response.ok && data && typeof data.redirect === "string" && RECEIPT.test(data.redirect)) {
          return { result: "sent", receipt: data.redirect };
        }
        if (response.status === 403 && data && data.csrf_token) return { result: "token", token: data.csrf_token };
        if ([400, 404, 413].indexOf(response.status) >= 0) {
          return { result: "refused", errors: (data && data.errors) || [] };
        }
        return { result: "later" };  // still saving (409), too many (429), a server error
      });
    }, function () { return { result: "later" }; });
  }

  var sending = null;

  function sendAll() {
    if (!on || !signedIn || !navigator.onLine) return Promise.resolve();
    if (sending) return sending;
    var run = function () { return sendMine().catch(function () { /* kept for the next try */ }); };
    sending = (navigator.locks ? navigator.locks.request("locker-offline-send", run) : run())
      .then(function () { sending = null; }, function () { sending = null; });
    return sending;
  }

  function sendMine() {
    var sent = 0;
    var receipt = "";
    var refused = [];
    var db;
    return openDb(false).then(function (opened) {
      db = opened;
      return myDrafts(db);
    }).then(function (records) {
      var waiting = records.filter(function (r) { return !r.refused; });
      refused = records.filter(function (r) { return r.refused; }).map(function (r) { return { record: r, errors: [] }; });
      if (!waiting.length) return null;
      return freshToken().then(function (token) {
        if (!token) return null;
        var chain = Promise.resolve(true);
        waiting.forEach(function (record) {
          chain = chain.then(function (goOn) {
            if (!goOn) return false;
            return decrypt(db, record).then(function (draft) {
              return post(draft, record.id, token).then(function (answer) {
                if (answer.result !== "token") return answer;
                token = answer.token;
                return post(draft, record.id, token);
              });
            }, function () {
              return { result: "refused", errors: [] };  // cannot be read (its key is gone)
            }).then(function (answer) {
              if (answer.result === "sent") {
                // Deleted only now: the server holds the record and said where its receipt is.
                sent += 1;
                receipt = answer.receipt;
                return removeDraft(db, record.id).then(function () { return true; });
              }
              if (answer.result === "refused") {
                record.refused = true;
                refused.push({ record: record, errors: answer.errors });
                return done(store(db, DRAFTS, "readwrite").put(record)).then(function () { return true; });
              }
              return false;  // no connection, or the server cannot now: every draft waits
            });
          });
        });
        return chain;
      });
    }).then(function () {
      var lines = [];
      if (sent) {
        lines.push({ kind: "success", text: sent === 1 ? t("SentOne") : t("SentMany", sent), link: sent === 1 ? receipt : "" });
      }
      refused.forEach(function (item) { lines.push({ kind: "warning", refused: item }); });
      if (lines.length) say(lines);
    });
  }

  // Telling the user ------------------------------------------------------------------

  function say(lines) {
    var main = document.querySelector("main");
    if (!main) return;
    var box = document.getElementById("offline-messages");
    if (!box) {
      box = document.createElement("ul");
      box.id = "offline-messages";
      box.className = "messages";
      box.setAttribute("role", "status");
      box.setAttribute("aria-live", "polite");
      main.insertBefore(box, main.firstChild);
    }
    box.textContent = "";
    lines.forEach(function (line) {
      var li = document.createElement("li");
      li.className = "msg " + line.kind;
      if (line.refused) refusedLine(li, line.refused);
      else li.textContent = line.text;
      if (line.link) {
        li.appendChild(document.createTextNode(" "));
        var a = document.createElement("a");
        a.href = line.link;
        a.textContent = t("Receipt");
        li.appendChild(a);
      }
      box.appendChild(li);
    });
    box.scrollIntoView({ block: "nearest" });
  }

  function refusedLine(li, item) {
    li.appendChild(document.createTextNode(t("Refused") + " "));
    item.errors.forEach(function (error) {
      li.appendChild(document.createTextNode(String(error) + " "));
    });
    var actions = document.createElement("span");
    actions.className = "row-actions";
    var open = document.createElement("button");
    open.type = "button";
    open.className = "small";
    open.textContent = t("Open");
    open.addEventListener("click", function () {
      openDb(false).then(function (db) { return decrypt(db, item.record); }).then(function (draft) {
        window.location.assign(draft.url + "#draft=" + encodeURIComponent(item.record.id));
      });
    });
    var remove = document.createElement("button");
    remove.type = "button";
    remove.className = "small";
    remove.textContent = t("Delete");
    remove.addEventListener("click", function () {
      openDb(false).then(function (db) { return removeDraft(db, item.record.id); }).then(function () { li.remove(); });
    });
    actions.appendChild(open);
    actions.appendChild(document.createTextNode(" "));
    actions.appendChild(remove);
    li.appendChild(actions);
  }

  // A refused draft opened again in its form, to be corrected and saved.
  function restore() {
    var match = /^#draft=([0-9a-f-]{36})$/.exec(window.location.hash);
    var form = document.querySelector("form[data-upload]");
    if (!match || !form) return;
    history.replaceState(null, "", window.location.pathname + window.location.search);
    var db;
    openDb(false).then(function (opened) {
      db = opened;
      return db ? done(store(db, DRAFTS).get(match[1])) : null;
    }).then(function (record) {
      if (!record || record.user !== user) return;
      return decrypt(db, record).then(function (draft) {
        var values = {};
        draft.fields.forEach(function (pair) { (values[pair[0]] = values[pair[0]] || []).push(pair[1]); });
        Array.prototype.forEach.call(form.elements, function (el) {
          if (!el.name || !(el.name in values) || el.type === "file" || el.name === "csrfmiddlewaretoken") return;
          if (el.type === "checkbox" || el.type === "radio") el.checked = values[el.name].indexOf(el.value) >= 0;
          else el.value = values[el.name][0];
        });
        var byField = {};
        draft.files.forEach(function (f) { (byField[f.field] = byField[f.field] || []).push(f.file); });
        Object.keys(byField).forEach(function (name) {
          var input = form.querySelector("input[type=file][name=\"" + name + "\"]");
          if (!input || !window.DataTransfer) return;
          var transfer = new DataTransfer();
          byField[name].forEach(function (file) { transfer.items.add(file); });
          input.files = transfer.files;
          input.dispatchEvent(new Event("change"));
        });
        var input = submissionInput(form);
        if (input) input.value = record.id;
        form.dataset.offlineDraft = record.id;
        say([{ kind: "warning", text: t("Opened") }]);
      });
    }).catch(function () { /* the draft stays where it is */ });
  }

  // Kept log forms ---------------------------------------------------------------------

  function precache() {
    if (!window.caches || !cfg.version || !cfg.shells || !navigator.onLine || cfg.shell === "1") return;
    var name = SHELL_PREFIX + cfg.version;
    var urls = cfg.shells.split(" ");
    deleteShells(name).then(function () { return caches.open(name); }).then(function (cache) {
      return cache.keys().then(function (kept) {
        if (kept.length === urls.length) return;
        // redirect "error": a log-in or unlock page must never be kept as a form.
        return Promise.all(urls.map(function (url) {
          return fetch(url, { credentials: "same-origin", redirect: "error", cache: "no-store" }).then(function (response) {
            if (!response.ok) throw new Error(url);
            return [url, response];
          });
        })).then(function (pairs) {
          return Promise.all(pairs.map(function (pair) { return cache.put(pair[0], pair[1]); }));
        }).catch(function () { return caches.delete(name); });
      });
    }).catch(function () { /* tried again on the next page */ });
  }

  function registerWorker() {
    if (!("serviceWorker" in navigator) || !cfg.worker) return;
    navigator.serviceWorker.register(cfg.worker, { scope: "/" }).catch(function () { /* no worker: no offline page */ });
  }

  // Start -----------------------------------------------------------------------------

  // Log-out: everything goes first, then the form is sent (the server also asks the browser to
  // clear this site's storage: locker/web/views/accounts.py).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (cfg.logoutUrl && form.getAttribute && form.getAttribute("action") === cfg.logoutUrl) {
      event.preventDefault();
      var go = function () { form.submit(); };
      Promise.race([wipeAll(), new Promise(function (resolve) { setTimeout(resolve, 1500); })]).then(go, go);
      return;
    }
    if (!on || !form.matches || !form.matches("form[data-upload]")) return;
    // Without a connection, in a kept form, or for a draft opened again: keep it as a draft
    // (and send it at once if the connection is there). Otherwise app.js sends it as ever.
    if (navigator.onLine && !form.hasAttribute("data-offline-form") && !form.dataset.offlineDraft) return;
    event.preventDefault();
    event.stopPropagation();
    keepAndSay(form);
  }, true);

  // app.js could not send the form (the connection failed): keep it as a draft.
  document.addEventListener("locker:send-failed", function (event) {
    if (on) keepAndSay(event.target);
  });
  document.addEventListener("locker:quick-exit", function () { wipeAll(); });

  registerWorker();
  sweepShare();
  ready(function () {
    if (!signedIn) {
      if (!indexedDB.databases) return;  // cannot look without creating the database
      openDb(false).then(allDrafts).then(function (list) {
        if (list.length) say([{ kind: "warning", text: t("SignIn") }]);
      }).catch(function () {});
      return;
    }
    if (!on) { wipeMine(); return; }
    if (cfg.shell === "1") {
      var form = document.querySelector("form[data-offline-form]");
      if (form) freshForm(form);
    }
    restore();
    precache();
    sendAll();
    window.addEventListener("online", sendAll);
  });
})();

// Passkeys (WebAuthn) on the second-factor page, the log-in step and "confirm it's you". A form
// marked data-passkey="register", "log_in" or "reauth" stays hidden without this script (the page says so in a
// <noscript>); with it, and a browser that has passkeys, it is shown, and submitting it asks
// the server for options (data-options-url), runs navigator.credentials.create() or .get(),
// and posts the answer in the form's "credential" field. The server checks everything; this
// only carries bytes. Binary fields travel as base64url, as the server's options give them.
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }

  function fromBase64url(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) base64 += "=";
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    if (!buffer) return null;
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (item) {
      var copy = { type: item.type, id: fromBase64url(item.id) };
      if (item.transports) copy.transports = item.transports;
      return copy;
    });
  }

  function creationOptions(json) {
    var options = Object.assign({}, json);
    options.challenge = fromBase64url(json.challenge);
    options.user = Object.assign({}, json.user, { id: fromBase64url(json.user.id) });
    options.excludeCredentials = descriptors(json.excludeCredentials);
    return options;
  }

  function requestOptions(json) {
    var options = Object.assign({}, json);
    options.challenge = fromBase64url(json.challenge);
    options.allowCredentials = descriptors(json.allowCredentials);
    return options;
  }

  // The credential as py_webauthn reads it (the shape of PublicKeyCredential.toJSON()).
  function credentialJSON(credential) {
    var response = credential.response;
    var out = {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
      response: { clientDataJSON: toBase64url(response.clientDataJSON) }
    };
    if (response.attestationObject) {
      out.response.attestationObject = toBase64url(response.attestationObject);
      if (response.getTransports) out.response.transports = response.getTransports();
    } else {
      out.response.authenticatorData = toBase64url(response.authenticatorData);
      out.response.signature = toBase64url(response.signature);
      var handle = toBase64url(response.userHandle);
      if (handle) out.response.userHandle = handle;
    }
    return out;
  }

  function words() {
    var holder = document.getElementById("passkey-messages");
    return holder ? holder.dataset : {};
  }

  function messageFor(error) {
    var say = words();
    var name = error && error.name;
    if (name === "NotAllowedError" || name === "AbortError") return say.cancelled;
    if (name === "InvalidStateError") return say.exists;
    if (name === "SecurityError") return say.address;
    if (name === "NotSupportedError") return say.unsupported;
    if (error && error.detail) return error.detail;
    return say.failed;
  }

  function supported() {
    return !!(window.PublicKeyCredential && navigator.credentials && navigator.credentials.create);
  }

  function askOptions(form) {
    var token = form.querySelector("input[name=csrfmiddlewaretoken]");
    return fetch(form.dataset.optionsUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": token ? token.value : "", "Accept": "application/json" }
    }).then(function (answer) {
      var type = answer.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") !== 0) throw new Error("not JSON");
      return answer.json().then(function (body) {
        if (!answer.ok) { var refused = new Error("refused"); refused.detail = body.detail; throw refused; }
        return body;
      });
    });
  }

  function run(form) {
    var register = form.dataset.passkey === "register";
    return askOptions(form).then(function (json) {
      return register
        ? navigator.credentials.create({ publicKey: creationOptions(json) })
        : navigator.credentials.get({ publicKey: requestOptions(json) });
    }).then(function (credential) {
      if (!credential) throw new Error("no credential");
      form.querySelector("input[name=credential]").value = JSON.stringify(credentialJSON(credential));
      // submit() does not fire "submit" again, so this handler does not run twice.
      form.submit();
    });
  }

  ready(function () {
    document.querySelectorAll("form[data-passkey]").forEach(function (form) {
      var error = form.querySelector("[data-passkey-error]");
      if (!supported()) {
        var note = document.createElement("p");
        note.className = "muted";
        note.textContent = words().unsupported || "";
        form.parentNode.insertBefore(note, form);
        return;
      }
      form.hidden = false;
      var button = form.querySelector("button[type=submit]");
      var busy = false;
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        if (busy) return;
        // "Confirm it's you" asks for the password too: no passkey prompt before it is typed.
        var password = form.querySelector("input[type=password]");
        if (password && !password.value) { password.focus(); return; }
        busy = true;
        button.disabled = true;
        error.hidden = false;
        error.classList.remove("error");
        error.textContent = words().waiting || "";
        run(form).catch(function (problem) {
          busy = false;
          button.disabled = false;
          error.classList.add("error");
          error.textContent = messageFor(problem) || "";
        });
      });
    });
  });
})();

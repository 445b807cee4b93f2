// Sandi member page: the web fallback of the app. Plain script, no inline code (strict CSP).
// Tokens live in this closure only. The WebAuthn calls are the ones the apps make:
// options from the API go straight to the platform (parse...FromJSON), and the platform's
// answer goes straight back (toJSON()).
"use strict";
(function () {
  const API = new URL("../", window.location.href).href;
  const $ = (id) => document.getElementById(id);
  const state = { access: null, flow: null, conditional: null };

  function say(text, bad) {
    $("notice").textContent = text || "";
    $("notice").className = "notice" + (bad ? " bad" : "");
  }

  async function call(method, path, body) {
    const headers = { "Accept-Language": "id" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (state.access) headers.Authorization = "Bearer " + state.access;
    const response = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const data = response.status === 204 ? {} : await response.json().catch(() => ({}));
    if (!response.ok) throw { status: response.status, code: (data.error || {}).code, message: (data.error || {}).message || String(response.status) };
    return { status: response.status, data };
  }

  // --- signing in -----------------------------------------------------------------------
  async function signedIn(session) {
    if (state.conditional) state.conditional.abort();
    if (state.access) return; // one sign-in at a time (autofill and the button may race)
    state.access = session.access_token;
    $("signin").hidden = true;
    $("me").hidden = false;
    const me = (await call("GET", "v1/me")).data;
    $("me-name").textContent = me.full_name;
    say("Anda sudah masuk.");
    await Promise.all([loadPasskeys(), loadDevices()]);
  }

  $("password-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const answer = await call("POST", "v1/sessions", { login: $("login").value.trim(), password: $("password").value });
      $("password").value = "";
      if (answer.status === 202) {
        state.flow = answer.data.flow_id;
        $("password-form").hidden = true;
        $("code-form").hidden = false;
        $("code").focus();
        say("Masukkan kode dari aplikasi autentikator.");
        return;
      }
      await signedIn(answer.data);
    } catch (e) {
      say(e.message, true);
    }
  });

  $("code-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await signedIn((await call("POST", "v1/sessions/" + encodeURIComponent(state.flow) + "/verify", { code: $("code").value.trim() })).data);
    } catch (e) {
      say(e.message, true);
    }
  });

  async function passkeySignIn(mediation, signal) {
    const started = (await call("POST", "v1/sessions/passkey/options", {})).data;
    const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(started.options);
    const credential = await navigator.credentials.get(mediation ? { publicKey, mediation, signal } : { publicKey });
    const session = (await call("POST", "v1/sessions/passkey", { flow_id: started.flow_id, credential: credential.toJSON() })).data;
    await signedIn(session);
  }

  $("passkey-signin").addEventListener("click", async () => {
    if (state.conditional) state.conditional.abort(); // one ceremony at a time
    try {
      await passkeySignIn(null);
    } catch (e) {
      say(e.message || "Passkey tidak dapat dipakai. Coba lagi atau masuk dengan kata sandi.", true);
    }
  });

  // Autofill: the sign-in field offers the member's passkeys while it waits for a login.
  async function offerPasskeysInAutofill() {
    if (!window.PublicKeyCredential || !PublicKeyCredential.isConditionalMediationAvailable) return;
    if (!(await PublicKeyCredential.isConditionalMediationAvailable())) return;
    state.conditional = new AbortController();
    document.body.dataset.conditional = "waiting";
    passkeySignIn("conditional", state.conditional.signal).catch(() => {});
  }

  $("signout").addEventListener("click", async () => {
    try { await call("DELETE", "v1/sessions/current"); } catch (e) { /* signed out either way */ }
    state.access = null;
    ["me-name", "passkeys", "devices"].forEach((id) => $(id).replaceChildren());
    $("me").hidden = true;
    $("signin").hidden = false;
    $("password-form").hidden = false;
    $("code-form").hidden = true;
    say("Anda sudah keluar.");
    offerPasskeysInAutofill();
  });

  // --- passkeys --------------------------------------------------------------------------
  function stepUp() {
    const body = { password: $("add-password").value };
    if ($("add-code").value.trim()) body.code = $("add-code").value.trim();
    return body;
  }

  $("add-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const started = (await call("POST", "v1/me/passkeys/options", stepUp())).data;
      const credential = await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(started.options) });
      await call("POST", "v1/me/passkeys", { flow_id: started.flow_id, credential: credential.toJSON() });
      $("add-form").reset();
      say("Passkey ditambahkan. Lain kali masuk cukup dengan kunci layar HP.");
      await loadPasskeys();
    } catch (e) {
      say(e.code === "validation_error" && !$("add-code").value ? "Isi kode autentikator." : e.message || "Passkey tidak dibuat.", true);
    }
  });

  function item(list, text) {
    const li = document.createElement("li");
    const span = document.createElement("span");
    span.textContent = text;
    li.append(span);
    list.append(li);
    return li;
  }

  function button(li, label, action) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "quiet";
    b.textContent = label;
    b.addEventListener("click", action);
    li.append(" ", b);
    return b;
  }

  async function loadPasskeys() {
    const list = document.createElement("ul");
    const { passkeys } = (await call("GET", "v1/me/passkeys")).data;
    if (!passkeys.length) item(list, "Belum ada passkey.");
    for (const p of passkeys) {
      const li = item(list, p.name + " · " + (p.device_type === "multi_device" ? "tersinkron" : "di perangkat ini"));
      li.dataset.passkeyId = p.passkey_id;
      li.className = "passkey";
      button(li, "Ganti nama", async () => {
        const name = window.prompt("Nama passkey", p.name);
        if (!name) return;
        try { await call("PATCH", "v1/me/passkeys/" + encodeURIComponent(p.passkey_id), { name }); await loadPasskeys(); }
        catch (e) { say(e.message, true); }
      });
      button(li, "Hapus", async () => {
        try {
          await call("DELETE", "v1/me/passkeys/" + encodeURIComponent(p.passkey_id), stepUp());
          say("Passkey dihapus.");
          await loadPasskeys();
        } catch (e) { say(e.status === 401 ? "Isi kata sandi Anda di atas untuk menghapus." : e.message, true); }
      });
    }
    $("passkeys").replaceChildren(...list.children);
  }

  async function loadDevices() {
    const list = document.createElement("ul");
    const { sessions } = (await call("GET", "v1/me/sessions")).data;
    for (const s of sessions) {
      const how = (s.amr || []).includes("user") ? "passkey" : (s.amr || []).join("+");
      const li = item(list, s.device + " · " + how + (s.current ? " · perangkat ini" : ""));
      li.className = "device";
      li.dataset.amr = (s.amr || []).join(" ");
      if (!s.current) {
        button(li, "Keluarkan", async () => {
          try { await call("DELETE", "v1/me/sessions/" + encodeURIComponent(s.session_id)); await loadDevices(); }
          catch (e) { say(e.message, true); }
        });
      }
    }
    $("devices").replaceChildren(...list.children);
  }

  offerPasskeysInAutofill();
  $("login").focus();
})();

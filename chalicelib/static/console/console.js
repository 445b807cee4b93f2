// Sandi call-center console. Plain script, no framework, no inline code (strict CSP).
// Tokens live in this closure only (never localStorage/sessionStorage): a reload signs out.
"use strict";
(function () {
  const API = new URL("../", window.location.href).href; // the stage root (…/api/ when deployed)
  const $ = (id) => document.getElementById(id);

  const TEXT = {
    id: {
      title: "Konsol Call Center", language: "Bahasa", signOut: "Keluar", signInTitle: "Masuk",
      username: "Nama pengguna", password: "Kata sandi", signIn: "Masuk",
      mfaCode: "Kode dari aplikasi autentikator", verify: "Verifikasi",
      setupHelp: "Tambahkan kunci ini ke aplikasi autentikator Anda, lalu masukkan kodenya.",
      newPasswordHelp: "Kata sandi sementara harus diganti.", newPassword: "Kata sandi baru", save: "Simpan",
      searchTitle: "Cari akun", searchLabel: "Email, NIK, nomor HP, atau KPJ", search: "Cari",
      unlockTitle: "Buka kunci masuk", reason: "Alasan", unlock: "Buka kunci",
      contactTitle: "Ubah email atau nomor HP", newEmail: "Email baru (kosongkan bila tetap)",
      newPhone: "Nomor HP baru (kosongkan bila tetap)", saveContact: "Ajukan perubahan",
      verification: "Cara identitas diperiksa", verificationPick: "Pilih…",
      vQuestions: "Pertanyaan (NIK, tanggal lahir, data kepesertaan)", vVideo: "Panggilan video (e-KTP ditunjukkan)",
      vBranch: "Datang ke kantor cabang", contactHelp: "Perubahan berlaku setelah disetujui supervisor lain.",
      verificationNeeded: "Pilih cara identitas anggota diperiksa.",
      contactRequested: "Permintaan dikirim. Kontak baru berlaku setelah disetujui supervisor lain (paling lambat 24 jam).",
      approvalsTitle: "Menunggu persetujuan", refresh: "Muat ulang", approve: "Setujui", reject: "Tolak",
      noApprovals: "Tidak ada permintaan yang menunggu.", requestedBy: "Diajukan oleh", checkedBy: "Identitas diperiksa lewat",
      newContact: "Kontak baru", approved: "Disetujui. Kontak baru berlaku, semua sesi anggota diakhiri, dan pemberitahuan dikirim ke alamat lama dan baru.",
      rejected: "Ditolak. Kontak anggota tidak berubah.", notYours: "Permintaan Anda sendiri harus disetujui supervisor lain.",
      decisionExpired: "Permintaan ini sudah kedaluwarsa (lebih dari 24 jam). Ajukan lagi bila perlu.",
      authenticatorTitle: "Matikan aplikasi autentikator (HP hilang)", authenticatorReset: "Matikan autentikator",
      resetTitle: "Reset akun (daftar ulang)",
      resetHelp: "Akun ditutup; email, NIK, nomor HP dan KPJ bebas didaftarkan lagi.",
      resetConfirm: "Saya yakin", reset: "Reset akun", auditTitle: "Jejak audit", when: "Waktu",
      event: "Kejadian", actor: "Oleh", more: "Muat lebih banyak",
      signInFailed: "Nama pengguna atau kata sandi salah.", codeFailed: "Kode salah atau kedaluwarsa. Coba lagi.",
      signInUnavailable: "Layanan masuk tidak dapat dihubungi. Coba lagi sebentar lagi.",
      expired: "Sesi Anda berakhir. Silakan masuk lagi; data panggilan tidak hilang dari sistem.",
      signedOut: "Anda sudah keluar.", searching: "Mencari…", notFound: "Tidak ada akun untuk pencarian ini.",
      found: "Akun ditemukan.", emptyQuery: "Isi email, NIK, nomor HP, atau KPJ.",
      reasonNeeded: "Tulis alasan (minimal 3 huruf).", contactNeeded: "Isi email baru atau nomor HP baru.",
      confirmNeeded: "Centang “Saya yakin” untuk mereset akun.", working: "Memproses…",
      unlocked: "Kunci masuk sudah dibuka. Anggota bisa masuk lagi sekarang.",
      authenticatorOff: "Aplikasi autentikator sudah dimatikan. Anggota diberi tahu lewat email dan SMS.",
      resetDone: "Akun sudah direset. Anggota bisa mendaftar ulang dengan data yang sama.",
      failed: "Gagal:", network: "Tidak dapat menghubungi server. Periksa jaringan lalu coba lagi.",
      fName: "Nama", fEmail: "Email", fPhone: "Nomor HP", fNik: "NIK", fKpj: "KPJ", fBirth: "Tanggal lahir",
      fType: "Jenis kepesertaan", fStatus: "Status", fLock: "Kunci masuk", fPin: "PIN",
      fAuth: "Aplikasi autentikator", fCreated: "Terdaftar", active: "Aktif", closed: "Ditutup",
      lockedUntil: "Terkunci sampai", notLocked: "Tidak terkunci", failedTries: "percobaan salah",
      pinDisabled: "Dinonaktifkan (terlalu banyak salah)", pinSet: "Sudah dibuat", pinNone: "Belum dibuat",
      on: "Aktif", off: "Tidak aktif", noEvents: "Belum ada kejadian.",
    },
    en: {
      title: "Call-center console", language: "Language", signOut: "Sign out", signInTitle: "Sign in",
      username: "Username", password: "Password", signIn: "Sign in",
      mfaCode: "Code from the authenticator app", verify: "Verify",
      setupHelp: "Add this key to your authenticator app, then enter its code.",
      newPasswordHelp: "The temporary password must be changed.", newPassword: "New password", save: "Save",
      searchTitle: "Find an account", searchLabel: "Email, NIK, phone number or KPJ", search: "Search",
      unlockTitle: "Unlock sign-in", reason: "Reason", unlock: "Unlock",
      contactTitle: "Change email or phone", newEmail: "New email (leave empty to keep)",
      newPhone: "New phone number (leave empty to keep)", saveContact: "Request the change",
      verification: "How identity was checked", verificationPick: "Choose…",
      vQuestions: "Questions (NIK, birth date, membership details)", vVideo: "Video call (e-KTP shown)",
      vBranch: "Visit to a branch office", contactHelp: "The change applies once another supervisor approves it.",
      verificationNeeded: "Choose how the member's identity was checked.",
      contactRequested: "Request sent. The new contact applies once another supervisor approves it (within 24 hours).",
      approvalsTitle: "Waiting for approval", refresh: "Reload", approve: "Approve", reject: "Reject",
      noApprovals: "Nothing is waiting.", requestedBy: "Requested by", checkedBy: "Identity checked by",
      newContact: "New contact", approved: "Approved. The new contact applies, every session of the member ended, and notices went to the old and the new addresses.",
      rejected: "Rejected. The member's contact is unchanged.", notYours: "Your own request needs another supervisor's approval.",
      decisionExpired: "This request has expired (over 24 hours). Request it again if needed.",
      authenticatorTitle: "Turn the authenticator app off (lost phone)", authenticatorReset: "Turn authenticator off",
      resetTitle: "Reset the account (register again)",
      resetHelp: "The account is closed; its email, NIK, phone and KPJ are free to register again.",
      resetConfirm: "I am sure", reset: "Reset account", auditTitle: "Audit trail", when: "When",
      event: "Event", actor: "By", more: "Load more",
      signInFailed: "Wrong username or password.", codeFailed: "Wrong or expired code. Try again.",
      signInUnavailable: "The sign-in service cannot be reached. Try again shortly.",
      expired: "Your session has ended. Please sign in again; nothing of the call is lost.",
      signedOut: "You are signed out.", searching: "Searching…", notFound: "No account matches this search.",
      found: "Account found.", emptyQuery: "Enter an email, NIK, phone number or KPJ.",
      reasonNeeded: "Write a reason (at least 3 characters).", contactNeeded: "Enter a new email or a new phone number.",
      confirmNeeded: "Tick “I am sure” to reset the account.", working: "Working…",
      unlocked: "Sign-in is unlocked. The member can sign in again now.",
      authenticatorOff: "The authenticator app is off. The member was told by email and SMS.",
      resetDone: "The account is reset. The member can register again with the same data.",
      failed: "Failed:", network: "The server cannot be reached. Check the network and try again.",
      fName: "Name", fEmail: "Email", fPhone: "Phone", fNik: "NIK", fKpj: "KPJ", fBirth: "Birth date",
      fType: "Membership type", fStatus: "Status", fLock: "Sign-in lock", fPin: "PIN",
      fAuth: "Authenticator app", fCreated: "Registered", active: "Active", closed: "Closed",
      lockedUntil: "Locked until", notLocked: "Not locked", failedTries: "wrong tries",
      pinDisabled: "Disabled (too many wrong tries)", pinSet: "Set", pinNone: "Not set",
      on: "On", off: "Off", noEvents: "No events yet.",
    },
  };

  const state = { lang: "id", config: null, token: null, claims: null, challenge: null, account: null, cursor: null };
  const t = (key) => TEXT[state.lang][key] || TEXT.id[key] || key;

  function applyLanguage() {
    document.documentElement.lang = state.lang;
    document.querySelectorAll("[data-t]").forEach((el) => { el.textContent = t(el.dataset.t); });
    document.title = "Sandi – " + t("title");
    if (state.account) renderCard(state.account);
  }

  function notice(text) {
    const box = $("notice");
    box.textContent = text || "";
    box.hidden = !text;
  }

  // One request at a time per button: a double click never fires an action twice.
  async function busy(button, work) {
    if (button.disabled) return;
    button.disabled = true;
    try { await work(); } finally { button.disabled = false; }
  }

  // --- Cognito (the stage's staff pool), public client: no secret in the page ---------
  async function cognito(action, body) {
    let response;
    try {
      response = await fetch(state.config.idp_endpoint, {
        method: "POST",
        headers: {
          "Content-Type": "application/x-amz-json-1.1",
          "X-Amz-Target": "AWSCognitoIdentityProviderService." + action,
        },
        body: JSON.stringify(body),
      });
    } catch (e) {
      throw { kind: "unavailable" };
    }
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw { kind: "refused", type: String(data.__type || "") };
    return data;
  }

  function decodeClaims(token) {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part + "===".slice((part.length + 3) % 4)));
  }

  function signedIn(result) {
    state.token = result.AccessToken;
    state.claims = decodeClaims(state.token);
    state.challenge = null;
    ["signin-form", "mfa-form", "setup-form", "newpass-form"].forEach((id) => { $(id).hidden = true; $(id).reset(); });
    $("signin").hidden = true;
    $("work").hidden = false;
    const groups = state.claims["cognito:groups"] || [];
    $("who").textContent = (state.claims.username || "") + " · " + (groups.includes("supervisor") ? "supervisor" : "agent");
    $("who").hidden = false;
    $("sign-out").hidden = false;
    document.querySelectorAll(".supervisor").forEach((el) => { el.hidden = !groups.includes("supervisor"); });
    notice("");
    $("query").focus();
    if (groups.includes("supervisor")) loadApprovals();
  }

  function signOut(message) {
    state.token = state.claims = state.account = state.challenge = null;
    $("work").hidden = true;
    $("card").hidden = true;
    $("search-result").textContent = "";
    $("who").hidden = true;
    $("sign-out").hidden = true;
    $("signin").hidden = false;
    $("signin-form").hidden = false;
    ["mfa-form", "setup-form", "newpass-form"].forEach((id) => { $(id).hidden = true; });
    notice(message || "");
    $("username").focus();
  }

  function signInError(error) {
    $("signin-error").textContent = error.kind === "unavailable" ? t("signInUnavailable")
      : /CodeMismatch|ExpiredCode|EnableSoftwareTokenMFA/.test(error.type || "") ? t("codeFailed") : t("signInFailed");
  }

  async function afterAuth(answer) {
    if (answer.AuthenticationResult) return signedIn(answer.AuthenticationResult);
    state.challenge = { name: answer.ChallengeName, session: answer.Session, username: $("username").value.trim() };
    $("signin-form").hidden = true;
    if (answer.ChallengeName === "SOFTWARE_TOKEN_MFA") {
      $("mfa-form").hidden = false; $("mfa-code").focus();
    } else if (answer.ChallengeName === "MFA_SETUP") {
      const assoc = await cognito("AssociateSoftwareToken", { Session: answer.Session });
      state.challenge.session = assoc.Session;
      $("setup-secret").textContent = assoc.SecretCode;
      $("setup-form").hidden = false; $("setup-code").focus();
    } else if (answer.ChallengeName === "NEW_PASSWORD_REQUIRED") {
      $("newpass-form").hidden = false; $("new-password").focus();
    } else {
      throw { kind: "refused", type: answer.ChallengeName };
    }
  }

  async function respond(responses) {
    const c = state.challenge;
    const answer = await cognito("RespondToAuthChallenge", {
      ClientId: state.config.client_id, ChallengeName: c.name, Session: c.session,
      ChallengeResponses: Object.assign({ USERNAME: c.username }, responses),
    });
    await afterAuth(answer);
  }

  // --- the API -------------------------------------------------------------------------
  async function api(method, path, body) {
    let response;
    try {
      response = await fetch(API + path, {
        method,
        headers: Object.assign(
          { Authorization: "Bearer " + state.token, "Accept-Language": state.lang },
          body ? { "Content-Type": "application/json" } : {}
        ),
        body: body ? JSON.stringify(body) : undefined,
      });
    } catch (e) {
      throw { message: t("network") };
    }
    const data = await response.json().catch(() => ({}));
    if (response.status === 401) { signOut(t("expired")); throw { silent: true }; }
    if (!response.ok) {
      const err = data.error || {};
      const fields = err.details && err.details.fields ? Object.keys(err.details.fields).join(", ") : "";
      throw {
        status: response.status, code: err.code,
        message: (err.message || data.message || String(response.status)) + (fields ? " (" + fields + ")" : ""),
      };
    }
    return data;
  }

  // Which lookups a search box entry may be, most likely first.
  function kinds(raw) {
    const text = raw.trim();
    if (text.includes("@")) return [["email", text]];
    const digits = text.replace(/[\s().-]/g, "");
    if (/^\+?\d+$/.test(digits) === false) return [["email", text]];
    if (digits.startsWith("+") || digits.startsWith("0")) return [["phone", digits]];
    if (digits.length === 16) return [["nik", digits]];
    if (digits.startsWith("62")) return [["phone", digits], ["kpj", digits]];
    return [["kpj", digits], ["phone", digits]];
  }

  async function search(query) {
    $("search-result").textContent = t("searching");
    $("card").hidden = true;
    state.account = null;
    for (const [kind, value] of kinds(query)) {
      let data;
      try {
        data = await api("GET", "v1/admin/accounts?" + new URLSearchParams({ [kind]: value }));
      } catch (e) {
        if (e.silent) return;
        if (kinds(query).length > 1) continue; // e.g. not a valid phone: the next kind may be right
        $("search-result").textContent = t("failed") + " " + e.message;
        return;
      }
      if (data.accounts.length) {
        $("search-result").textContent = t("found");
        return showAccount(data.accounts[0]);
      }
    }
    $("search-result").textContent = t("notFound");
  }

  function field(list, label, value, cls) {
    const dt = document.createElement("dt"); dt.textContent = label;
    const dd = document.createElement("dd"); dd.textContent = value == null || value === "" ? "–" : value;
    if (cls) dd.className = cls;
    list.append(dt, dd);
  }

  function renderCard(a) {
    $("card-title").textContent = a.full_name || a.account_id;
    const list = $("card-fields");
    list.replaceChildren();
    const locale = state.lang === "en" ? "en-GB" : "id-ID";
    const when = (iso) => (iso ? new Date(iso).toLocaleString(locale) : "");
    field(list, t("fStatus"), a.status === "active" ? t("active") : t("closed"), a.status === "active" ? "status-ok" : "status-bad");
    const tries = a.failed_logins ? " (" + a.failed_logins + " " + t("failedTries") + ")" : "";
    field(list, t("fLock"), (a.locked ? t("lockedUntil") + " " + when(a.locked_until) : t("notLocked")) + tries,
      a.locked ? "status-bad" : "");
    field(list, t("fPin"), a.pin_disabled ? t("pinDisabled") : a.pin_set ? t("pinSet") : t("pinNone"), a.pin_disabled ? "status-bad" : "");
    field(list, t("fAuth"), a.authenticator_enabled ? t("on") : t("off"));
    field(list, t("fEmail"), a.email);
    field(list, t("fPhone"), a.phone);
    field(list, t("fNik"), a.nik_masked);
    field(list, t("fKpj"), a.kpj);
    field(list, t("fBirth"), a.birth_date);
    field(list, t("fType"), a.membership_type);
    field(list, t("fCreated"), when(a.created_at));
  }

  async function showAccount(account) {
    state.account = account;
    renderCard(account);
    $("action-result").textContent = "";
    $("card").hidden = false;
    $("card").focus();
    $("audit-rows").replaceChildren();
    state.cursor = null;
    await loadAudit();
  }

  async function loadAudit() {
    const a = state.account;
    const query = new URLSearchParams({ limit: "10" });
    if (state.cursor) query.set("cursor", state.cursor);
    let data;
    try {
      data = await api("GET", "v1/admin/accounts/" + encodeURIComponent(a.account_id) + "/audit?" + query);
    } catch (e) {
      if (!e.silent) $("action-result").textContent = t("failed") + " " + e.message;
      return;
    }
    const rows = $("audit-rows");
    if (!state.cursor && !data.events.length) {
      const tr = rows.insertRow(); const td = tr.insertCell(); td.colSpan = 4; td.textContent = t("noEvents");
    }
    for (const e of data.events) {
      const tr = rows.insertRow();
      [new Date(e.at).toLocaleString(state.lang === "en" ? "en-GB" : "id-ID"), e.kind, e.actor || "", e.reason || ""]
        .forEach((v) => { tr.insertCell().textContent = v; });
    }
    state.cursor = data.next_cursor || null;
    $("audit-more").hidden = !state.cursor;
  }

  async function act(form, path, body, done) {
    const out = $("action-result");
    out.className = "result";
    out.textContent = t("working");
    try {
      const account = await api(path[0], path[1], body);
      out.className = "result ok";
      out.textContent = t(done);
      form.reset();
      if (account && account.account_id && !account.change_id) { state.account = account; renderCard(account); }
      $("audit-rows").replaceChildren(); state.cursor = null;
      await loadAudit();
    } catch (e) {
      if (e.silent) return;
      out.className = "result bad";
      out.textContent = t("failed") + " " + e.message;
    }
  }

  function reasonOf(id) {
    const reason = $(id).value.trim();
    if (reason.length < 3) {
      $("action-result").className = "result bad";
      $("action-result").textContent = t("reasonNeeded");
      $(id).focus();
      return null;
    }
    return reason;
  }

  // --- four eyes: contact changes waiting for a second person ---------------------------
  const VERIFIED = { questions: "vQuestions", video_call: "vVideo", branch_visit: "vBranch" };

  async function loadApprovals(message) {
    const list = $("approvals-list");
    let data;
    try {
      data = await api("GET", "v1/admin/contact-changes?status=pending");
    } catch (e) {
      if (!e.silent) $("approvals-result").textContent = t("failed") + " " + e.message;
      return;
    }
    list.replaceChildren();
    $("approvals-result").textContent = message || (data.changes.length ? "" : t("noApprovals"));
    for (const c of data.changes) list.append(approvalItem(c));
  }

  function approvalItem(c) {
    const li = document.createElement("li");
    li.className = "approval";
    li.dataset.changeId = c.change_id;
    const lines = [
      t("newContact") + ": " + [c.email, c.phone].filter(Boolean).join(", "),
      t("reason") + ": " + (c.reason || ""),
      t("checkedBy") + ": " + t(VERIFIED[c.verification] || c.verification),
      t("requestedBy") + ": " + (c.requested_by || "") + " · " +
        new Date(c.requested_at).toLocaleString(state.lang === "en" ? "en-GB" : "id-ID"),
    ];
    for (const line of lines) { const p = document.createElement("p"); p.textContent = line; li.append(p); }
    const label = document.createElement("label");
    label.textContent = t("reason");
    const reason = document.createElement("input");
    reason.maxLength = 500;
    reason.className = "decision-reason";
    label.append(reason);
    const yes = document.createElement("button"); yes.type = "button"; yes.className = "approve"; yes.textContent = t("approve");
    const no = document.createElement("button"); no.type = "button"; no.className = "reject"; no.textContent = t("reject");
    yes.addEventListener("click", () => busy(yes, () => decide(c, "approve", reason.value.trim())));
    no.addEventListener("click", () => busy(no, () => decide(c, "reject", reason.value.trim())));
    li.append(label, yes, no);
    return li;
  }

  async function decide(change, verb, reason) {
    const out = $("approvals-result");
    if (verb === "reject" && reason.length < 3) { out.className = "result bad"; out.textContent = t("reasonNeeded"); return; }
    out.className = "result"; out.textContent = t("working");
    try {
      await api("POST", "v1/admin/contact-changes/" + encodeURIComponent(change.change_id) + "/" + verb,
        reason ? { reason } : {});
    } catch (e) {
      if (e.silent) return;
      out.className = "result bad";
      out.textContent = e.status === 403 ? t("notYours") : e.status === 410 ? t("decisionExpired") : t("failed") + " " + e.message;
      return;
    }
    await loadApprovals(t(verb === "approve" ? "approved" : "rejected"));
    out.className = "result ok";
  }

  // --- wiring ----------------------------------------------------------------------------
  function onSubmit(id, handler) {
    const form = $(id);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      busy(form.querySelector("button[type=submit]"), () => handler(form));
    });
  }

  onSubmit("signin-form", async () => {
    $("signin-error").textContent = "";
    try {
      await afterAuth(await cognito("InitiateAuth", {
        ClientId: state.config.client_id, AuthFlow: "USER_PASSWORD_AUTH",
        AuthParameters: { USERNAME: $("username").value.trim(), PASSWORD: $("password").value },
      }));
    } catch (e) { signInError(e); }
    $("password").value = "";
  });
  onSubmit("mfa-form", async () => {
    try { await respond({ SOFTWARE_TOKEN_MFA_CODE: $("mfa-code").value.trim() }); } catch (e) { signInError(e); }
  });
  onSubmit("setup-form", async () => {
    try {
      const verified = await cognito("VerifySoftwareToken", { Session: state.challenge.session, UserCode: $("setup-code").value.trim() });
      state.challenge.session = verified.Session;
      await respond({});
    } catch (e) { signInError(e); }
  });
  onSubmit("newpass-form", async () => {
    try { await respond({ NEW_PASSWORD: $("new-password").value }); } catch (e) { signInError(e); }
  });
  onSubmit("search-form", async () => {
    const query = $("query").value;
    if (!query.trim()) { $("search-result").textContent = t("emptyQuery"); return; }
    await search(query);
  });
  const base = () => "v1/admin/accounts/" + encodeURIComponent(state.account.account_id);
  onSubmit("unlock-form", async (form) => {
    const reason = reasonOf("unlock-reason");
    if (reason) await act(form, ["POST", base() + "/unlock"], { reason }, "unlocked");
  });
  onSubmit("contact-form", async (form) => {
    const email = $("new-email").value.trim();
    const phone = $("new-phone").value.trim();
    if (!email && !phone) {
      $("action-result").className = "result bad"; $("action-result").textContent = t("contactNeeded"); return;
    }
    const verification = $("contact-verification").value;
    if (!verification) {
      $("action-result").className = "result bad"; $("action-result").textContent = t("verificationNeeded");
      $("contact-verification").focus(); return;
    }
    const reason = reasonOf("contact-reason");
    if (!reason) return;
    const body = { reason, verification };
    if (email) body.email = email;
    if (phone) body.phone = phone;
    await act(form, ["PATCH", base() + "/contact"], body, "contactRequested");
    if (state.claims && (state.claims["cognito:groups"] || []).includes("supervisor")) loadApprovals();
  });
  onSubmit("authenticator-form", async (form) => {
    const reason = reasonOf("authenticator-reason");
    if (reason) await act(form, ["POST", base() + "/authenticator/reset"], { reason }, "authenticatorOff");
  });
  onSubmit("reset-form", async (form) => {
    if (!$("reset-confirm").checked) {
      $("action-result").className = "result bad"; $("action-result").textContent = t("confirmNeeded"); return;
    }
    const reason = reasonOf("reset-reason");
    if (reason) await act(form, ["POST", base() + "/reset"], { reason }, "resetDone");
  });
  $("audit-more").addEventListener("click", (event) => busy(event.currentTarget, loadAudit));
  $("approvals-refresh").addEventListener("click", (event) => busy(event.currentTarget, () => loadApprovals()));
  $("sign-out").addEventListener("click", () => signOut(t("signedOut")));
  $("lang").addEventListener("change", (event) => { state.lang = event.target.value; applyLanguage(); });

  // A token that expires mid-call: back to sign-in with a clear message, at its expiry.
  window.setInterval(() => {
    if (state.claims && state.claims.exp * 1000 <= Date.now()) signOut(t("expired"));
  }, 5000);

  fetch("config.json").then((r) => r.json()).then((config) => {
    state.config = config;
    applyLanguage();
    $("username").focus();
  });
})();

// Account page: revoke sessions on the server and keep token expiry fresh.
(function () {
  "use strict";
  // Signing out of this session (issue 13): POST .../logout ends it and,
  // when RP-initiated logout is on, answers the provider's logout as a
  // form, posted there (the page's CSP form-action allows that origin)
  // so the ID token stays out of URLs.
  async function signOut() {
    const res = await fetch("/v1/account/sessions/current/logout", {
      method: "POST", credentials: "same-origin", headers: { "Accept": "application/json" }
    });
    if (res.status !== 200) { alert("Could not sign out (HTTP " + res.status + ")."); return; }
    const body = await res.json();
    const f = body.providerLogoutForm;
    if (f && f.action) {
      const form = document.createElement("form");
      form.method = "POST";
      form.action = f.action;
      for (const [k, v] of Object.entries(f.params || {})) {
        const input = document.createElement("input");
        input.type = "hidden"; input.name = k; input.value = v;
        form.appendChild(input);
      }
      document.body.appendChild(form);
      form.submit();
      return;
    }
    window.location.assign(body.providerLogoutUrl || "/?msg=signed_out");
  }
  async function remove(id) {
    const current = document.querySelector('tr.current[data-id="' + CSS.escape(id) + '"]');
    if (id === "current" || current) { return signOut(); }
    const res = await fetch("/v1/account/sessions/" + encodeURIComponent(id), {
      method: "DELETE", credentials: "same-origin", headers: { "Accept": "application/json" }
    });
    if (res.status !== 204) {
      alert("Could not revoke the session (HTTP " + res.status + ").");
      return;
    }
    if (id === "current") { window.location.assign("/"); return; }
    const row = document.querySelector('tr[data-id="' + CSS.escape(id) + '"]');
    if (row && row.classList.contains("current")) { window.location.assign("/"); return; }
    window.location.reload();
  }
  document.addEventListener("click", function (ev) {
    const b = ev.target.closest("button[data-session]");
    if (b) { b.disabled = true; remove(b.dataset.session).finally(function () { b.disabled = false; }); }
  });
  async function poll() {
    try {
      const res = await fetch("/v1/account/sessions", { credentials: "same-origin", headers: { "Accept": "application/json" } });
      if (res.status === 401) { window.location.assign("/"); return; }
      if (!res.ok) return;
      const body = await res.json();
      for (const s of body.sessions) {
        const cell = document.querySelector('tr[data-id="' + CSS.escape(s.$id) + '"] td.expiry');
        if (cell) { cell.textContent = s.providerAccessTokenExpiry || "none"; cell.dataset.expiry = s.providerAccessTokenExpiry; }
      }
    } catch (e) { /* offline: try again on the next tick */ }
  }
  setInterval(poll, 5000);
})();

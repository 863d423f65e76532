// Account page: show times in the browser's locale and time zone (relative
// where that reads better, exact on hover), follow the token expiry as the
// refresher renews it, and leave for the login page when the session ends.
// Every word comes from the page (data-t-* on #sessions), never from here.
(function () {
  "use strict";
  var list = document.getElementById("sessions");
  if (!list) { return; }
  var t = list.dataset;
  function fill(tpl, name, v) { return tpl.split("{" + name + "}").join(v); }
  function span(ms) {
    var min = Math.floor(Math.abs(ms) / 60000);
    if (min < 1) { return t.tLtMinute; }
    var days = Math.round(min / 1440);
    if (min < 1440) { days = 0; }
    if (days >= 1) { return fill(days === 1 ? t.tDayOne : t.tDayOther, "n", days); }
    var h = Math.floor(min / 60), m = min % 60, parts = [];
    if (h > 0) { parts.push(fill(t.tHours, "n", h)); }
    if (m > 0) { parts.push(fill(t.tMinutes, "n", m)); }
    return parts.join(" ");
  }
  var exact = { dateStyle: "full", timeStyle: "long" };
  var short = { dateStyle: "medium", timeStyle: "short" };
  function render(el) {
    var at = new Date(el.getAttribute("datetime"));
    if (isNaN(at.getTime())) { return; }
    el.title = at.toLocaleString(undefined, exact);
    if (el.dataset.style === "clock") {
      el.textContent = at.toLocaleString(undefined, short);
      return;
    }
    var d = at.getTime() - Date.now();
    el.textContent = fill(d >= 0 ? t.tIn : t.tAgo, "d", span(d));
  }
  function renderAll() { Array.prototype.forEach.call(document.querySelectorAll("time[datetime]"), render); }
  async function poll() {
    try {
      var res = await fetch("/v1/account/sessions", { credentials: "same-origin", headers: { "Accept": "application/json" } });
      if (res.status === 401) { window.location.assign("/?msg=revoked"); return; }
      if (!res.ok) { return; }
      var body = await res.json();
      body.sessions.forEach(function (s) {
        var row = document.getElementById("session-" + s.$id);
        var el = row && row.querySelector(".token-fresh time, .token-valid time");
        var done = row && row.querySelector("dd.refreshed");
        if (done && Date.parse(s.$updatedAt) - Date.parse(s.$createdAt) > 1000) {
          var when = done.querySelector("time") || document.createElement("time");
          when.setAttribute("datetime", s.$updatedAt);
          if (!when.parentNode) { done.textContent = ""; done.appendChild(when); }
          render(when);
        }
        if (el && s.providerAccessTokenExpiry) {
          el.setAttribute("datetime", s.providerAccessTokenExpiry);
          el.dataset.expiry = s.providerAccessTokenExpiry;
          render(el);
        }
      });
    } catch (e) { /* offline: the next tick tries again */ }
  }
  // Revoke asks first. Without this script the ask form reloads the page
  // with ?revoke=ID, where the server shows the same confirmation.
  function ask(row, on) {
    var askForm = row.querySelector("form.revoke-ask"), confirm = row.querySelector("form.confirm");
    if (!askForm || !confirm) { return; }
    askForm.hidden = on;
    confirm.hidden = !on;
    (on ? confirm.querySelector(".confirm-revoke") : askForm.querySelector("button")).focus();
  }
  list.addEventListener("submit", function (ev) {
    if (!ev.target.classList.contains("revoke-ask")) { return; }
    ev.preventDefault();
    ask(ev.target.closest("li.session"), true);
  });
  list.addEventListener("click", function (ev) {
    var cancel = ev.target.closest("a.confirm-cancel");
    if (!cancel) { return; }
    ev.preventDefault();
    ask(cancel.closest("li.session"), false);
  });
  renderAll();
  setInterval(renderAll, 20000);
  setInterval(poll, 10000);
})();

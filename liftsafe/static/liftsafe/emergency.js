/* liftsafe emergency pages: running timers, live-board delta merge, one-shot submit buttons, cause class → item.
 *
 * Timers: every element .em-timer inside a board row (data-rc / data-ld, epoch seconds) or with data-since
 * ticks every second against the server clock (data-server-now on the page, ms) and turns
 * t-ok / t-warn / t-late at the row's limits (data-rl case-timer limit, data-dl dispatch-timer limit, s;
 * 0 = untimed; server side: emergency.selectors.board_limits).
 * Board: #board-poll polls the delta endpoint with ?since=<cursor> (htmx, every board_poll_s s); the response's rows
 * replace rows of the same id or are inserted undispatched first, then in received order; ids in data-closed are
 * removed. 204 No Content = nothing changed (cursor, rows and state counts stay). The "late" counter (rows shown red,
 * which time alone changes) is recounted here every second from the rows, when the board holds every open case.
 */
(function () {
  "use strict";
  var skew = 0; // server ms - client ms
  function nowS() { return (Date.now() + skew) / 1000; }
  function fmt(s) {
    s = Math.max(0, Math.floor(s));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    var mm = (m < 10 ? "0" : "") + m, rr = (r < 10 ? "0" : "") + r;
    return h ? h + ":" + mm + ":" + rr : mm + ":" + rr;
  }
  var warnFraction = 0.8;
  function cls(elapsed, limit) {
    if (!limit) return "";
    if (elapsed >= limit) return "t-late";
    if (elapsed >= limit * warnFraction) return "t-warn";
    return "t-ok";
  }
  function setCls(el, c) {
    el.classList.remove("t-ok", "t-warn", "t-late");
    if (c) el.classList.add(c);
  }
  function tickRow(tr, now) {
    var rc = +tr.dataset.rc, ld = tr.dataset.ld ? +tr.dataset.ld : null, st = tr.dataset.st;
    var rl = +tr.dataset.rl, dl = +tr.dataset.dl;
    var late = false;
    var a = tr.querySelector('[data-t="rc"]'), b = tr.querySelector('[data-t="ld"]');
    if (a) {
      a.textContent = fmt(now - rc);
      var ca = cls(now - rc, rl);
      setCls(a, ca); late = late || ca === "t-late";
    }
    if (b) {
      if (ld) {
        b.textContent = fmt(now - ld);
        var cb = cls(now - ld, dl);
        setCls(b, cb); late = late || cb === "t-late";
      } else { b.textContent = "—"; setCls(b, ""); }
    }
    tr.classList.toggle("late", late);
    tr.classList.toggle("undispatched", st === "received" && !late);
  }
  function tick() {
    var now = nowS();
    var rows = document.querySelectorAll("#board-rows > tr");
    var late = 0;
    for (var i = 0; i < rows.length; i++) { tickRow(rows[i], now); if (rows[i].classList.contains("late")) late++; }
    var counts = document.querySelector("#board-counts .em-counts"), lc = counts && counts.querySelector('[data-count="late"]');
    if (lc && rows.length >= +(counts.dataset.open || 0)) {  // same rule as the server's count (selectors.late_q)
      lc.querySelector("b").textContent = late;
      lc.classList.toggle("alert", late > 0);
    }
    var solo = document.querySelectorAll(".em-timer[data-since]");
    for (var j = 0; j < solo.length; j++) {
      var el = solo[j], e = now - (+el.dataset.since);
      el.textContent = fmt(e); setCls(el, cls(e, +el.dataset.limit));
    }
  }

  // board order (same as views.board_data): undispatched first, then received time, then id
  function rowKey(tr) { return [tr.dataset.st === "received" ? 0 : 1, +tr.dataset.rc, +tr.id.slice(5)]; }
  function before(a, b) {
    for (var i = 0; i < 3; i++) { if (a[i] !== b[i]) return a[i] < b[i]; }
    return false;
  }
  function insertRow(tbody, tr) {
    var key = rowKey(tr);
    var kids = tbody.children;
    for (var i = 0; i < kids.length; i++) {
      if (before(key, rowKey(kids[i]))) { tbody.insertBefore(tr, kids[i]); return; }
    }
    tbody.appendChild(tr);
  }
  function applyDelta(html) {
    var board = document.getElementById("board");
    var tbody = document.getElementById("board-rows");
    if (!board || !tbody) return;
    var tpl = document.createElement("template");
    tpl.innerHTML = html;
    var delta = tpl.content.getElementById("board-delta");
    if (!delta) return;
    var changed = 0;
    if (delta.dataset.full) { tbody.innerHTML = ""; }
    var rows = delta.querySelectorAll("tbody > tr");
    for (var i = 0; i < rows.length; i++) {
      var tr = rows[i], old = document.getElementById(tr.id);
      if (old) {
        if (old.dataset.st !== tr.dataset.st) {  // the state moves the row (undispatched rows sort first)
          old.remove(); insertRow(tbody, tr); changed++; flash(tr);
        } else if (old.dataset.sig !== tr.dataset.sig) {  // timers tick locally: only a real change replaces the row
          old.replaceWith(tr); changed++; flash(tr);
        }
      } else { insertRow(tbody, tr); changed++; flash(tr); }
    }
    (delta.dataset.closed || "").split(",").forEach(function (id) {
      if (!id) return;
      var el = document.getElementById("case-" + id);
      if (el) { el.remove(); changed++; }
    });
    var counts = delta.querySelector("#board-counts-new");
    var target = document.getElementById("board-counts");
    if (counts && target) target.innerHTML = counts.innerHTML;
    // the tab badge shows the same open total as the count bar (data-open of _board_counts.html)
    var open = counts && counts.querySelector(".em-counts"), pill = document.getElementById("board-tab-count");
    if (open && pill) pill.textContent = +(open.dataset.open || 0) ? open.dataset.open : "";
    board.dataset.cursor = delta.dataset.cursor;
    var empty = document.getElementById("board-empty");
    if (empty) empty.hidden = tbody.children.length > 0;
    var up = document.getElementById("board-updated");
    if (up) up.textContent = new Date(Date.now() + skew).toLocaleTimeString();
    board.dataset.changed = String((+board.dataset.changed || 0) + changed);
    tick();
  }
  function markUpdated() {
    var up = document.getElementById("board-updated");
    if (up) up.textContent = new Date(Date.now() + skew).toLocaleTimeString();
  }
  function flash(tr) { tr.classList.add("flash"); setTimeout(function () { tr.classList.remove("flash"); }, 2500); }

  document.addEventListener("htmx:configRequest", function (evt) {
    if (evt.detail.elt && evt.detail.elt.id === "board-poll") {
      var board = document.getElementById("board");
      if (board && board.dataset.cursor) evt.detail.parameters.since = board.dataset.cursor;
    }
  });
  document.addEventListener("htmx:afterRequest", function (evt) {
    if (evt.detail.elt && evt.detail.elt.id === "board-poll" && evt.detail.successful) {
      if (evt.detail.xhr.status === 204) markUpdated(); else applyDelta(evt.detail.xhr.responseText);
      var live = document.getElementById("board-live"); if (live) live.classList.remove("stale");
    } else if (evt.detail.elt && evt.detail.elt.id === "board-poll") {
      var l2 = document.getElementById("board-live"); if (l2) l2.classList.add("stale");
    }
  });

  // one-shot submit: the first tap disables the form's buttons (the idempotency key covers the rest)
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (!form.querySelector("button[data-once]")) return;
    if (form.dataset.submitted) { evt.preventDefault(); return; }
    form.dataset.submitted = "1";
    // disable after the browser has collected the form data (including the pressed button's value)
    setTimeout(function () { form.querySelectorAll("button[data-once]").forEach(function (b) { b.disabled = true; }); }, 0);
  }, true);

  // cause class → items of that class only
  function filterCauses(root) {
    (root || document).querySelectorAll("select[data-cause-class]").forEach(function (cs) {
      var form = cs.form, items = form.querySelector("select[data-cause-item]");
      function apply() {
        var v = cs.value;
        items.querySelectorAll("option[data-class]").forEach(function (o) {
          var show = o.dataset.class === v; o.hidden = !show; o.disabled = !show;
          if (!show && o.selected) { o.selected = false; items.value = ""; }
        });
      }
      cs.addEventListener("change", apply); apply();
    });
  }

  function init() {
    var holder = document.querySelector("[data-server-now]");
    if (holder) skew = +holder.dataset.serverNow - Date.now();
    var board = document.getElementById("board");
    if (board && board.dataset.warn) warnFraction = +board.dataset.warn;
    filterCauses();
    tick();
    setInterval(tick, 1000);
  }
  document.addEventListener("htmx:afterSettle", function (evt) { filterCauses(evt.detail.elt); });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();

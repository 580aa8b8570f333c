/* The wall screen (issue 15): polls /api/command/wall every data-poll-ms, keeps the last data through a network
 * blip (and says how old it is), alerts (visual + a WebAudio beep, mutable, remembered in localStorage) when a
 * new entrapment case arrives. Memory stays flat when left open for days: one marker per open case / station
 * kept in a Map and updated in place (removed when the case closes), fixed list nodes reused, no growing arrays,
 * one timer chain (setTimeout, never overlapping requests). CSP: no inline script, no style attributes. */
(function () {
  "use strict";
  var wall = document.getElementById("wall");
  if (!wall || !window.L) { return; }
  var d = wall.dataset, POLL = Math.max(500, parseInt(d.pollMs, 10) || 5000), MUTE_KEY = "liftsafe.wall.muted";
  var $ = function (id) { return document.getElementById(id); };
  var map = L.map("wall-map", { zoomControl: false, attributionControl: !!d.tiles, minZoom: 2 });
  if (d.tiles) { L.tileLayer(d.tiles, { attribution: d.attribution || "", maxZoom: 19 }).addTo(map); }
  map.setView([35, 105], 4);
  var caseMarkers = new Map(), stationMarkers = new Map();
  var seenEntrapments = null;  // Set of open entrapment ids at the last poll (null until the first answer)
  var lastOk = 0, polls = 0, alerts = 0, framed = false, alertTimer = null, audio = null;
  var muted = false;
  try { muted = window.localStorage.getItem(MUTE_KEY) === "1"; } catch (e) { muted = false; }

  function setMuteButton() {
    var b = $("wall-mute");
    b.setAttribute("aria-pressed", muted ? "true" : "false");
    b.textContent = muted ? d.lUnmute : d.lMute;
    wall.dataset.muted = muted ? "1" : "0";
  }
  $("wall-mute").addEventListener("click", function () {
    muted = !muted;
    try { window.localStorage.setItem(MUTE_KEY, muted ? "1" : "0"); } catch (e) { /* private mode: not remembered */ }
    setMuteButton();
  });
  setMuteButton();
  // browsers start audio only after a gesture: the first click anywhere unlocks it (a wall PC is clicked once)
  document.addEventListener("click", function () {
    if (!audio && (window.AudioContext || window.webkitAudioContext)) { audio = new (window.AudioContext || window.webkitAudioContext)(); }
    if (audio && audio.state === "suspended") { audio.resume(); }
  });

  function beep() {
    if (muted) { return false; }
    if (!audio && (window.AudioContext || window.webkitAudioContext)) { audio = new (window.AudioContext || window.webkitAudioContext)(); }
    if (!audio) { return false; }
    var t = audio.currentTime;
    [0, 0.35, 0.7].forEach(function (off) {
      var o = audio.createOscillator(), g = audio.createGain();
      o.type = "square"; o.frequency.value = 880;
      g.gain.setValueAtTime(0.25, t + off); g.gain.setValueAtTime(0, t + off + 0.22);
      o.connect(g); g.connect(audio.destination); o.start(t + off); o.stop(t + off + 0.25);
    });
    return true;
  }

  function fmtMin(v) { return v == null ? "—" : (Math.round(v * 10) / 10).toString(); }
  function kpiText(k) {
    if (k.value == null) { return "—"; }
    if (k.unit === "%") { return k.value + "%"; }
    if (k.unit === "min") { return fmtMin(k.value); }
    return String(k.value);
  }
  // KPI tiles are built once per key and updated in place
  function renderKpis(id, list, limits) {
    var dl = $(id);
    list.forEach(function (k) {
      var box = dl.querySelector('[data-k="' + k.key + '"]');
      if (!box) {
        box = document.createElement("div"); box.dataset.k = k.key;
        box.appendChild(document.createElement("dt")); box.appendChild(document.createElement("dd"));
        dl.appendChild(box);
      }
      box.firstChild.textContent = k.label;
      var dd = box.lastChild, unit = k.unit === "min" && k.value != null ? " min" : "";
      dd.textContent = kpiText(k) + unit;
      if (k.den != null && k.unit === "%") {
        var small = document.createElement("small"); small.textContent = k.num + "/" + k.den; dd.appendChild(small);
      }
      var bad = false, judged = k.value != null;
      if (k.key === "response_median") { bad = k.value * 60 > limits.response_s; }
      else if (k.key === "arrival_median") { bad = k.value * 60 > limits.arrival_kpi_s; }
      else if (k.key === "response_kpi_rate" || k.key === "arrival_kpi_rate") { bad = k.value < 100; }
      else { judged = false; }
      box.className = judged ? (bad ? "bad" : "ok") : "";
    });
  }
  // a fixed-length list: li nodes created up to the longest list seen (≤ 8), reused, surplus hidden
  function renderList(id, rows, text, cls) {
    var ol = $(id);
    if (!rows.length) { rows = [null]; }
    rows.forEach(function (r, i) {
      var li = ol.children[i];
      if (!li) { li = document.createElement("li"); ol.appendChild(li); }
      li.hidden = false;
      li.textContent = r ? text(r) : d.lNone;
      li.className = r && cls ? cls(r) : "";
    });
    for (var i = rows.length; i < ol.children.length; i++) { ol.children[i].hidden = true; }
  }
  function hhmm(iso) {
    if (!iso) { return d.lNever; }
    var t = new Date(iso);
    return ("0" + t.getHours()).slice(-2) + ":" + ("0" + t.getMinutes()).slice(-2);
  }
  function caseIcon(c) {
    var size = c.entrapment ? 22 : 16;
    return L.divIcon({ html: "", className: "case-pin st-" + c.state + (c.entrapment ? " entrapment" : "") + (c.late ? " late" : ""),
      iconSize: [size, size] });
  }
  function renderCases(cases) {
    var alive = new Set();
    cases.forEach(function (c) {
      alive.add(c.id);
      var sig = c.state + "|" + c.level + "|" + c.late + "|" + c.entrapment;
      var m = caseMarkers.get(c.id);
      if (!m) {
        m = L.marker([c.lat, c.lon], { icon: caseIcon(c), title: c.no, keyboard: false, zIndexOffset: c.entrapment ? 1000 : 0 });
        m.on("click", function () { window.location.href = c.url; });
        m.addTo(map); m._sig = sig;
        caseMarkers.set(c.id, m);
      } else if (m._sig !== sig) {
        m.setIcon(caseIcon(c)); m._sig = sig;
      }
      m.options.title = c.no + " " + c.code + " · " + d.lLevel + " " + c.level + (c.late ? " · " + d.lLate : "");
    });
    caseMarkers.forEach(function (m, id) { if (!alive.has(id)) { map.removeLayer(m); caseMarkers.delete(id); } });
    wall.dataset.markers = String(caseMarkers.size);
    wall.dataset.late = String(document.querySelectorAll("#wall-map .case-pin.late").length);
  }
  function renderStations(stations) {
    var alive = new Set();
    stations.forEach(function (s) {
      alive.add(s.id);
      if (!stationMarkers.has(s.id)) {
        var m = L.marker([s.lat, s.lon], { icon: L.divIcon({ html: "", className: "station-pin", iconSize: [14, 14] }), title: d.lStation + " " + s.name });
        m.addTo(map); stationMarkers.set(s.id, m);
      }
    });
    stationMarkers.forEach(function (m, id) { if (!alive.has(id)) { map.removeLayer(m); stationMarkers.delete(id); } });
  }
  function alertNew(cases) {
    var now = new Set(), fresh = null;
    cases.forEach(function (c) {
      if (!c.entrapment) { return; }
      now.add(c.id);
      if (seenEntrapments && !seenEntrapments.has(c.id) && (!fresh || c.id > fresh.id)) { fresh = c; }
    });
    seenEntrapments = now;  // replaced, not grown
    if (!fresh) { return; }
    alerts += 1;
    var box = $("wall-alert");
    box.textContent = d.lNew + ": " + fresh.no + " · " + fresh.code;
    box.hidden = false;
    // restart the flash animation
    box.classList.remove("again"); void box.offsetWidth; box.classList.add("again");
    wall.dataset.alerts = String(alerts);
    wall.dataset.lastAlert = String(fresh.id);
    wall.dataset.beeped = beep() ? "1" : "0";
    clearTimeout(alertTimer);
    alertTimer = setTimeout(function () { box.hidden = true; }, 15000);
    var m = caseMarkers.get(fresh.id);
    if (m && !map.getBounds().contains(m.getLatLng())) { map.panTo(m.getLatLng()); }
  }
  function render(data) {
    renderKpis("kpi-day", data.kpis.day, data.kpis.limits);
    renderKpis("kpi-month", data.kpis.month, data.kpis.limits);
    var l = data.kpis.limits;
    $("wall-limits").textContent = d.lLimResponse + " ≤ " + l.response_s / 60 + " min · " + d.lLimArrival + " ≤ " +
      l.arrival_urban_s / 60 + " / " + l.arrival_other_s / 60 + " min";
    Array.prototype.forEach.call($("wall-counts").children, function (li) {
      li.firstChild.textContent = String(data.counts[li.dataset.k] || 0);
    });
    renderList("wall-alarms", data.alarms, function (a) { return hhmm(a.raised_at) + "  " + a.label + "  " + a.code; },
      function (a) { return a.active ? "active" : ""; });
    $("wall-offline-count").textContent = String(data.offline.count);
    $("wall-monitored").textContent = String(data.offline.monitored);
    renderList("wall-offline", data.offline.devices, function (x) { return x.device + "  " + x.code + "  " + hhmm(x.last_seen); });
    renderList("wall-incidents", data.incidents, function (x) { return hhmm(x.opened_at) + "  " + x.kind + "  " + x.area + "  " + x.alarms + " " + d.lAlarms; });
    renderCases(data.cases);
    renderStations(data.stations);
    alertNew(data.cases);
    wall.dataset.generated = data.generated_at;
  }
  function showAge() {
    var el = $("wall-age");
    var now = new Date();
    $("wall-clock").textContent = now.toLocaleTimeString();
    if (!lastOk) { return; }
    var s = Math.round((Date.now() - lastOk) / 1000), stale = Date.now() - lastOk > POLL * 3;
    el.textContent = (stale ? d.lStale + " · " : "") + d.lAge + " " + s + " s";
    el.classList.toggle("stale", stale);
    wall.dataset.stale = stale ? "1" : "0";
  }
  function poll() {
    var ctrl = new AbortController(), guard = setTimeout(function () { ctrl.abort(); }, Math.max(POLL * 2, 4000));
    fetch(d.api, { credentials: "same-origin", signal: ctrl.signal, headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
      .then(function (data) { render(data); lastOk = Date.now(); })
      .catch(function () { /* keep the last data; the age line says how old it is */ })
      .then(function () {
        clearTimeout(guard); polls += 1; wall.dataset.polls = String(polls); showAge();
        setTimeout(poll, POLL);
      });
  }
  function frame() {
    fetch(d.areasApi, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (rows) {
        var all = null;
        rows.forEach(function (a) {
          var b = L.latLngBounds([a.south, a.west], [a.north, a.east]);
          L.rectangle(b.pad(0.02), { color: "#4d6a85", weight: 1, dashArray: "6 4", fill: false, interactive: false }).addTo(map);
          all = all ? all.extend(b) : L.latLngBounds(b.getSouthWest(), b.getNorthEast());
        });
        if (all && all.isValid() && !framed) { map.fitBounds(all.pad(0.05)); framed = true; }
      })
      .catch(function () { /* the map keeps its default view */ });
  }
  setInterval(showAge, 1000);
  frame();
  poll();
})();

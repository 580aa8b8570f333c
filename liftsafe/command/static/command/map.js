/* The lift map (issue 15): server-side clusters per bbox + zoom from /api/command/map, single lifts at street zoom.
 * Works with no tile layer (blank background, dashed boxes = area extents). One layer group reused per refresh;
 * a request superseded by a newer pan/zoom is aborted. CSP: no inline script, no style attributes in markup. */
(function () {
  "use strict";
  var el = document.getElementById("lift-map");
  if (!el || !window.L) { return; }
  var d = el.dataset;
  var form = document.getElementById("map-filters");
  var status = document.getElementById("map-status");
  var map = L.map(el, { preferCanvas: false, minZoom: 2, maxZoom: 19, worldCopyJump: false });
  if (d.tiles) {
    L.tileLayer(d.tiles, { attribution: d.attribution || "", maxZoom: 19 }).addTo(map);
  } else {
    map.attributionControl.addAttribution(d.lNotiles);
  }
  var areas = L.layerGroup().addTo(map);
  var clusters = L.layerGroup().addTo(map);
  var points = L.markerClusterGroup ? L.markerClusterGroup({ maxClusterRadius: 30, disableClusteringAtZoom: 19 }) : L.layerGroup();
  points.addTo(map);
  var controller = null, timer = null;

  function filterQuery() {
    var q = new URLSearchParams();
    if (!form) { return q; }
    new FormData(form).forEach(function (v, k) { if (v) { q.set(k, v); } });
    return q;
  }
  function flagText(flags) {
    return flags.map(function (f) { return d["l" + f.charAt(0).toUpperCase() + f.slice(1)] || f; }).join(" · ");
  }
  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function clusterIcon(c) {
    var size = c.n < 10 ? 30 : c.n < 100 ? 38 : c.n < 1000 ? 46 : c.n < 10000 ? 54 : 62;
    var flagged = c.overdue + c.expired + c.hazard > 0;
    // the cluster takes the worst risk colour among its lifts (a red lift must not hide in a grey disc);
    // its tooltip gives the count per colour
    var worst = ["red", "orange", "yellow", "blue"].filter(function (k) { return (c.colours || {})[k] > 0; })[0] || "unknown";
    return L.divIcon({ html: "<span>" + (c.n >= 10000 ? Math.round(c.n / 1000) + "k" : c.n) + "</span>",
      className: "cmd-cluster cl-" + worst + (flagged ? " has-flag" : ""), iconSize: [size, size] });
  }
  function pointIcon(colour, flagged) {
    return L.divIcon({ html: "", className: "cmd-pt c-" + colour + (flagged ? " has-flag" : ""), iconSize: [14, 14] });
  }
  function popup(p) {
    return "<b>" + esc(p.code) + "</b><br>" + esc(p.address) + (p.flags.length ? "<br>" + esc(flagText(p.flags)) : "") +
      '<br><a href="' + esc(p.url) + '">' + esc(d.lOpen) + "</a>";
  }
  function render(data) {
    clusters.clearLayers();
    points.clearLayers();
    if (data.mode === "clusters") {
      data.clusters.forEach(function (c) {
        if (c.n === 1 && c.id) {
          var flags = ["overdue", "expired", "hazard", "crowded"].filter(function (f) { return c[f] > 0; });
          var colour = Object.keys(c.colours)[0] || "unknown";
          L.marker([c.lat, c.lon], { icon: pointIcon(colour, flags.length > 0), title: "#" + c.id })
            .bindPopup(popup({ code: "#" + c.id, address: "", flags: flags, url: d.elevatorBase + c.id + "/" }))
            .addTo(clusters);
          return;
        }
        var m = L.marker([c.lat, c.lon], { icon: clusterIcon(c), title: c.n + " " + d.lLifts, keyboard: true });
        m.bindTooltip(c.n + " " + d.lLifts + (c.overdue ? " · " + d.lOverdue + " " + c.overdue : "") +
          (c.expired ? " · " + d.lExpired + " " + c.expired : "") + (c.hazard ? " · " + d.lHazard + " " + c.hazard : "") +
          (c.crowded ? " · " + d.lCrowded + " " + c.crowded : ""));
        m.on("click", function () { map.setView([c.lat, c.lon], Math.min(map.getZoom() + 2, 19)); });
        m.addTo(clusters);
      });
      var groups = data.clusters.filter(function (c) { return c.n > 1; }).length;
      status.textContent = data.total + " " + d.lLifts + (groups ? " · " + groups + " " + d.lClusters : "");
    } else {
      var ms = data.points.map(function (p) {
        return L.marker([p.lat, p.lon], { icon: pointIcon(p.colour, p.flags.length > 0), title: p.code }).bindPopup(popup(p));
      });
      if (points.addLayers) { points.addLayers(ms); } else { ms.forEach(function (m) { points.addLayer(m); }); }
      status.textContent = data.total + " " + d.lLifts + (data.truncated ? " · " + d.lTruncated : "");
    }
    el.dataset.mode = data.mode;
    el.dataset.total = String(data.total);
    el.dataset.loaded = String(Date.now());
  }
  function load() {
    var b = map.getBounds(), q = filterQuery();
    q.set("south", Math.max(-90, b.getSouth()).toFixed(6));
    q.set("north", Math.min(90, b.getNorth()).toFixed(6));
    q.set("west", Math.max(-180, b.getWest()).toFixed(6));
    q.set("east", Math.min(180, b.getEast()).toFixed(6));
    q.set("zoom", String(map.getZoom()));
    if (controller) { controller.abort(); }
    controller = new AbortController();
    fetch(d.api + "?" + q.toString(), { credentials: "same-origin", signal: controller.signal, headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : r.json().then(function (e) { throw new Error(e.detail || r.status); }); })
      .then(render)
      .catch(function (e) { if (e.name !== "AbortError") { status.textContent = d.lError + ": " + e.message; } });
  }
  function schedule() { clearTimeout(timer); timer = setTimeout(load, 150); }
  function loadAreas() {
    return fetch(d.areasApi, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (rows) {
        var all = null, wanted = form ? form.elements.area.value : "";
        var framed = rows.some(function (a) { return a.code === wanted; });
        rows.forEach(function (a) {
          var bounds = L.latLngBounds([a.south, a.west], [a.north, a.east]);
          L.rectangle(bounds.pad(0.02), { color: "#37474f", weight: 1.5, dashArray: "6 4", fill: false, interactive: false })
            .bindTooltip(a.name, { permanent: false }).addTo(areas);
          if (!framed || a.code === wanted) { all = all ? all.extend(bounds) : L.latLngBounds(bounds.getSouthWest(), bounds.getNorthEast()); }
        });
        if (all && all.isValid()) { map.fitBounds(all.pad(0.05)); } else { map.setView([35, 105], 4); }
      })
      .catch(function () { map.setView([35, 105], 4); });
  }
  if (form) {
    form.addEventListener("change", function () {
      var q = filterQuery();
      history.replaceState(null, "", "?" + q.toString());
      schedule();
    });
    form.addEventListener("submit", function (e) { e.preventDefault(); schedule(); });
  }
  map.on("moveend", schedule);
  loadAreas().then(load);
})();

/* liftsafe page behaviours without inline script (Content-Security-Policy: script-src 'self'):
 *  - <select data-autosubmit>: submit the form on change (language, filters);
 *  - <button data-confirm="question">: ask before submitting;
 *  - <form data-drop-empty> with hx-get: leave empty parameters out of htmx requests (short, shareable URLs);
 *  - <div hx-trigger="every …" data-skip-while-focus="selector">: skip a poll while the user types in selector;
 *  - <form data-geolocate> with hidden latitude / longitude / accuracy_m inputs: filled from the phone's location
 *    when the browser gives it (maintenance check-in, responder arrival/release; nothing blocks the form when it
 *    does not); an optional [data-geo-status] inside says whether a location was found; refilled after htmx swaps.
 */
(function () {
  "use strict";
  document.addEventListener("change", function (evt) {
    var el = evt.target;
    if (el && el.matches && el.matches("select[data-autosubmit]") && el.form) el.form.submit();
  });
  document.addEventListener("click", function (evt) {
    var el = evt.target && evt.target.closest ? evt.target.closest("[data-confirm]") : null;
    if (el && !window.confirm(el.getAttribute("data-confirm"))) evt.preventDefault();
  });
  document.addEventListener("htmx:configRequest", function (evt) {
    var elt = evt.detail && evt.detail.elt;
    if (!elt || !elt.closest || !elt.closest("[data-drop-empty]")) return;
    var params = evt.detail.parameters;
    // htmx 2 passes FormData-like parameters; support both it and a plain object
    if (params && typeof params.forEach === "function" && typeof params.delete === "function") {
      var empty = [];
      params.forEach(function (value, key) { if (value === "") empty.push(key); });
      empty.forEach(function (key) { params.delete(key); });
    } else if (params) {
      Object.keys(params).forEach(function (key) { if (params[key] === "") delete params[key]; });
    }
  });
  document.addEventListener("htmx:beforeRequest", function (evt) {
    var elt = evt.detail && evt.detail.elt;
    var sel = elt && elt.getAttribute && elt.getAttribute("data-skip-while-focus");
    if (sel && document.querySelector(sel + " :focus")) evt.preventDefault();
  });
  var lastFix = null;  // the last position the phone gave (re-used when an htmx poll replaces the forms)
  function fillGeo(forms, key, value) {
    forms.forEach(function (f) {
      if (lastFix) {
        if (f.latitude) f.latitude.value = lastFix.latitude;
        if (f.longitude) f.longitude.value = lastFix.longitude;
        if (f.accuracy_m) f.accuracy_m.value = lastFix.accuracy;
      }
      var el = f.querySelector("[data-geo-status]");  // optional: data-geo-found="…%s…" data-geo-missing="…"
      var text = el && key && el.getAttribute(key);
      if (text) el.textContent = text.replace("%s", value || "");
    });
  }
  function geolocate() {
    var forms = document.querySelectorAll("form[data-geolocate]");
    if (!forms.length || !navigator.geolocation) return;
    if (lastFix) fillGeo(forms, "data-geo-found", Math.round(lastFix.accuracy));
    navigator.geolocation.getCurrentPosition(function (p) {
      lastFix = {latitude: p.coords.latitude, longitude: p.coords.longitude, accuracy: p.coords.accuracy};
      fillGeo(document.querySelectorAll("form[data-geolocate]"), "data-geo-found", Math.round(p.coords.accuracy));
    }, function () {
      if (!lastFix) fillGeo(document.querySelectorAll("form[data-geolocate]"), "data-geo-missing");
    }, {enableHighAccuracy: true, timeout: 20000, maximumAge: 60000});
  }
  document.addEventListener("DOMContentLoaded", geolocate);
  document.addEventListener("htmx:afterSettle", function () {
    if (lastFix) fillGeo(document.querySelectorAll("form[data-geolocate]"), "data-geo-found", Math.round(lastFix.accuracy));
  });
})();

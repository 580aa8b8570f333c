/* liftsafe page behaviours without inline script (Content-Security-Policy: script-src 'self'):
 *  - <select data-autosubmit>: submit the form on change (language, filters);
 *  - <button data-confirm="question">: ask before submitting;
 *  - <form data-drop-empty> with hx-get: leave empty parameters out of htmx requests (short, shareable URLs);
 *  - <div hx-trigger="every …" data-skip-while-focus="selector">: skip a poll while the user types in selector;
 *  - <form data-geolocate> with hidden latitude / longitude / accuracy_m inputs: filled from the phone's location
 *    when the browser gives it (maintenance check-in; nothing blocks the form when it does not).
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
  document.addEventListener("DOMContentLoaded", function () {
    var forms = document.querySelectorAll("form[data-geolocate]");
    if (!forms.length || !navigator.geolocation) return;
    navigator.geolocation.getCurrentPosition(function (p) {
      forms.forEach(function (f) {
        if (f.latitude) f.latitude.value = p.coords.latitude;
        if (f.longitude) f.longitude.value = p.coords.longitude;
        if (f.accuracy_m) f.accuracy_m.value = p.coords.accuracy;
      });
    });
  });
})();

/* liftsafe page behaviours without inline script (Content-Security-Policy: script-src 'self'):
 *  - <select data-autosubmit>: submit the form on change (language, filters);
 *  - <button data-confirm="question">: ask before submitting;
 *  - <form data-drop-empty> with hx-get: leave empty parameters out of htmx requests (short, shareable URLs);
 *  - <div hx-trigger="every …" data-skip-while-focus="selector">: skip a poll while the user types in selector.
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
})();

/* Wharf's own front-end glue: theme, the modal shell, copy buttons.
 * Loaded synchronously in <head> so the theme is applied before the first paint. */
(function () {
  "use strict";

  var THEME_KEY = "wharf-theme";
  var root = document.documentElement;

  function storedTheme() {
    try { return localStorage.getItem(THEME_KEY); } catch (e) { return null; }
  }

  function preferredTheme() {
    var stored = storedTheme();
    if (stored === "light" || stored === "dark") return stored;
    return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }

  function applyTheme(theme) {
    root.setAttribute("data-bs-theme", theme);
  }

  applyTheme(preferredTheme());

  // Follow the system setting live, unless the user picked a theme here.
  if (window.matchMedia) {
    window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", function () {
      if (!storedTheme()) applyTheme(preferredTheme());
    });
  }

  function toggleTheme() {
    var next = root.getAttribute("data-bs-theme") === "dark" ? "light" : "dark";
    try { localStorage.setItem(THEME_KEY, next); } catch (e) { /* private mode: not remembered */ }
    applyTheme(next);
  }

  function copyText(text, button) {
    function done() {
      if (!button) return;
      var old = button.innerHTML;
      button.textContent = "Copied";
      setTimeout(function () { button.innerHTML = old; }, 1500);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done);
      return;
    }
    var area = document.createElement("textarea");
    area.value = text;
    document.body.appendChild(area);
    area.select();
    document.execCommand("copy");
    area.remove();
    done();
  }

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-theme-toggle]");
    if (toggle) {
      toggleTheme();
      return;
    }
    var copy = event.target.closest("[data-copy-target]");
    if (copy) {
      var source = document.querySelector(copy.getAttribute("data-copy-target"));
      if (source) copyText(source.value !== undefined ? source.value : source.textContent, copy);
    }
  });

  // The modal shell: show it when htmx loads a dialog into it, empty it when closed.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "modal" && window.bootstrap) {
      window.bootstrap.Modal.getOrCreateInstance(event.detail.target).show();
    }
  });
  document.addEventListener("hidden.bs.modal", function (event) {
    if (event.target.id === "modal") event.target.innerHTML = "";
  });
})();

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
      // The word comes from the page (<body data-copied-text>), in the page's language.
      button.textContent = document.body.getAttribute("data-copied-text") || "Copied";
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
      return;
    }
    // A copy button carrying its text itself (a digest, a pull command).
    var copyInline = event.target.closest("[data-copy-text]");
    if (copyInline) copyText(copyInline.getAttribute("data-copy-text"), copyInline);
  });

  // Bulk selection: a header checkbox ticks every row checkbox of its form, and a
  // button marked data-needs-selection is enabled only while some are ticked.
  function syncSelection(form) {
    if (!form) return;
    var boxes = form.querySelectorAll("input[type=checkbox][name]");
    var ticked = form.querySelectorAll("input[type=checkbox][name]:checked").length;
    form.querySelectorAll("[data-needs-selection]").forEach(function (button) {
      button.disabled = ticked === 0;
    });
    var all = form.querySelector("[data-check-all]");
    if (all) {
      all.checked = boxes.length > 0 && ticked === boxes.length;
      all.indeterminate = ticked > 0 && ticked < boxes.length;
    }
  }
  document.addEventListener("change", function (event) {
    var all = event.target.closest("[data-check-all]");
    var form = event.target.form;
    if (all && form) {
      form.querySelectorAll("input[type=checkbox][name]").forEach(function (box) { box.checked = all.checked; });
    }
    if (event.target.type === "checkbox") syncSelection(form);
  });
  function syncAllSelections() {
    document.querySelectorAll("form").forEach(function (form) {
      if (form.querySelector("[data-needs-selection]")) syncSelection(form);
    });
  }
  document.addEventListener("DOMContentLoaded", syncAllSelections);
  document.addEventListener("htmx:afterSettle", syncAllSelections);

  // A server answer can ask for the modal to close (HX-Trigger: wharf:close-modal).
  document.addEventListener("wharf:close-modal", function () {
    var modal = document.getElementById("modal");
    if (modal && window.bootstrap) window.bootstrap.Modal.getOrCreateInstance(modal).hide();
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

  // A region re-rendered as the user types (the retention preview, data-keep-open):
  // the <details> they opened stay open across the swap, matched by data-repository.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (!target || !target.hasAttribute("data-keep-open")) return;
    target.wharfOpen = Array.prototype.map.call(
      target.querySelectorAll("details[open][data-repository]"),
      function (details) { return details.getAttribute("data-repository"); }
    );
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    var open = target && target.wharfOpen;
    if (!open) return;
    target.querySelectorAll("details[data-repository]").forEach(function (details) {
      if (open.indexOf(details.getAttribute("data-repository")) !== -1) details.open = true;
    });
  });
})();

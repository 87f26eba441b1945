// Small progressive enhancements; every page works without them.
(function () {
  "use strict";
  // Countdown to a deadline: <span class="countdown" data-deadline="ISO-8601">
  function tick() {
    document.querySelectorAll(".countdown[data-deadline]").forEach(function (el) {
      var ms = new Date(el.dataset.deadline).getTime() - Date.now();
      if (isNaN(ms)) return;
      if (ms <= 0) { el.textContent = "closed"; return; }
      var s = Math.floor(ms / 1000), d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600),
          m = Math.floor((s % 3600) / 60), sec = s % 60;
      el.textContent = d + " d " + h + " h " + m + " min " + sec + " s";
    });
  }
  // The main menu on a narrow screen: the button (hidden without script, so the menu then stays open) folds
  // and unfolds it; Escape folds it and returns to the button. On a wide screen the stylesheet hides the button.
  function menuButton() {
    var button = document.querySelector(".nav-toggle[aria-controls]");
    if (!button || !document.getElementById(button.getAttribute("aria-controls"))) return;
    function setOpen(open) { button.setAttribute("aria-expanded", open ? "true" : "false"); }
    setOpen(false);
    button.hidden = false;
    button.addEventListener("click", function () { setOpen(button.getAttribute("aria-expanded") !== "true"); });
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape" || button.getAttribute("aria-expanded") !== "true") return;
      setOpen(false);
      button.focus();
    });
  }
  // A table box that scrolls sideways takes keyboard focus (arrow keys scroll it) and is named after its table,
  // so that a keyboard or screen reader user knows what it holds; one that fits stays out of the tab order.
  function tableName(box) {
    var caption = box.querySelector("caption");
    if (caption && caption.textContent.trim()) return caption.textContent.trim();
    var section = box.closest("section, .panel, main");
    var heading = section && section.querySelector("h1, h2, h3");
    return heading ? heading.textContent.trim() : "Table";
  }
  function markScrolling(box) {
    var scrolls = box.scrollWidth > box.clientWidth + 1;
    if (scrolls && !box.hasAttribute("tabindex")) {
      box.setAttribute("tabindex", "0");
      box.setAttribute("role", "region");
      box.setAttribute("aria-label", tableName(box) + " (scrolls sideways)");
    } else if (!scrolls && box.hasAttribute("tabindex")) {
      box.removeAttribute("tabindex");
      box.removeAttribute("role");
      box.removeAttribute("aria-label");
    }
  }
  function scrollingTables() {
    var boxes = document.querySelectorAll(".table-scroll");
    if (!boxes.length) return;
    boxes.forEach(markScrolling);
    if (window.ResizeObserver) {
      var observer = new ResizeObserver(function (entries) {
        entries.forEach(function (entry) { markScrolling(entry.target); });
      });
      boxes.forEach(function (box) { observer.observe(box); });
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    menuButton();
    scrollingTables();
    tick();
    if (document.querySelector(".countdown[data-deadline]")) setInterval(tick, 1000);
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.dataset.confirm)) event.preventDefault();
      });
    });
  });
})();

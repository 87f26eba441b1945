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
  document.addEventListener("DOMContentLoaded", function () {
    tick();
    if (document.querySelector(".countdown[data-deadline]")) setInterval(tick, 1000);
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.dataset.confirm)) event.preventDefault();
      });
    });
  });
})();

// Grants pages: while an award letter is being rendered, reload the page now and then to show it when ready.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    if (!document.querySelector("[data-grants-pending]")) return;
    var key = "grants-reloads:" + window.location.pathname;
    var count = parseInt(window.sessionStorage.getItem(key) || "0", 10);
    if (count >= 20) return; // give up after about a minute; the page says "Being rendered"
    window.setTimeout(function () {
      window.sessionStorage.setItem(key, String(count + 1));
      window.location.reload();
    }, 3000);
  });
})();

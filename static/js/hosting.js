// Hosting pages: small progressive enhancements; every page works without them.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    // Filters apply when a select changes.
    document.querySelectorAll("form[data-autosubmit] select").forEach(function (select) {
      select.addEventListener("change", function () {
        if (select.name === "machine") {
          var period = select.form.querySelector("select[name=period]");
          if (period) period.value = "";
        }
        select.form.submit();
      });
    });
    // An upload shows that it is running and cannot be sent twice.
    document.querySelectorAll("form[data-busy]").forEach(function (form) {
      form.addEventListener("submit", function () {
        var button = form.querySelector("button[type=submit]");
        if (button) {
          button.disabled = true;
          button.textContent = form.dataset.busy;
        }
      });
    });
    // A queued import: reload until it is done.
    var waiting = document.querySelector("[data-refresh]");
    if (waiting) {
      var seconds = parseInt(waiting.dataset.refresh, 10) || 5;
      window.setTimeout(function () { window.location.reload(); }, seconds * 1000);
    }
  });
})();

// Live totals and co-funding check of the budget table. The server checks the same rules on save.
(function () {
  "use strict";
  function cents(input) {
    var v = (input && input.value || "").trim();
    if (v === "") return null;
    var n = Math.round(parseFloat(v) * 100);
    return isNaN(n) ? null : n;
  }
  function fmt(c) {
    var s = (Math.abs(c) / 100).toFixed(2).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return (c < 0 ? "-" : "") + "EUR " + s;
  }
  function update() {
    var totals = { total_cost: 0, eu_contribution: 0, national_contribution: 0 };
    document.querySelectorAll("tr[data-row]").forEach(function (row) {
      var category = row.dataset.row, rate = parseFloat(row.dataset.rate || "0.5");
      var get = function (part) { return cents(row.querySelector('[data-part="' + part + '"]')); };
      var total = get("total_cost"), eu = get("eu_contribution"), national = get("national_contribution");
      var out = row.querySelector('[data-check="' + category + '"]');
      ["total_cost", "eu_contribution", "national_contribution"].forEach(function (p) { totals[p] += get(p) || 0; });
      if (total === null && eu === null && national === null) { out.textContent = ""; return; }
      var problems = [];
      var cap = Math.round((total || 0) * rate);
      if ((eu || 0) > cap) problems.push("EU share above " + Math.round(rate * 100) + "% (max " + fmt(cap) + ")");
      if ((eu || 0) + (national || 0) !== (total || 0)) problems.push("EU + national ≠ total (" + fmt((eu || 0) + (national || 0)) + ")");
      if (!total) problems.push("total must be positive");
      out.textContent = problems.length ? problems.join("; ") : "OK";
      out.classList.toggle("check-bad", problems.length > 0);
      out.classList.toggle("check-ok", problems.length === 0);
    });
    Object.keys(totals).forEach(function (p) {
      var cell = document.querySelector('[data-total="' + p + '"]');
      if (cell) cell.textContent = fmt(totals[p]);
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("budget-form");
    if (!form) return;
    form.addEventListener("input", function (event) {
      // Typing total and EU share fills the national share, which the applicant may still edit.
      var input = event.target, row = input.closest("tr[data-row]");
      if (row && input.dataset.part !== "national_contribution") {
        var total = cents(row.querySelector('[data-part="total_cost"]')), eu = cents(row.querySelector('[data-part="eu_contribution"]'));
        var national = row.querySelector('[data-part="national_contribution"]');
        if (total !== null && eu !== null && national && !national.dataset.touched) national.value = ((total - eu) / 100).toFixed(2);
      } else if (input.dataset.part === "national_contribution") {
        input.dataset.touched = "1";
      }
      update();
    });
    update();
  });
})();

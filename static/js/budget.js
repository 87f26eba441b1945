// Live totals and co-funding check of the budget table. The server checks the same rules on save.
// Amounts read as the server reads them: "1,500,000.00", "1500000" or "1 500 000.5"; grouping marks
// count only between groups of exactly three digits, and at most two digits follow the point.
(function () {
  "use strict";
  var AMOUNT = /^([+-]?)([1-9]\d{0,2}([,\u0020\u00a0\u2009\u202f])\d{3}(?:\3\d{3})*|\d+)?(?:\.(\d{0,2}))?$/;
  // An input's amount in cents: null when empty, NaN when it is not an amount.
  function cents(input) {
    var v = (input && input.value || "").trim();
    if (v === "") return null;
    var m = AMOUNT.exec(v);
    if (!m || (m[2] === undefined && !m[4])) return NaN;
    var whole = parseInt((m[2] || "0").replace(/[^0-9]/g, ""), 10);
    var c = whole * 100 + parseInt(((m[4] || "") + "00").slice(0, 2), 10);
    return m[1] === "-" ? -c : c;
  }
  function known(c) { return c !== null && !isNaN(c); }
  // 150000000 cents -> "1,500,000.00" (integer arithmetic: no float rounding of money).
  function grouped(c) {
    var a = Math.abs(c), units = String(Math.floor(a / 100)), rest = String(a % 100);
    return (c < 0 ? "-" : "") + units.replace(/\B(?=(\d{3})+(?!\d))/g, ",") + "." + (rest.length < 2 ? "0" + rest : rest);
  }
  function fmt(c) {
    return (c < 0 ? "-" : "") + "EUR " + grouped(Math.abs(c));
  }
  var PARTS = ["total_cost", "eu_contribution", "national_contribution"];
  function update() {
    var totals = { total_cost: 0, eu_contribution: 0, national_contribution: 0 };
    document.querySelectorAll("tr[data-row]").forEach(function (row) {
      var category = row.dataset.row, rate = parseFloat(row.dataset.rate || "0.5");
      var get = function (part) { return cents(row.querySelector('[data-part="' + part + '"]')); };
      var total = get("total_cost"), eu = get("eu_contribution"), national = get("national_contribution");
      var out = row.querySelector('[data-check="' + category + '"]');
      PARTS.forEach(function (p) { var c = get(p); if (known(c)) totals[p] += c; });
      if (total === null && eu === null && national === null) { out.textContent = ""; return; }
      var problems = [];
      if ([total, eu, national].some(function (c) { return c !== null && isNaN(c); })) {
        problems.push("enter amounts such as 1,500,000.00");
      } else {
        var cap = Math.round((total || 0) * rate);
        if ((eu || 0) > cap) problems.push("EU share above " + Math.round(rate * 100) + "% (max " + fmt(cap) + ")");
        if ((eu || 0) + (national || 0) !== (total || 0)) problems.push("EU + national ≠ total (" + fmt((eu || 0) + (national || 0)) + ")");
        if (!total) problems.push("total must be positive");
      }
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
        if (known(total) && known(eu) && national && !national.dataset.touched) national.value = grouped(total - eu);
      } else if (input.dataset.part === "national_contribution") {
        input.dataset.touched = "1";
      }
      update();
    });
    // Leaving an input shows its amount grouped, as the server will; what cannot be read stays as typed.
    form.addEventListener("focusout", function (event) {
      var input = event.target;
      if (!input.dataset || !input.dataset.part) return;
      var c = cents(input);
      if (known(c)) input.value = grouped(c);
    });
    update();
  });
})();

// Evaluation pages: live weighted total on scoring forms, scale hints, confirmations. Every page works
// without it; the server checks every rule.
(function () {
  "use strict";

  // Scores are decimals on a step (e.g. 0.5): work in integer hundredths to avoid binary rounding.
  function hundredths(text) {
    if (!/^\s*\d+(\.\d{1,2})?\s*$/.test(text)) return null;
    var parts = text.trim().split(".");
    return parseInt(parts[0], 10) * 100 + (parts[1] ? parseInt((parts[1] + "0").slice(0, 2), 10) : 0);
  }

  function show(value) {
    var whole = Math.floor(value / 100), rest = value % 100;
    if (!rest) return String(whole);
    return whole + "." + (rest % 10 ? String(rest).padStart(2, "0") : String(rest / 10));
  }

  function checkInput(input) {
    var value = hundredths(input.value), max = hundredths(input.max), step = hundredths(input.step);
    var problem = "";
    if (input.value.trim() === "") problem = "";
    else if (value === null) problem = "Not a number.";
    else if (value > max) problem = "At most " + input.max + ".";
    else if (step && value % step !== 0) problem = "Use steps of " + input.step + ".";
    input.setCustomValidity(problem);
    input.classList.toggle("invalid", problem !== "");
    input.classList.toggle("below-threshold", problem === "" && value !== null &&
      value < hundredths(input.dataset.threshold || "0"));
    return problem === "" ? value : null;
  }

  function updateTotal(form) {
    var total = 0, complete = true;
    form.querySelectorAll("input[data-criterion]").forEach(function (input) {
      var value = checkInput(input);
      if (value === null || input.value.trim() === "") { complete = false; return; }
      total += value * (hundredths(input.dataset.weight || "1") / 100);
    });
    var out = form.querySelector("[data-total]");
    if (out) out.textContent = complete ? show(Math.round(total)) : "—";
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-scoring]").forEach(function (form) {
      form.addEventListener("input", function () { updateTotal(form); });
      updateTotal(form);
    });
    document.querySelectorAll("[data-confirm-click]").forEach(function (button) {
      button.addEventListener("click", function (event) {
        if (!window.confirm(button.dataset.confirmClick)) event.preventDefault();
      });
    });
    // Conflict-of-interest form: the reason matters only for a declared conflict.
    document.querySelectorAll("form[data-coi-form]").forEach(function (form) {
      var reason = form.querySelector("[data-coi-reason]");
      function sync() {
        var chosen = form.querySelector("input[name=declaration]:checked");
        if (reason) reason.hidden = !(chosen && chosen.value === "conflict");
      }
      form.addEventListener("change", sync);
      sync();
    });
  });
})();

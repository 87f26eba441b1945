// The organisation part of the registration form: only the fields of the choice made are shown (the register's
// list, or the proposed organisation). Without script both parts show and the services take the one chosen.
(function () {
  "use strict";
  function setUp() {
    var radios = document.querySelectorAll("input[name='source']");
    var parts = document.querySelectorAll(".registration-choice[data-source]");
    if (!radios.length || !parts.length) return;
    function show() {
      var checked = document.querySelector("input[name='source']:checked");
      var chosen = checked ? checked.value : "register";
      parts.forEach(function (part) { part.hidden = part.dataset.source !== chosen; });
    }
    radios.forEach(function (radio) { radio.addEventListener("change", show); });
    show();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUp);
  else setUp();
})();

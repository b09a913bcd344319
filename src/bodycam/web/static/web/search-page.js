// Search page: the "select all" box of the bulk actions (no inline handlers: the
// Content-Security-Policy allows scripts from /static/ only).
"use strict";
(function () {
  const all = document.getElementById("select-all");
  if (!all) return;
  all.addEventListener("click", () => {
    document.querySelectorAll("input[name=clip]").forEach(c => { c.checked = all.checked; });
  });
})();

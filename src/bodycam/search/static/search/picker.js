// The evidence picker (search/templates/search/picker.html): search as you type against the
// picker's JSON endpoint (the one access check, audited as a search), choose with a click or
// the keyboard; the choice goes into hidden input(s) named data-name. No inline handlers
// (the Content-Security-Policy allows scripts from /static/ only).
"use strict";
(function () {
  function setup(box) {
    if (box.dataset.ready) return;
    box.dataset.ready = "1";
    const url = box.dataset.picker, name = box.dataset.name, multiple = !!box.dataset.multiple;
    const input = box.querySelector(".picker-q"), list = box.querySelector(".picker-list");
    const chosen = box.querySelector(".picker-chosen");
    let timer = null, asked = 0;

    function close() { list.hidden = true; list.textContent = ""; }
    function choose(row) {
      if (!multiple) chosen.textContent = "";
      if (chosen.querySelector(`input[value="${row.id}"]`)) { close(); return; }
      const li = document.createElement("li");
      li.className = "picker-item";
      const hidden = document.createElement("input");
      hidden.type = "hidden"; hidden.name = name; hidden.value = row.id;
      const text = document.createElement("span");
      text.textContent = row.label;
      const drop = document.createElement("button");
      drop.type = "button"; drop.textContent = "×"; drop.setAttribute("aria-label", "Remove " + row.label);
      drop.addEventListener("click", () => { li.remove(); input.required = input.dataset.required === "1" && !chosen.children.length; });
      li.append(hidden, text, " ", drop);
      chosen.append(li);
      input.value = "";
      input.required = false;
      close();
      input.focus();
    }
    function show(rows) {
      list.textContent = "";
      if (!rows.length) {
        const li = document.createElement("li");
        li.className = "empty"; li.textContent = "No item you may see matches.";
        list.append(li);
      }
      rows.forEach(row => {
        const li = document.createElement("li");
        li.setAttribute("role", "option");
        const b = document.createElement("button");
        b.type = "button"; b.className = "picker-option"; b.dataset.id = row.id; b.textContent = row.label;
        b.addEventListener("click", () => choose(row));
        li.append(b);
        list.append(li);
      });
      list.hidden = false;
    }
    async function ask() {
      const q = input.value.trim();
      if (!q) { close(); return; }
      const mine = ++asked;
      try {
        const r = await fetch(url + "?q=" + encodeURIComponent(q), {credentials: "same-origin", headers: {Accept: "application/json"}});
        const data = await r.json();
        if (mine !== asked) return;  // a later keystroke's answer wins
        show(r.ok ? data.results : []);
      } catch (e) { /* no answer: the form still sends the typed text (no-script path) */ }
    }
    input.dataset.required = input.required ? "1" : "";
    input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(ask, 250); });
    input.addEventListener("keydown", e => {
      if (e.key === "ArrowDown" && !list.hidden) { const b = list.querySelector("button"); if (b) { e.preventDefault(); b.focus(); } }
      else if (e.key === "Escape") close();
      else if (e.key === "Enter" && !list.hidden) {  // Enter picks the first match instead of sending the form
        const b = list.querySelector("button"); if (b) { e.preventDefault(); b.click(); }
      }
    });
    list.addEventListener("keydown", e => {
      const items = [...list.querySelectorAll("button")], i = items.indexOf(document.activeElement);
      if (e.key === "ArrowDown" && i < items.length - 1) { e.preventDefault(); items[i + 1].focus(); }
      else if (e.key === "ArrowUp") { e.preventDefault(); (i > 0 ? items[i - 1] : input).focus(); }
      else if (e.key === "Escape") { close(); input.focus(); }
    });
    document.addEventListener("click", e => { if (!box.contains(e.target)) close(); });
  }
  function all() { document.querySelectorAll("[data-picker]").forEach(setup); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", all); else all();
})();

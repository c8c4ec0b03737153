// The learner's page, enhanced: drag-and-drop onto the form, and a cell's explanation shown
// in a panel above the grid on click or keyboard focus. Everything works without it.
"use strict";
document.documentElement.classList.add("js");

document.addEventListener("DOMContentLoaded", function () {
  var drop = document.getElementById("drop");
  var input = document.getElementById("file");
  var form = document.getElementById("upload");
  if (drop && input && form) {
    ["dragenter", "dragover"].forEach(function (name) {
      drop.addEventListener(name, function (event) {
        event.preventDefault();
        drop.classList.add("over");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      drop.addEventListener(name, function () { drop.classList.remove("over"); });
    });
    drop.addEventListener("drop", function (event) {
      event.preventDefault();
      if (!event.dataTransfer || !event.dataTransfer.files.length) { return; }
      input.files = event.dataTransfer.files;
      var check = form.querySelector("button[value=check]");  // a check first, where offered
      var code = document.getElementById("code");
      if (!check && code && !code.value) { code.focus(); return; }
      form.requestSubmit(check);
    });
  }

  var panel = document.getElementById("detail");
  var grid = document.getElementById("grid");
  if (panel && grid) {
    grid.addEventListener("focusin", function (event) {
      var cell = event.target.closest ? event.target.closest("td[data-cell]") : null;
      var detail = cell ? cell.querySelector(".detail") : null;
      if (!detail) { return; }
      panel.replaceChildren.apply(panel, Array.from(detail.cloneNode(true).childNodes));
      panel.className = "detail-panel " + cell.className;
    });
  }
  document.querySelectorAll(".attention a[href^='#cell-']").forEach(function (link) {
    link.addEventListener("click", function (event) {
      var cell = document.getElementById(link.getAttribute("href").slice(1));
      if (cell) { event.preventDefault(); cell.focus(); cell.scrollIntoView({block: "nearest"}); }
    });
  });
});

// Small page behaviours, all optional: every page works without them.
"use strict";

(function () {
  // ---- Tables that scroll inside their own box can be scrolled from the keyboard ----------
  // On a phone a wide table scrolls sideways inside its box; a box that scrolls must be
  // focusable, or keyboard users cannot reach its hidden columns.
  function markScrollBoxes() {
    document.querySelectorAll("table.data, .table-scroll").forEach(function (box) {
      if (box.scrollWidth > box.clientWidth + 1) {
        box.setAttribute("tabindex", "0");
      } else if (box.getAttribute("tabindex") === "0") {
        box.removeAttribute("tabindex");
      }
    });
  }

  // ---- Uploads: one click sends once, and the page says it is working ---------------------
  function guardUploads() {
    document.querySelectorAll('form[enctype="multipart/form-data"]').forEach(function (form) {
      form.addEventListener("submit", function () {
        const buttons = form.querySelectorAll('button[type="submit"], button:not([type])');
        const file = form.querySelector('input[type="file"]');
        const size = file && file.files && file.files[0] ? file.files[0].size : 0;
        // The submit buttons carry no name, so disabling them now drops nothing from this
        // submission; it only stops a second one.
        buttons.forEach(function (button) {
          button.disabled = true;
          button.dataset.label = button.textContent;
          button.textContent = "Uploading" + (size ? " " + (size / 1048576).toFixed(1) + " MB" : "") + "…";
        });
        form.setAttribute("aria-busy", "true");
      });
    });
  }

  // A page restored from the back/forward cache gets its buttons back.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[aria-busy] button[disabled]").forEach(function (button) {
      button.disabled = false;
      if (button.dataset.label) button.textContent = button.dataset.label;
    });
  });

  // ---- Finding a participant in a long table -----------------------------------------------
  function filterTables() {
    document.querySelectorAll("input[data-filter-table]").forEach(function (input) {
      const table = document.getElementById(input.dataset.filterTable);
      if (!table || !table.tBodies[0]) return;
      input.closest(".table-filter").hidden = false;
      input.addEventListener("input", function () {
        const wanted = input.value.trim().toLocaleLowerCase();
        Array.from(table.tBodies[0].rows).forEach(function (row) {
          const name = (row.dataset.participant || "").toLocaleLowerCase();
          row.hidden = wanted !== "" && name.indexOf(wanted) === -1;
        });
      });
    });
  }

  function start() {
    filterTables();
    markScrollBoxes();
    guardUploads();
    window.addEventListener("resize", markScrollBoxes);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

// Fairboard's few behaviours: sortable tables and self-updating pending submissions.
"use strict";

(function () {
  // ---- Sortable tables -------------------------------------------------------------------
  // <table class="sortable"> with <th data-sort="number|text"><button class="sort">...</button>.
  // Cells give their sort key in data-value; an empty numeric key (n/a) always sorts last.
  // The sort is stable: rows with equal keys keep their current relative order.

  function sortKey(cell, type) {
    const raw = cell ? (cell.dataset.value !== undefined ? cell.dataset.value : cell.textContent.trim()) : "";
    if (type === "number") {
      const value = parseFloat(raw);
      return Number.isFinite(value) ? value : null;
    }
    return raw.toLocaleLowerCase();
  }

  function compareKeys(a, b, type) {
    if (type === "number") return a - b;
    return a.localeCompare(b);
  }

  function sortTable(table, header, direction) {
    const headers = Array.from(header.parentElement.children);
    const index = headers.indexOf(header);
    const type = header.dataset.sort || "text";
    const body = table.tBodies[0];
    const rows = Array.from(body.rows).map(function (row, position) {
      return { row: row, position: position, key: sortKey(row.cells[index], type) };
    });
    const sign = direction === "descending" ? -1 : 1;
    rows.sort(function (a, b) {
      if (a.key === null || b.key === null) {
        if (a.key === b.key) return a.position - b.position;
        return a.key === null ? 1 : -1;
      }
      return sign * compareKeys(a.key, b.key, type) || a.position - b.position;
    });
    rows.forEach(function (item) { body.appendChild(item.row); });
    headers.forEach(function (th) { th.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", direction);
    table.dataset.sortedBy = header.dataset.column || header.textContent.trim();
  }

  function initSortable(table) {
    table.querySelectorAll("thead th[data-sort]").forEach(function (header) {
      const trigger = header.querySelector("button.sort") || header;
      trigger.addEventListener("click", function () {
        // The first click sorts best first (every score is lower-is-better); the next reverses.
        const next = header.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
        sortTable(table, header, next);
      });
    });
  }

  // ---- Pending submissions -----------------------------------------------------------------
  // <section class="pending" data-poll-url="/api/v1/submissions/7" data-poll-interval="1500">
  // polls the API (the session cookie authenticates GETs) and reloads the page once done.

  function updatePending(section, body) {
    const progress = section.querySelector("progress");
    const text = section.querySelector(".progress-text");
    if (body.progress && body.progress.total > 0 && progress) {
      progress.max = body.progress.total;
      progress.value = body.progress.done;
      progress.textContent = Math.floor((100 * body.progress.done) / body.progress.total) + "%";
      if (text) text.textContent = body.progress.done + " / " + body.progress.total + " images";
    }
    const state = section.querySelector(".pending-state");
    if (state) state.textContent = body.status === "queued" ? "Waiting in the queue" : "Running";
    const queue = section.querySelector(".queue-position");
    const position = section.querySelector("[data-queue-position]");
    if (queue && position) {
      queue.hidden = !body.queue_position;
      position.textContent = body.queue_position || "";
    }
  }

  function pollPending(section) {
    const url = section.dataset.pollUrl;
    const interval = parseInt(section.dataset.pollInterval || "2000", 10);
    let failures = 0;
    function tick() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (body) {
          failures = 0;
          if (body.status === "finished" || body.status === "failed") {
            window.location.reload();
            return;
          }
          updatePending(section, body);
          window.setTimeout(tick, interval);
        })
        .catch(function () {
          failures += 1;
          window.setTimeout(tick, Math.min(30000, interval * Math.pow(2, failures)));
        });
    }
    window.setTimeout(tick, interval);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("table.sortable").forEach(initSortable);
    document.querySelectorAll("section.pending[data-poll-url]").forEach(pollPending);
  });
})();

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

  // ---- Uploads: a progress bar, one click sends once, the server's answer is shown --------
  // The form is sent by XMLHttpRequest so that its upload progress can be shown; whatever the
  // server answers (the page its redirect leads to, or the form again with the problem) then
  // replaces this page, at the URL it came from. Without JavaScript the form posts as usual.
  const MB = 1048576;

  function megabytes(bytes) {
    return (bytes / MB).toFixed(1) + " MB";
  }

  function progressBox(form) {
    const box = document.createElement("div");
    box.className = "upload-progress";
    box.hidden = true;
    const bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", "Upload progress");
    const words = document.createElement("span");
    words.className = "upload-words";
    // Announced politely, in steps of a tenth, so a screen reader is not flooded.
    words.setAttribute("role", "status");
    box.append(bar, " ", words);
    form.append(box);
    return { box: box, bar: bar, words: words };
  }

  function showResponse(xhr) {
    const url = xhr.responseURL;
    document.open();
    document.write(xhr.responseText);
    document.close();
    if (url) history.replaceState(null, "", url);
  }

  function sendWithProgress(form, shown, buttons) {
    const data = new FormData(form);
    const xhr = new XMLHttpRequest();
    let announced = -1;
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "text/html");
    xhr.upload.addEventListener("progress", function (event) {
      if (!event.lengthComputable) return;
      const percent = Math.floor((event.loaded / event.total) * 100);
      shown.bar.value = percent;
      shown.bar.textContent = percent + "%";
      if (Math.floor(percent / 10) !== announced) {
        announced = Math.floor(percent / 10);
        shown.words.textContent =
          "Uploaded " + megabytes(event.loaded) + " of " + megabytes(event.total) + " (" + percent + "%)";
      }
    });
    xhr.upload.addEventListener("load", function () {
      shown.bar.value = 100;
      shown.words.textContent = "Uploaded; the server is checking the file…";
    });
    xhr.addEventListener("load", function () {
      showResponse(xhr);
    });
    function failed() {
      shown.words.textContent = "The upload did not reach the server; check the connection and try again.";
      form.removeAttribute("aria-busy");
      delete form.dataset.sending;
      buttons.forEach(function (button) {
        button.disabled = false;
        if (button.dataset.label) button.textContent = button.dataset.label;
      });
    }
    xhr.addEventListener("error", failed);
    xhr.addEventListener("abort", failed);
    xhr.send(data);
  }

  function guardUploads() {
    document.querySelectorAll('form[enctype="multipart/form-data"]').forEach(function (form) {
      const shown = progressBox(form);
      form.addEventListener("submit", function (event) {
        if (form.dataset.sending) {
          event.preventDefault();
          return;
        }
        if (event.defaultPrevented) return; // another script (a confirmation) holds it back
        const buttons = form.querySelectorAll('button[type="submit"], button:not([type])');
        const file = form.querySelector('input[type="file"]');
        const size = file && file.files && file.files[0] ? file.files[0].size : 0;
        // The submit buttons carry no name, so disabling them drops nothing from the form.
        buttons.forEach(function (button) {
          button.disabled = true;
          button.dataset.label = button.textContent;
          button.textContent = "Uploading" + (size ? " " + megabytes(size) : "") + "…";
        });
        form.dataset.sending = "true";
        form.setAttribute("aria-busy", "true");
        if (!window.FormData) return; // a plain post, still sent once
        event.preventDefault();
        shown.box.hidden = false;
        shown.words.textContent = "Uploading " + (size ? megabytes(size) : "the file") + "…";
        sendWithProgress(form, shown, buttons);
      });
    });
  }

  // A page restored from the back/forward cache gets its buttons back.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[aria-busy] button[disabled]").forEach(function (button) {
      button.disabled = false;
      if (button.dataset.label) button.textContent = button.dataset.label;
    });
    document.querySelectorAll("form[data-sending]").forEach(function (form) {
      delete form.dataset.sending;
      form.removeAttribute("aria-busy");
    });
  });

  function start() {
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

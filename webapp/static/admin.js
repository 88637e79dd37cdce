// Admin behaviour that htmx attributes cannot express. No inline scripts: the admin runs under a strict CSP.
(function () {
  "use strict";

  function showToast(message, level) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var toast = document.createElement("p");
    toast.className = "toast toast-" + (level || "success");
    toast.setAttribute("role", "status");
    toast.textContent = message;
    box.appendChild(toast);
    window.setTimeout(function () { toast.remove(); }, 4000);
  }

  document.addEventListener("toast", function (event) {
    showToast(event.detail.message, event.detail.level);
  });

  // Show server errors of htmx requests (4xx/5xx) instead of silently ignoring them.
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var target = event.detail.target;
    if (xhr.status === 422 || xhr.status === 409) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
      return;
    }
    var messages = document.body.dataset;
    showToast(xhr.status === 403 ? messages.messageForbidden : messages.messageError.replace("{status}", xhr.status), "error");
    if (target) target.setAttribute("aria-busy", "false");
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status === 422 || status === 409) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-autosubmit]")) event.target.form.submit();
  });
})();

// Account pages: components marked data-swap-errors (users, API tokens) render their own refusals, so a
// 403 from a service rule ("only an owner can…") is swapped in like a 409 or 422 instead of a bare toast.
(function () {
  "use strict";

  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (event.detail.xhr.status === 403 && target && target.closest("[data-swap-errors]")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // Copy buttons: <button data-copy="element-id" data-copied="message"> copies that element's text.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (!button || !navigator.clipboard) return;
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    navigator.clipboard.writeText(source.textContent.trim()).then(function () {
      var message = button.getAttribute("data-copied");
      if (message) document.dispatchEvent(new CustomEvent("toast", { detail: { message: message, level: "success" } }));
    });
  });
})();

// Profiles: Escape in an inline edit (a list cell or a subprofile row marked data-cell-edit) cancels it, by
// clicking its Cancel button (data-cell-cancel), which fetches the display version again.
(function () {
  "use strict";

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || !event.target.closest) return;
    var editor = event.target.closest("[data-cell-edit]");
    if (!editor) return;
    var row = editor.closest("tr[data-cell-edit]") || editor;
    var cancel = row.querySelector("[data-cell-cancel]");
    if (!cancel) return;
    event.preventDefault();
    cancel.click();
  });
})();

// Profile list: the header checkbox ticks every profile of the page for the bulk form (data-pick-all="form id").
(function () {
  "use strict";

  document.addEventListener("change", function (event) {
    var all = event.target.closest("[data-pick-all]");
    if (!all) return;
    var boxes = document.querySelectorAll('input[type="checkbox"][name="id"][form="' + all.dataset.pickAll + '"]');
    boxes.forEach(function (box) { box.checked = all.checked; });
  });

  // The bulk form shows the inputs of the chosen action only (without JavaScript it shows them all).
  function showBulkInputs(select) {
    select.form.querySelectorAll("[data-bulk-for]").forEach(function (group) {
      group.hidden = group.dataset.bulkFor.split(" ").indexOf(select.value) === -1;
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.id === "bulk-action") showBulkInputs(event.target);
  });
  document.addEventListener("htmx:load", function (event) {
    var select = event.detail.elt.querySelector ? event.detail.elt.querySelector("#bulk-action") : null;
    if (select) showBulkInputs(select);
  });
})();

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
    showToast(xhr.status === 403 ? "Not allowed." : "Error " + xhr.status, "error");
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

// The double opt-in confirmation page: submit its POST form at once, so a person who follows the link is
// confirmed in one step, while a mail scanner that only fetches the link (GET) confirms nothing.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.querySelector("form[data-confirm-automatically]");
  if (form) {
    form.submit();
  }
});

// kaa's few lines of script (served as a file: the Content-Security-Policy forbids inline script).
// A page that comes back with errors moves the focus to its error summary, so a screen reader
// user hears what to correct (GOV.UK Frontend's error summary pattern).
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.querySelector("[data-kaa-error-summary]");
  if (summary) { summary.focus(); }
});

// Nothing of kaa's in the browser's storage: htmx notes the page's path in sessionStorage when it
// loads (history support, which kaa turns off), so the note is taken away again.
document.addEventListener("DOMContentLoaded", function () {
  try { window.sessionStorage.removeItem("htmx-current-path-for-history"); } catch (e) { /* none */ }
});

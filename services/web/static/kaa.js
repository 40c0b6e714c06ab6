// kaa's few lines of script (served as a file: the Content-Security-Policy forbids inline script).
// A page that comes back with errors moves the focus to its error summary, so a screen reader
// user hears what to correct (GOV.UK Frontend's error summary pattern).
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.querySelector("[data-kaa-error-summary]");
  if (summary) { summary.focus(); }
});

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

// Min dag: when the list refreshes by itself (a live update swaps #min-dag-lista), the polite
// status region above it says in Swedish what changed, e.g. "Listan uppdaterades: 1 ny ungdom".
// Nothing takes the focus (htmx gives it back to the link of the same id); nothing is said when
// nothing changed.
(function () {
  var LIST = "min-dag-lista";
  var before = null;

  function snapshot(list) {
    var ids = {};
    var links = list.querySelectorAll("a[id^='ungdom-']");
    for (var i = 0; i < links.length; i++) { ids[links[i].id] = true; }
    var counts = [];
    var numbers = list.querySelectorAll("[data-kaa-count]");
    for (var j = 0; j < numbers.length; j++) { counts.push(numbers[j].getAttribute("data-kaa-count")); }
    var total = list.querySelector("[data-kaa-total]");
    return {
      ids: ids,
      total: total ? parseInt(total.getAttribute("data-kaa-total"), 10) || 0 : 0,
      counts: counts.join(",")
    };
  }

  function missing(from, to) {
    var n = 0;
    for (var id in from) { if (!to[id]) { n++; } }
    return n;
  }

  function said(was, now) {
    var added = missing(now.ids, was.ids);
    var gone = missing(was.ids, now.ids);
    if (!added && !gone && now.total !== was.total) {  // beyond the page shown
      if (now.total > was.total) { added = now.total - was.total; } else { gone = was.total - now.total; }
    }
    var parts = [];
    if (added) { parts.push(added === 1 ? "1 ny ungdom" : added + " nya ungdomar"); }
    if (gone) { parts.push(gone === 1 ? "1 ungdom har lämnat listan" : gone + " ungdomar har lämnat listan"); }
    if (!parts.length && now.counts !== was.counts) { parts.push("antalen i arbetslistorna har ändrats"); }
    return parts.length ? "Listan uppdaterades: " + parts.join(", ") + "." : "";
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.id === LIST) { before = snapshot(target); }
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail && event.detail.target;
    var status = document.getElementById("min-dag-status");
    if (!target || target.id !== LIST || !status || before === null) { return; }
    var message = said(before, snapshot(target));
    before = null;
    if (!message) { return; }
    status.textContent = "";  // the same words again are still news: empty, then say them
    window.setTimeout(function () { status.textContent = message; }, 100);
  });
})();

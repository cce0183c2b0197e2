// When a form comes back with errors, move keyboard and screen-reader focus to the error
// summary, so the person hears what to fix (the summary links to each field).
const summary = document.getElementById("error-summary");
if (summary) {
  summary.focus();
}

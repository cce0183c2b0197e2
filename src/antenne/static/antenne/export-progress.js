// The report page's exports in progress: poll each one's status and move its progress bar;
// reload the page once one is ready or failed (it then shows the download link). Without
// JavaScript, the page offers a refresh link instead.
const rows = [...document.querySelectorAll("[data-export-status-url]")];
const EVERY_MS = 2000;

async function poll(row) {
  try {
    const response = await fetch(row.dataset.exportStatusUrl, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    if (!response.ok) return false;
    const data = await response.json();
    const bar = row.querySelector("progress");
    const text = row.querySelector("[data-export-progress]");
    if (bar) bar.value = data.progress;
    if (text) text.textContent = `${data.progress} %`;
    return data.status !== "pending" && data.status !== "running";
  } catch {
    return false;
  }
}

if (rows.length) {
  const timer = setInterval(async () => {
    const finished = await Promise.all(rows.map(poll));
    if (finished.some(Boolean)) {
      clearInterval(timer);
      window.location.reload();
    }
  }, EVERY_MS);
}

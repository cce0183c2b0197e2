// Sessions are listed in their own time zone (readable without JavaScript). When the
// visitor's zone differs, show each start in the visitor's zone too.
const box = document.querySelector(".antenne-local-times");
if (box) {
  const visitorZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const items = [...box.querySelectorAll("[data-instant]")];
  const differs = items.some((item) => item.dataset.zone !== visitorZone);
  if (visitorZone && differs) {
    const format = new Intl.DateTimeFormat(document.documentElement.lang || "fr", {
      dateStyle: "full",
      timeStyle: "short",
    });
    for (const item of items) {
      item.textContent = format.format(new Date(item.dataset.instant));
    }
    box.querySelector("[data-visitor-zone]").textContent = visitorZone;
    box.hidden = false;
  }
}

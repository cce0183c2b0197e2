// The registration page and the page after registering. Each session is shown in its own
// zone (readable without JavaScript); when the visitor's zone differs, its start and end in
// the visitor's zone are added. The first session's countdown (days, hours, minutes, first
// written by the server) is kept up to date, its units in the page's language.
const lang = document.documentElement.lang || "fr";
const visitorZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

const when = new Intl.DateTimeFormat(lang, { dateStyle: "full", timeStyle: "short" });
for (const line of document.querySelectorAll(".antenne-when__visitor[data-instant]")) {
  if (!visitorZone || line.dataset.zone === visitorZone) continue;
  const [start, end] = [new Date(line.dataset.instant), new Date(line.dataset.end)];
  const range = when.formatRange ? when.formatRange(start, end) : when.format(start);
  line.textContent = `${line.dataset.prefix} ${range} (${visitorZone})`;
  line.hidden = false;
}

const countdown = document.querySelector(".antenne-countdown-boxes[data-starts-at]");
if (countdown) {
  const startsAt = new Date(countdown.dataset.startsAt).getTime();
  const units = [["day", 1440], ["hour", 60], ["minute", 1]];
  const tick = () => {
    const left = startsAt - Date.now();
    let minutes = Math.max(0, Math.floor(left / 60000));
    for (const [unit, size] of units) {
      const value = Math.floor(minutes / size);
      minutes -= value * size;
      const box = countdown.querySelector(`[data-unit="${unit}"]`);
      const words = new Intl.NumberFormat(lang, { style: "unit", unit, unitDisplay: "long" })
        .formatToParts(value)
        .filter((part) => part.type === "unit")
        .map((part) => part.value)
        .join("");
      box.querySelector("strong").textContent = String(value);
      box.querySelector("span").textContent = words;
    }
    if (left > 0) window.setTimeout(tick, (left % 60000) + 50);
  };
  tick();
}

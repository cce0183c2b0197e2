// The waiting page's countdown: the server-rendered text stays for people without
// JavaScript; with it, the remaining time is shown and the page reloads at opening time.
const element = document.querySelector(".antenne-countdown");
if (element) {
  const opensAt = new Date(element.dataset.startsAt).getTime() - 30 * 60 * 1000;
  const format = new Intl.RelativeTimeFormat(document.documentElement.lang || "fr", { numeric: "auto" });
  const tick = () => {
    const seconds = Math.round((opensAt - Date.now()) / 1000);
    if (seconds <= 0) {
      window.location.reload();
      return;
    }
    const [value, unit] = seconds >= 86400 ? [Math.round(seconds / 86400), "day"]
      : seconds >= 3600 ? [Math.round(seconds / 3600), "hour"]
      : seconds >= 60 ? [Math.round(seconds / 60), "minute"] : [seconds, "second"];
    element.textContent = `${element.dataset.prefix} ${format.format(value, unit)}`;
    window.setTimeout(tick, seconds > 120 ? 30000 : 1000);
  };
  tick();
}

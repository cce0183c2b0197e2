// The studio's frame around the console's parts (templates/control/console.html): the side
// panel's tabs with their unread counts (tabs.js), the session's timer, and, for staff, the
// broadcast buttons (open the green room, start, end) confirmed in a dialog and done in place:
// a POST to the back office's broadcast view asking for JSON (`Accept: application/json`),
// so the page stays and whoever is on stage stays published.

import { tabs } from "./tabs.js";
import { errorText, fill, plural, showMessage } from "./ui.js";

const SECOND = 1000;

/** "4:05" or "1:02:03". */
function duration(ms) {
  const total = Math.max(0, Math.floor(ms / SECOND));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

export function createStudio(ctx, { onState }) {
  const { root, strings, plurals } = ctx;
  const $ = (id) => document.getElementById(id);

  // --- The side panel's tabs ------------------------------------------------------------------

  const panel = tabs($("studio-panel"), { unreadLabel: (count) => plural(strings.unread, count, plurals) });

  // --- One screen: the stage and the panel fill the window under the page's header ----------

  const main = root.querySelector(".antenne-studio__main");
  const fit = () => root.style.setProperty("--studio-top", `${Math.round(main.getBoundingClientRect().top + window.scrollY)}px`);
  fit();
  window.addEventListener("resize", fit);
  new ResizeObserver(fit).observe(root.querySelector(".antenne-studio__head"));

  // --- The timer -----------------------------------------------------------------------------

  const timer = $("studio-timer");
  const startsAt = Date.parse(root.dataset.startsAt || "");
  let startedAt = Date.parse(root.dataset.startedAt || "");

  function tick() {
    const state = root.dataset.state;
    const now = Date.now();
    let text = "";
    if (state === "live") text = fill(strings.timer.live, { time: duration(now - (Number.isNaN(startedAt) ? now : startedAt)) });
    else if ((state === "scheduled" || state === "green_room") && !Number.isNaN(startsAt)) {
      text = fill(startsAt >= now ? strings.timer.soon : strings.timer.late, { time: duration(Math.abs(startsAt - now)) });
    }
    timer.hidden = !text;
    timer.textContent = text;
  }

  function stateChanged(state, at = null) {
    if (state === "live" && Number.isNaN(startedAt)) startedAt = at ? Date.parse(at) : Date.now();
    tick();
  }

  tick();
  window.setInterval(tick, SECOND);

  // --- Start, end, open the green room (staff) ------------------------------------------------

  const dialog = $("studio-dialog");
  if (dialog) {
    const form = $("studio-dialog-form");
    const title = $("studio-dialog-title");
    const text = $("studio-dialog-text");
    const reminders = $("studio-dialog-reminders");
    const confirm = $("studio-dialog-confirm");
    const messages = $("studio-dialog-messages");
    let opener = null;
    let url = "";
    let busy = false;

    for (const item of root.querySelectorAll("[data-broadcast]")) {
      const button = item.querySelector("button");
      button.addEventListener("click", () => {
        const step = strings.broadcast[item.dataset.broadcast];
        opener = button;
        url = button.dataset.url;
        title.textContent = step.title;
        text.textContent = step.text;
        confirm.textContent = step.button;
        if (reminders) reminders.hidden = item.dataset.broadcast !== "start";
        showMessage(messages, "");
        dialog.showModal();
        confirm.focus();
      });
    }

    const close = () => {
      dialog.close();
      if (opener) opener.focus();
    };
    $("studio-dialog-cancel").addEventListener("click", close);
    // Escape closes it too: the focus goes back to the button that opened it.
    dialog.addEventListener("cancel", () => window.setTimeout(() => opener && opener.focus(), 0));

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (busy) return;
      busy = true;
      confirm.disabled = true;
      fetch(url, {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      })
        .then((response) => response.json().catch(() => ({})).then((data) => ({ ok: response.ok, data })))
        .then(({ ok, data }) => {
          if (!ok || !data.state) {
            showMessage(messages, errorText(strings, data));
            return;
          }
          onState(data.state, data.started_at);
          dialog.close();
          // The button pressed is gone with the state: the focus goes to the next step.
          const next = [...root.querySelectorAll("[data-broadcast]")].find((item) => !item.hidden);
          (next ? next.querySelector("button") : $("console-publish")).focus();
        })
        .catch(() => showMessage(messages, strings.errors["connection.lost"]))
        .finally(() => {
          busy = false;
          confirm.disabled = false;
        });
    });
  }

  return { notify: (name) => panel.notify(name), select: (name) => panel.select(name), stateChanged };
}

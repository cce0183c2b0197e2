// The console: the staff's and speakers' side of the live room (templates/control/console.html;
// protocol: docs/live-protocol.md). Staff join the room's WebSocket with their back-office
// login (`join` payload `{}`), a speaker with their personal link (`{speaker_token}`).
//
// The page is the studio (console-studio.js): the stage in the centre (console-media.js), a
// side panel of tabs — the room's chat, the backstage chat, the questions, for staff the
// polls, the people with the raised hands, for staff the room's settings — and the session's
// state with its timer; staff start and end in place (a dialog, then a POST for JSON: nothing
// starts or ends over the WebSocket). The connection (live-client.js) comes back by itself.
// Server text only ever reaches the page through `textContent`.

import { LiveClient } from "./live-client.js";
import { createChat } from "./console-chat.js";
import { createPeople } from "./console-people.js";
import { createPolls } from "./console-polls.js";
import { createQa } from "./console-qa.js";
import { createMedia } from "./console-media.js";
import { createStudio } from "./console-studio.js";
import { announcer, errorText, fill, showMessage } from "./ui.js";

const NEWS_EVERY_MS = 3000; // at most one announcement of backstage news per 3 s
const STATE_BADGE = { scheduled: "info", green_room: "success", live: "error", ended: "", cancelled: "warning" };

const root = document.getElementById("antenne-console");
const stringsElement = document.getElementById("antenne-console-strings");
if (root && stringsElement) startConsole(root, JSON.parse(stringsElement.textContent));

function startConsole(root, strings) {
  const $ = (id) => document.getElementById(id);
  const lang = document.documentElement.lang || "fr";
  const staff = root.dataset.role === "staff";
  const speakerToken = root.dataset.speakerToken || "";
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${root.dataset.socketPath}`;
  const connection = $("console-connection");
  const statusRegion = $("console-status");
  const newsRegion = $("console-news");
  const settingsForm = $("console-settings-form");
  let everJoined = false;
  let badgeTimer = 0;

  // --- Announcements (screen readers) ----------------------------------------------------

  const say = announcer();

  let news = [];
  let newsTimer = 0;
  let lastNewsAt = 0;

  /** New backstage messages and hands, said together when they come in a burst. */
  function queueNews(text) {
    news.push(text);
    if (newsTimer) return;
    newsTimer = window.setTimeout(() => {
      newsTimer = 0;
      lastNewsAt = Date.now();
      const batch = news;
      news = [];
      say(newsRegion, batch.join(" — "));
    }, Math.max(0, lastNewsAt + NEWS_EVERY_MS - Date.now()));
  }

  const ctx = {
    root,
    strings,
    staff,
    clock: new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit" }),
    plurals: new Intl.PluralRules(lang),
    news: queueNews,
    notify: () => {},
    client: null,
  };

  // --- The session's state -------------------------------------------------------------------

  const stateBadge = $("console-state-badge");

  function applyState(state, announce = false) {
    if (!state) return;
    const changed = state !== root.dataset.state;
    root.dataset.state = state;
    stateBadge.dataset.state = state;
    stateBadge.textContent = strings.states[state] || state;
    const variant = STATE_BADGE[state];
    stateBadge.className = `fr-badge fr-badge--sm${variant ? ` fr-badge--${variant}` : ""}`;
    for (const link of root.querySelectorAll("[data-broadcast]")) {
      link.hidden = !link.dataset.states.split(" ").includes(state);
    }
    if (changed && announce) say(statusRegion, fill(strings.announce.state, { state: strings.states[state] || state }));
  }

  // --- Room settings (staff) -----------------------------------------------------------------

  function applySettings(settings) {
    if (!settings) return;
    $("console-chat-closed").hidden = settings.chat_enabled !== false;
    $("console-qa-closed").hidden = settings.questions_enabled !== false;
    if (!settingsForm) return;
    const f = settingsForm.elements;
    f.chat_enabled.checked = Boolean(settings.chat_enabled);
    f.questions_enabled.checked = Boolean(settings.questions_enabled);
    f.show_attendee_names.checked = Boolean(settings.show_attendee_names);
    f.slow_mode_seconds.value = String(settings.slow_mode_seconds ?? 0);
  }

  if (settingsForm) {
    const messages = $("console-settings-messages");
    const slow = settingsForm.elements.slow_mode_seconds;
    settingsForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const seconds = Number(slow.value || 0);
      if (!Number.isInteger(seconds) || seconds < Number(slow.min) || seconds > Number(slow.max)) {
        slow.setAttribute("aria-invalid", "true");
        showMessage(messages, slow.closest(".fr-input-group").querySelector(".fr-hint-text").textContent);
        slow.focus();
        return;
      }
      slow.removeAttribute("aria-invalid");
      const f = settingsForm.elements;
      client.call("room.settings", {
        chat_enabled: f.chat_enabled.checked,
        questions_enabled: f.questions_enabled.checked,
        show_attendee_names: f.show_attendee_names.checked,
        slow_mode_seconds: seconds,
      }).then(
        (values) => {
          applySettings(values);
          showMessage(messages, strings.done.settings, "valid");
        },
        (error) => showMessage(messages, errorText(strings, error)),
      );
    });
  }

  // --- The connection ------------------------------------------------------------------------

  function setBadge(kind, text) {
    connection.hidden = kind === "";
    connection.dataset.connection = kind;
    const variant = { connected: "success", reconnecting: "warning", connecting: "info", closed: "error" }[kind];
    connection.className = `fr-badge fr-badge--sm${variant ? ` fr-badge--${variant}` : ""}`;
    connection.textContent = text;
  }

  function closeWith(text) {
    $("console-closed-text").textContent = text;
    const panel = $("console-closed");
    panel.hidden = false;
    panel.querySelector("[tabindex='-1']").focus();
  }

  const studio = createStudio(ctx, {
    onState(state, startedAt) {
      applyState(state, true);
      studio.stateChanged(state, startedAt);
      media.stateChanged(state);
    },
  });
  ctx.notify = studio.notify;
  const chat = createChat(ctx);
  const people = createPeople(ctx);
  const qa = createQa(ctx);
  const polls = createPolls(ctx);
  const media = createMedia(ctx);

  const events = {
    "chat.message": (data) => chat.add(data, true),
    "chat.deleted": (data) => chat.removed(data.id),
    state: (data) => { applyState(data.state, true); studio.stateChanged(data.state); media.stateChanged(data.state); },
    "media.feeds": media.feedsChanged,
    "media.stats": media.statsChanged,
    "room.settings": applySettings,
    "qa.votes": qa.votes,
    "qa.state": qa.state,
    "poll.created": polls.upsert,
    "poll.opened": polls.upsert,
    "poll.closed": polls.upsert,
    "poll.results": polls.results,
    "hand.raised": people.handRaised,
    "hand.lowered": people.handLowered,
    "phone.floor": people.refreshSoon,
    "person.muted": people.refreshSoon,
    "person.unmuted": people.refreshSoon,
    "stage.invited": people.refreshSoon,
    "stage.accepted": people.refreshSoon,
    "stage.declined": people.refreshSoon,
    "stage.ended": people.refreshSoon,
  };

  function apply(list, backstage) {
    for (const [event, data] of list) {
      if (event === "qa.question") qa.upsert(data || {}, backstage);
      else if (events[event]) events[event](data || {});
    }
  }

  const client = new LiveClient({
    url,
    join: () => (speakerToken ? { speaker_token: speakerToken } : {}),
    strings,
    handlers: {
      joined(reply) {
        if (!reply.resynced && reply.snapshot) {
          chat.render(reply.snapshot.chat || []);
          qa.render(reply.snapshot.qa || {});
          polls.render(reply.snapshot.polls || {});
          applyState(reply.snapshot.state, everJoined);
          studio.stateChanged(reply.snapshot.state);
        }
        media.joined(reply);
        applySettings(reply.settings);
        people.refresh(); // the people and, from them, the raised hands
        if (everJoined) say(statusRegion, strings.announce.back);
        everJoined = true;
      },
      frame: (list) => apply(list, false),
      backstage: (list) => apply(list, true),
      status(state, detail) {
        window.clearInterval(badgeTimer);
        if (state === "connecting") setBadge("connecting", strings.connecting);
        else if (state === "connected") setBadge("connected", strings.connected);
        else if (state === "closed") setBadge("closed", strings.closed);
        else if (state === "reconnecting") {
          // Backstage pushes are not replayed by a resync: come back with a fresh snapshot.
          client.epoch = "";
          if (detail.lost) say(statusRegion, strings.announce.lost);
          const at = Date.now() + (detail.retryIn || 0);
          const update = () => setBadge("reconnecting", fill(strings.reconnecting, {
            seconds: Math.max(0, Math.ceil((at - Date.now()) / 1000)),
          }));
          update();
          badgeTimer = window.setInterval(update, 1000);
        }
      },
      error(code, message) {
        // Refusals that knocking again cannot change: say why, and stop (the default).
        if (code === "room.closed" || /^(join|speaker|permission)\./.test(code)) {
          closeWith(errorText(strings, { code, message }));
        }
      },
    },
  });
  ctx.client = client;
  client.start();
}

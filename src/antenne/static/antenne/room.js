// The live room for attendees (templates/public/room.html; protocol: docs/live-protocol.md).
//
// Loading the page records nothing: attendance starts here, when this script joins the
// room's WebSocket with the person's join key (the connection, its backoff and resync are
// live-client.js's). Before the broadcast the page shows a countdown; it switches to the
// room by itself on a `state` event (`live`), and to a thank-you panel on `ended`. In the
// room: the chat (room-chat.js), questions (room-qa.js), polls (room-polls.js), the hand,
// reactions and the stage (room-stage.js). Text from the server is only ever put in the
// page with `textContent`, never parsed as HTML.

import { LiveClient, backoffDelay } from "./live-client.js";
import { announcer, errorText, fill } from "./ui.js";
import { setupChat } from "./room-chat.js";
import { setupPolls } from "./room-polls.js";
import { setupQa } from "./room-qa.js";
import { setupStage } from "./room-stage.js";
import { setupMedia } from "./room-media.js";
import { tabs } from "./tabs.js";

export { backoffDelay };

const NOT_OPEN_POLL_MS = 5 * 60 * 1000; // the broadcast may start before the room opens
const LATE_POLL_MS = 30000; // room should be open but is not (clock skew, late start)
const OPENING_SPREAD_MS = 15000; // everyone does not knock at the very same second
const JITTER = 0.3;
const TERMINAL = new Set(["ended", "cancelled", "closed"]);

function jittered(ms) {
  return Math.round(ms * (1 + (Math.random() * 2 - 1) * JITTER));
}

const root = document.getElementById("antenne-room");
const stringsElement = document.getElementById("antenne-room-strings");
if (root && stringsElement && !TERMINAL.has(root.dataset.phase)) {
  startRoom(root, JSON.parse(stringsElement.textContent));
}

function startRoom(root, strings) {
  const lang = document.documentElement.lang || "fr";
  const relative = new Intl.RelativeTimeFormat(lang, { numeric: "auto" });
  const clock = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit" });
  const plurals = new Intl.PluralRules(lang);
  const startsAt = new Date(root.dataset.startsAt).getTime();
  const opensAt = new Date(root.dataset.opensAt).getTime();
  const liveFrom = new Date(root.dataset.liveFrom).getTime(); // earliest start allowed
  const joinKey = root.dataset.joinKey;
  const socketUrl = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${root.dataset.socketPath}`;
  const mobile = navigator.userAgentData ? navigator.userAgentData.mobile : /Mobi|Android|iPhone|iPad/i.test(navigator.userAgent);
  const device = mobile ? "mobile" : "desktop";

  const $ = (id) => document.getElementById(id);
  const panels = { waiting: $("room-waiting"), live: $("room-live"), ended: $("room-ended"), cancelled: $("room-cancelled"), closed: $("room-closed") };
  const badge = $("room-connection");
  const countdown = $("room-countdown");
  const greenRoom = $("room-green-room");
  const statusRegion = $("room-status");
  const say = announcer();

  let phase = root.dataset.phase; // waiting | live | ended | cancelled | closed
  let everJoined = false;
  const timers = { badge: 0, countdown: 0 };

  const client = new LiveClient({
    url: socketUrl,
    join: () => ({ join_key: joinKey, device }),
    strings,
    handlers: { status, joined, frame, error: joinRefused },
  });

  // What the parts of the room share.
  const ctx = {
    $,
    strings,
    client,
    lang,
    clock,
    say,
    plural: (forms, count) => forms[plurals.select(count)] || forms.other,
    announce: (text) => say(statusRegion, text),
    isLive: () => phase === "live",
    markNew,
    setMuted: (value) => stage.setMuted(value),
    stageChanged: (state) => media.stageChanged(state),
  };
  const chat = setupChat(ctx);
  const qa = setupQa(ctx);
  const polls = setupPolls(ctx);
  const stage = setupStage(ctx);
  const media = setupMedia(ctx, root.dataset.sessionId);

  // --- Tabs (tabs.js, the ARIA tabs pattern): news on a tab not shown counts as unread ------

  const panel = tabs($("room-tabs"), { unreadLabel: (count) => fill(ctx.plural(strings.unread, count), { count }) });

  function markNew(name) {
    panel.notify(name);
  }

  // --- Phases: waiting, live, ended, cancelled, closed ----------------------------------

  function show(next) {
    if (next === phase && !panels[next].hidden) return;
    const focused = document.activeElement;
    phase = next;
    for (const [name, panel] of Object.entries(panels)) panel.hidden = name !== next;
    // Focus was on nothing, or inside a panel now hidden: take it to the new panel's title.
    if (!focused || focused === document.body || focused.closest("[hidden]")) {
      const title = panels[next].querySelector("[tabindex='-1']");
      if (title) title.focus();
    }
    stage.phaseChanged(next === "live");
    media.phaseChanged(next === "live");
    if (next === "waiting") tickCountdown();
    if (TERMINAL.has(next)) stop();
  }

  function applyState(state) {
    if (state === "live") {
      if (phase !== "live") {
        show("live");
        say(statusRegion, strings.announce_live);
      }
    } else if (state === "ended") {
      if (phase !== "ended") say(statusRegion, strings.announce_ended);
      show("ended");
    } else if (state === "cancelled") {
      if (phase !== "cancelled") say(statusRegion, strings.announce_cancelled);
      show("cancelled");
    } else if (state === "green_room" || state === "scheduled") {
      const wasHidden = greenRoom.hidden;
      greenRoom.hidden = state !== "green_room";
      if (state === "green_room" && wasHidden) say(statusRegion, strings.announce_green_room);
      if (phase !== "waiting") show("waiting");
    }
  }

  function closeWith(text) {
    $("room-closed-text").textContent = text;
    show("closed");
  }

  function tickCountdown() {
    window.clearTimeout(timers.countdown);
    if (phase !== "waiting") return;
    const seconds = Math.round((startsAt - Date.now()) / 1000);
    if (seconds <= 0) {
      countdown.textContent = strings.starting_soon;
      return;
    }
    const [value, unit] = seconds >= 86400 ? [Math.round(seconds / 86400), "day"]
      : seconds >= 3600 ? [Math.round(seconds / 3600), "hour"]
      : seconds >= 60 ? [Math.round(seconds / 60), "minute"] : [seconds, "second"];
    countdown.textContent = fill(strings.starts_in, { when: relative.format(value, unit) });
    timers.countdown = window.setTimeout(tickCountdown, seconds > 120 ? 15000 : 1000);
  }

  function stop() {
    client.stop();
    window.clearInterval(timers.badge);
    window.clearTimeout(timers.countdown);
    setBadge("", "");
  }

  // --- Connection indicator ---------------------------------------------------------------

  function setBadge(kind, text) {
    badge.hidden = kind === "";
    badge.dataset.connection = kind;
    badge.className = `fr-badge fr-badge--sm antenne-room__connection${
      { connected: " fr-badge--success", reconnecting: " fr-badge--warning", connecting: " fr-badge--info" }[kind] || ""}`;
    badge.textContent = text;
  }

  // --- The connection's news (live-client.js) ---------------------------------------------

  function status(state, detail) {
    window.clearInterval(timers.badge);
    if (state === "connecting") {
      setBadge("connecting", strings.connecting);
    } else if (state === "connected") {
      setBadge("connected", strings.connected);
    } else if (state === "reconnecting") {
      if (detail.code === "room.not_open_yet") {
        setBadge("waiting", fill(strings.opens_at, { time: clock.format(new Date(opensAt)) }));
        return;
      }
      if (detail.lost && !TERMINAL.has(phase)) say(statusRegion, strings.announce_lost);
      const at = Date.now() + detail.retryIn;
      const update = () => {
        const seconds = Math.max(0, Math.ceil((at - Date.now()) / 1000));
        setBadge("reconnecting", fill(strings.reconnecting, { seconds }));
      };
      update();
      timers.badge = window.setInterval(update, 1000);
    } else {
      setBadge("", "");
    }
  }

  function joined(reply) {
    const again = everJoined;
    everJoined = true;
    if (reply.settings) applySettings(reply.settings);
    if (!reply.resynced && reply.snapshot) {
      // A fresh view of the room: missed frames could not be replayed.
      chat.render(reply.snapshot.chat || []);
      qa.snapshot(reply.snapshot.qa);
      polls.snapshot(reply.snapshot.polls);
      applyState(reply.snapshot.state);
    } // else: exactly the missed frames follow this reply.
    media.joined(reply); // first: the media token, before the stage invitation is applied
    stage.joined(reply);
    if (again && !TERMINAL.has(phase)) say(statusRegion, strings.announce_back);
  }

  function joinRefused(code, message) {
    if (code === "room.not_open_yet") {
      // Not yet: knock again when the room opens, spread out so that everyone does not
      // knock at once. The animator may start the broadcast a little before the room
      // opens (from `liveFrom`): meanwhile, knock now and then.
      const now = Date.now();
      const spread = Math.random() * OPENING_SPREAD_MS;
      return now < liveFrom ? liveFrom - now + spread
        : now < opensAt ? Math.min(opensAt - now + spread, jittered(NOT_OPEN_POLL_MS))
        : jittered(LATE_POLL_MS); // clocks differ, or it is past the planned end
    }
    if (code === "room.closed") {
      // Over or cancelled (a cancellation is not pushed): the join page says which.
      if (phase === "live") applyState("ended");
      else closeWith(strings.errors["room.closed"]);
      return false;
    }
    if (code.startsWith("join.")) {
      closeWith(errorText(strings, { code, message }, strings.errors.generic));
      return false;
    }
    return undefined; // knock again after the backoff
  }

  function frame(events) {
    const reactions = {};
    for (const [event, data] of events) {
      if (event === "reactions") {
        for (const [emoji, count] of Object.entries(data || {})) reactions[emoji] = (reactions[emoji] || 0) + (Number(count) || 0);
      } else {
        applyEvent(event, data || {});
      }
    }
    stage.reactions(reactions);
  }

  function applyEvent(event, data) {
    if (event === "state") applyState(data.state);
    else if (event === "room.settings") applySettings(data);
    else if (event.startsWith("chat.")) chat.event(event, data);
    else if (event.startsWith("qa.")) qa.event(event, data);
    else if (event.startsWith("poll.")) polls.event(event, data);
    else if (event.startsWith("stage.") || event === "attendee.state") stage.event(event, data);
    else if (event.startsWith("media.")) media.event(event, data);
  }

  function applySettings(values) {
    chat.settings(values);
    qa.settings(values);
  }

  if (phase === "waiting") tickCountdown();
  client.start();
}

// The live room for attendees (templates/public/room.html; protocol: docs/live-protocol.md).
//
// Loading the page records nothing: attendance starts here, when this script joins the
// room's WebSocket with the person's join key. Before the broadcast the page shows a
// countdown; it switches to the room by itself on a `state` event (`live`), and to a
// thank-you panel on `ended`. The connection comes back by itself (jittered exponential
// backoff) and resyncs from the last frame seen. Text from the server is only ever put in
// the page with `textContent`, never parsed as HTML.

const BACKOFF_BASE_MS = 1000;
const BACKOFF_MAX_MS = 30000;
const JITTER = 0.3; // ± 30 %
const STABLE_MS = 10000; // joined this long: the next loss starts the backoff again at 1 s
const PING_EVERY_MS = 25000;
const PING_TIMEOUT_MS = 10000;
const REPLY_TIMEOUT_MS = 15000; // a request never answered (e.g. a frame the server could not read)
const NOT_OPEN_POLL_MS = 5 * 60 * 1000; // the broadcast may start before the room opens
const MAX_WAIT_MS = 6 * 3600 * 1000; // setTimeout overflows past 24.8 days; look again later
const LATE_POLL_MS = 30000; // room should be open but is not (clock skew, late start)
const OPENING_SPREAD_MS = 15000; // everyone does not knock at the very same second
const ANNOUNCE_EVERY_MS = 5000; // at most one chat announcement per 5 s
const MAX_MESSAGES = 500;
const TERMINAL = new Set(["ended", "cancelled", "closed"]);

/** Milliseconds before reconnection attempt `attempt` (0, 1, 2…): 1 s × 2^attempt ± 30 %,
 * at most 30 s. `random` returns a number in [0, 1). */
export function backoffDelay(attempt, random = Math.random) {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt);
  return Math.round(Math.min(BACKOFF_MAX_MS, base * (1 + (random() * 2 - 1) * JITTER)));
}

function jittered(ms) {
  return Math.round(ms * (1 + (Math.random() * 2 - 1) * JITTER));
}

/** `%(name)s` placeholders filled from `values` (as text: the result goes to textContent). */
function fill(template, values) {
  return template.replace(/%\((\w+)\)s/g, (match, key) => (key in values ? String(values[key]) : match));
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
  const list = $("room-chat-list");
  const empty = $("room-chat-empty");
  const form = $("room-chat-form");
  const input = $("room-chat-text");
  const group = $("room-chat-group");
  const formMessages = $("room-chat-messages");
  const statusRegion = $("room-status");
  const newsRegion = $("room-chat-news");

  let phase = root.dataset.phase; // waiting | live | ended | cancelled | closed
  let socket = null;
  let joined = false;
  let joinedAt = 0;
  let everJoined = false;
  let attempt = 0; // reconnection attempts since the last stable connection
  let epoch = "";
  let lastSeq = 0;
  let nextId = 1;
  const pending = new Map(); // request_id -> resolve([kind, data])
  const messages = new Map(); // message id -> <li>
  const own = new Set(); // ids of messages sent from this page (not announced back)
  const timers = { retry: 0, badge: 0, ping: 0, pingDeadline: 0, countdown: 0, announce: 0 };
  let sending = false;
  let news = [];
  let lastNewsAt = 0;

  // --- Announcements (screen readers) --------------------------------------------------

  const saying = new Map(); // live region -> timer of its next text

  function say(region, text) {
    // Emptied first, filled a moment later: the same text twice is heard twice.
    window.clearTimeout(saying.get(region));
    region.textContent = "";
    saying.set(region, window.setTimeout(() => { region.textContent = text; }, 100));
  }

  function queueNews(message) {
    news.push(message);
    if (timers.announce) return;
    const wait = Math.max(0, lastNewsAt + ANNOUNCE_EVERY_MS - Date.now());
    timers.announce = window.setTimeout(flushNews, wait);
  }

  function flushNews() {
    timers.announce = 0;
    const batch = news;
    news = [];
    if (!batch.length || phase !== "live") return;
    lastNewsAt = Date.now();
    if (batch.length === 1) {
      const [{ author, text }] = batch;
      say(newsRegion, fill(strings.announce_message, { author, text: text.length > 200 ? `${text.slice(0, 200)}…` : text }));
    } else {
      const forms = strings.announce_messages;
      say(newsRegion, fill(forms[plurals.select(batch.length)] || forms.other, { count: batch.length }));
    }
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

  // --- Connection indicator ---------------------------------------------------------------

  function setBadge(kind, text) {
    badge.hidden = kind === "";
    badge.dataset.connection = kind;
    badge.className = `fr-badge fr-badge--sm antenne-room__connection${
      { connected: " fr-badge--success", reconnecting: " fr-badge--warning", connecting: " fr-badge--info" }[kind] || ""}`;
    badge.textContent = text;
  }

  // --- The WebSocket ----------------------------------------------------------------------

  function connect() {
    window.clearTimeout(timers.retry);
    window.clearInterval(timers.badge);
    if (TERMINAL.has(phase) || socket) return;
    setBadge("connecting", strings.connecting);
    const ws = new WebSocket(socketUrl);
    socket = ws;
    ws.onopen = () => join();
    ws.onmessage = (event) => receive(event.data);
    ws.onclose = () => lost();
  }

  function join() {
    const payload = { join_key: joinKey, device };
    if (epoch) Object.assign(payload, { epoch, last_seq: lastSeq });
    const ws = socket;
    call("join", payload).then(([kind, data]) => {
      if (socket !== ws) return; // this connection was lost meanwhile: `lost` took over
      if (kind === "success") joinedOk(data);
      else joinRefused(data || {});
    });
  }

  function joinedOk(data) {
    const again = everJoined;
    joined = true;
    everJoined = true;
    joinedAt = Date.now();
    setBadge("connected", strings.connected);
    if (!data.resynced) {
      // A fresh view of the room: missed frames could not be replayed.
      epoch = data.epoch;
      lastSeq = data.seq;
      if (data.snapshot) {
        renderChat(data.snapshot.chat || []);
        applyState(data.snapshot.state);
      }
    } // else: exactly the missed frames follow this reply.
    if (again && !TERMINAL.has(phase)) say(statusRegion, strings.announce_back);
    ping();
  }

  function joinRefused(error) {
    const code = error.code || "";
    if (code === "room.not_open_yet") {
      // Not yet: knock again when the room opens, spread out so that everyone does not
      // knock at once. The animator may start the broadcast a little before the room
      // opens (from `liveFrom`): meanwhile, knock now and then.
      drop();
      const now = Date.now();
      const spread = Math.random() * OPENING_SPREAD_MS;
      const delay = now < liveFrom ? liveFrom - now + spread
        : now < opensAt ? Math.min(opensAt - now + spread, jittered(NOT_OPEN_POLL_MS))
        : jittered(LATE_POLL_MS); // clocks differ, or it is past the planned end
      setBadge("waiting", fill(strings.opens_at, { time: clock.format(new Date(opensAt)) }));
      timers.retry = window.setTimeout(connect, Math.min(delay, MAX_WAIT_MS));
    } else if (code === "room.closed") {
      // Over or cancelled (a cancellation is not pushed): the join page says which.
      if (phase === "live") applyState("ended");
      else closeWith(strings.errors["room.closed"]);
    } else if (code.startsWith("join.")) {
      closeWith(strings.errors[code] || error.message || strings.errors.generic);
    } else {
      drop();
      retryLater();
    }
  }

  /** Send `[action, id, payload]`; resolves with `[kind, data]` from the reply, or with an
   * error of our own (`connection.lost`, `request.timeout`). */
  function call(action, payload) {
    const id = nextId++;
    return new Promise((resolve) => {
      if (!socket || socket.readyState !== WebSocket.OPEN) {
        resolve(["error", { code: "connection.lost" }]);
        return;
      }
      const timeout = window.setTimeout(() => {
        pending.delete(id);
        resolve(["error", { code: "request.timeout" }]);
      }, REPLY_TIMEOUT_MS);
      pending.set(id, (reply) => {
        window.clearTimeout(timeout);
        resolve(reply);
      });
      socket.send(JSON.stringify([action, id, payload]));
    });
  }

  function receive(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (!Array.isArray(message)) return;
    const [kind] = message;
    if (kind === "success" || kind === "error") {
      const resolve = pending.get(message[1]);
      if (resolve) {
        pending.delete(message[1]);
        resolve([kind, message[2]]);
      }
    } else if (kind === "frame") {
      const frame = message[1] || {};
      if (frame.epoch === epoch && frame.seq <= lastSeq) return; // seen already
      epoch = frame.epoch;
      lastSeq = frame.seq;
      for (const [event, data] of frame.events || []) applyEvent(event, data || {});
    } // "backstage" pushes are for speakers and staff; other pushes are not ours yet.
  }

  function applyEvent(event, data) {
    if (event === "chat.message" && !data.backstage) addMessage(data, true);
    else if (event === "chat.deleted") removeMessage(data.id);
    else if (event === "state") applyState(data.state);
  }

  function ping() {
    window.clearTimeout(timers.ping);
    timers.ping = window.setTimeout(() => {
      if (!joined) return;
      timers.pingDeadline = window.setTimeout(() => { drop(); lost(true); }, PING_TIMEOUT_MS);
      call("ping", {}).then(() => {
        window.clearTimeout(timers.pingDeadline);
        if (joined) ping();
      });
    }, PING_EVERY_MS);
  }

  /** Forget the current socket (closing it if need be) without reacting to its close. */
  function drop() {
    const ws = socket;
    socket = null;
    joined = false;
    window.clearTimeout(timers.ping);
    window.clearTimeout(timers.pingDeadline);
    for (const resolve of pending.values()) resolve(["error", { code: "connection.lost" }]);
    pending.clear();
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = null;
      if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN) ws.close(1000);
    }
  }

  function lost(dropped = false) {
    const wasJoined = joined || dropped;
    if (wasJoined && Date.now() - joinedAt > STABLE_MS) attempt = 0;
    drop();
    if (TERMINAL.has(phase)) return;
    if (wasJoined) say(statusRegion, strings.announce_lost);
    retryLater();
  }

  function retryLater() {
    const delay = backoffDelay(attempt++);
    const at = Date.now() + delay;
    const update = () => {
      const seconds = Math.max(0, Math.ceil((at - Date.now()) / 1000));
      setBadge("reconnecting", fill(strings.reconnecting, { seconds }));
    };
    update();
    window.clearInterval(timers.badge);
    timers.badge = window.setInterval(update, 1000);
    window.clearTimeout(timers.retry);
    timers.retry = window.setTimeout(connect, delay);
  }

  function stop() {
    drop();
    window.clearTimeout(timers.retry);
    window.clearInterval(timers.badge);
    window.clearTimeout(timers.countdown);
    setBadge("", "");
  }

  window.addEventListener("online", () => {
    if (!socket && !TERMINAL.has(phase)) connect(); // the network is back: now, not in 30 s
  });

  // --- The chat ------------------------------------------------------------------------------

  function atBottom() {
    return list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  }

  function messageItem(data) {
    const item = document.createElement("li");
    item.className = "antenne-chat__message";
    item.dataset.id = String(data.id);
    const meta = document.createElement("p");
    meta.className = "antenne-chat__meta";
    const author = document.createElement("span");
    author.className = "antenne-chat__author";
    author.textContent = String(data.author ?? strings.someone);
    meta.append(author);
    const role = strings.roles[data.role];
    if (role) {
      const roleBadge = document.createElement("span");
      roleBadge.className = "fr-badge fr-badge--sm fr-badge--blue-ecume";
      roleBadge.textContent = role;
      meta.append(" ", roleBadge);
    }
    const at = new Date(data.at);
    if (!Number.isNaN(at.getTime())) {
      const time = document.createElement("time");
      time.dateTime = at.toISOString();
      time.textContent = clock.format(at);
      meta.append(" · ", time);
    }
    const text = document.createElement("p");
    text.className = "antenne-chat__text";
    text.textContent = String(data.text ?? "");
    item.append(meta, text);
    return item;
  }

  function addMessage(data, announce) {
    if (data.id == null || messages.has(data.id)) return;
    const stick = atBottom();
    const item = messageItem(data);
    list.append(item);
    messages.set(data.id, item);
    while (messages.size > MAX_MESSAGES) {
      const [oldest, oldItem] = messages.entries().next().value;
      oldItem.remove();
      messages.delete(oldest);
    }
    empty.hidden = true;
    if (stick) list.scrollTop = list.scrollHeight;
    if (announce && !own.has(data.id)) queueNews({ author: String(data.author ?? strings.someone), text: String(data.text ?? "") });
  }

  function removeMessage(id) {
    const item = messages.get(id);
    if (!item) return;
    item.remove();
    messages.delete(id);
    empty.hidden = messages.size > 0;
  }

  function renderChat(chat) {
    list.replaceChildren();
    messages.clear();
    for (const data of chat) if (!data.backstage) addMessage(data, false);
    empty.hidden = messages.size > 0;
    list.scrollTop = list.scrollHeight;
  }

  function showFormError(text) {
    group.classList.toggle("fr-input-group--error", Boolean(text));
    input.setAttribute("aria-invalid", text ? "true" : "false");
    formMessages.replaceChildren();
    if (text) {
      const line = document.createElement("p");
      line.className = "fr-message fr-message--error";
      line.textContent = text;
      formMessages.append(line);
    }
  }

  /** What to tell the person about a refused action: our own words for the codes we know
   * (in the page's language), else the server's message. */
  function errorText(error) {
    if (error.code === "chat.slow_mode" && Number.isFinite(error.retry_after)) {
      return fill(strings.errors.slow_mode_wait, { seconds: error.retry_after });
    }
    return strings.errors[error.code] || error.message || strings.errors.generic;
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    input.focus(); // after a click on "Send" too: the next message is typed right away
    const text = input.value;
    if (!text.trim()) {
      showFormError(strings.errors["chat.empty"]);
      return;
    }
    if (sending) return;
    sending = true;
    call("chat.send", { text }).then(([kind, data]) => {
      sending = false;
      if (kind === "success") {
        if (data && data.id != null) own.add(data.id);
        if (input.value === text) input.value = "";
        showFormError("");
      } else {
        showFormError(errorText(data || {}));
      }
    });
  });

  input.addEventListener("input", () => {
    if (group.classList.contains("fr-input-group--error")) showFormError("");
  });

  if (phase === "waiting") tickCountdown();
  connect();
}

// The room's chat (templates/public/room/_chat.html): messages (drawn by ui.js's chatMessage,
// as in the console), new ones announced (at most one announcement per 5 s, a burst summed
// up), the send form and its refusals, and the room settings that concern it (closed chat,
// slow mode).

import { chatMessage, errorText, fieldMessage, fill } from "./ui.js";

const ANNOUNCE_EVERY_MS = 5000;
const MAX_MESSAGES = 500;

export function setupChat(ctx) {
  const { strings, clock, $ } = ctx;
  const list = $("room-chat-list");
  const empty = $("room-chat-empty");
  const form = $("room-chat-form");
  const fieldset = $("room-chat-fieldset");
  const input = $("room-chat-text");
  const field = { group: $("room-chat-group"), input, messages: $("room-chat-messages") };
  const closedNotice = $("room-chat-closed");
  const slowHint = $("room-chat-slow");
  const newsRegion = $("room-chat-news");
  const messages = new Map(); // message id -> <li>
  const own = new Set(); // ids of messages sent from this page (not announced back)
  let sending = false;
  const OWN_REPLY_MS = 300;
  let news = [];
  let lastNewsAt = 0;
  let newsTimer = 0;

  function queueNews(message) {
    news.push(message);
    if (newsTimer) return;
    // A short wait at least: the reply to this page's own send may follow its frame.
    const wait = Math.max(OWN_REPLY_MS, lastNewsAt + ANNOUNCE_EVERY_MS - Date.now());
    newsTimer = window.setTimeout(flushNews, wait);
  }

  function flushNews() {
    newsTimer = 0;
    const batch = news.filter((message) => !own.has(message.id));
    news = [];
    if (!batch.length || !ctx.isLive()) return;
    lastNewsAt = Date.now();
    if (batch.length === 1) {
      const [{ author, text }] = batch;
      ctx.say(newsRegion, fill(strings.announce_message, { author, text: text.length > 200 ? `${text.slice(0, 200)}…` : text }));
    } else {
      ctx.say(newsRegion, fill(ctx.plural(strings.announce_messages, batch.length), { count: batch.length }));
    }
  }

  function atBottom() {
    return list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  }

  function add(data, announce) {
    if (data.id == null || messages.has(data.id)) return;
    const stick = atBottom();
    const item = chatMessage(data, { strings, clock });
    list.append(item);
    messages.set(data.id, item);
    while (messages.size > MAX_MESSAGES) {
      const [oldest, oldItem] = messages.entries().next().value;
      oldItem.remove();
      messages.delete(oldest);
    }
    empty.hidden = true;
    if (stick) list.scrollTop = list.scrollHeight;
    if (announce && !own.has(data.id)) {
      queueNews({ id: data.id, author: String(data.author ?? strings.someone), text: String(data.text ?? "") });
      ctx.markNew("chat");
    }
  }

  function remove(id) {
    const item = messages.get(id);
    if (!item) return;
    item.remove();
    messages.delete(id);
    empty.hidden = messages.size > 0;
  }

  function render(chat) {
    list.replaceChildren();
    messages.clear();
    for (const data of chat) if (!data.backstage) add(data, false);
    empty.hidden = messages.size > 0;
    list.scrollTop = list.scrollHeight;
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    input.focus(); // after a click on "Send" too: the next message is typed right away
    const text = input.value;
    if (!text.trim()) {
      fieldMessage(field, strings.errors["chat.empty"]);
      return;
    }
    if (sending) return;
    sending = true;
    ctx.client.call("chat.send", { text }).then((data) => {
      if (data.id != null) own.add(data.id);
      if (input.value === text) input.value = "";
      fieldMessage(field, "");
      ctx.setMuted(false);
    }, (error) => {
      if (error.code === "room.muted") ctx.setMuted(true);
      if (error.code === "chat.disabled") settings({ chat_enabled: false });
      fieldMessage(field, errorText(strings, error, strings.errors.generic));
    }).finally(() => { sending = false; });
  });

  input.addEventListener("input", () => {
    if (field.group.classList.contains("fr-input-group--error")) fieldMessage(field, "");
  });

  /** `room.settings` (or the join reply's): a closed chat disables the form and says so. */
  function settings(values) {
    if ("chat_enabled" in values) {
      const closed = values.chat_enabled === false;
      const hadFocus = fieldset.contains(document.activeElement);
      closedNotice.hidden = !closed;
      fieldset.disabled = closed;
      if (closed && hadFocus) list.focus();
    }
    if ("slow_mode_seconds" in values) {
      const seconds = Number(values.slow_mode_seconds) || 0;
      slowHint.hidden = seconds <= 0;
      slowHint.textContent = seconds > 0 ? fill(strings.slow_mode, { seconds }) : "";
    }
  }

  function event(name, data) {
    if (name === "chat.message" && !data.backstage) add(data, true);
    else if (name === "chat.deleted") remove(data.id);
  }

  return { render, event, settings };
}

// The console's two chats: backstage (speakers and staff only) and the room's chat.
//
// Messages are kept by id. Staff get an attendee's message twice when the room hides names:
// the public copy (no author) in the room's frame, then a named copy (author and registration
// id) backstage; the named copy replaces the public one in place, and a public copy never
// replaces a named one. Staff may delete any message (`chat.delete`).

import { chatMessage, errorText, fieldMessage, fill, showMessage } from "./ui.js";

const MAX_MESSAGES = 500;

/** Whether `data` names its author: a speaker's or staff's message always does; an attendee's
 * when it carries the registration (staff's copy) or an author (the room shows names). */
function named(data) {
  return data.role !== "attendee" || data.registration_id != null || data.author != null;
}

export function createChat(ctx) {
  const { strings, staff, clock } = ctx;
  const $ = (id) => document.getElementById(id);
  const panels = {
    backstage: { list: $("console-backstage-list"), empty: $("console-backstage-empty") },
    chat: { list: $("console-chat-list"), empty: $("console-chat-empty") },
  };
  const messages = new Map(); // id -> {item, data, panel}
  const own = new Set(); // ids of messages sent from this page (not announced back)

  function authorOf(data) {
    return String(data.author ?? strings.someone);
  }

  // Staff see who an attendee is and may delete any message.
  function itemFor(data) {
    return chatMessage(data, { strings, clock, registration: staff, onDelete: staff ? deleteMessage : null });
  }

  function atBottom(list) {
    return list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  }

  /** A message from the snapshot or an event; `announce`: say new backstage messages. */
  function add(data, announce = false) {
    if (data.id == null) return;
    const name = data.backstage ? "backstage" : "chat";
    const panel = panels[name];
    const known = messages.get(data.id);
    if (known) {
      if (named(known.data) && !named(data)) return; // never lose the name staff had
      const item = itemFor(data);
      known.item.replaceWith(item);
      messages.set(data.id, { item, data, panel: name });
      return;
    }
    const stick = atBottom(panel.list);
    const item = itemFor(data);
    panel.list.append(item);
    messages.set(data.id, { item, data, panel: name });
    if (messages.size > MAX_MESSAGES) {
      const [oldest, entry] = messages.entries().next().value;
      entry.item.remove();
      messages.delete(oldest);
    }
    panel.empty.hidden = true;
    if (stick) panel.list.scrollTop = panel.list.scrollHeight;
    if (announce && !own.has(data.id)) ctx.notify(name);
    if (announce && data.backstage && !own.has(data.id)) {
      const text = String(data.text ?? "");
      ctx.news(fill(strings.announce.backstage, {
        author: authorOf(data),
        text: text.length > 200 ? `${text.slice(0, 200)}…` : text,
      }));
    }
  }

  function removed(id) {
    const known = messages.get(id);
    if (!known) return;
    const panel = panels[known.panel];
    const hadFocus = known.item.contains(document.activeElement);
    known.item.remove();
    messages.delete(id);
    panel.empty.hidden = [...messages.values()].some((m) => m.panel === known.panel);
    if (hadFocus) panel.list.focus();
  }

  /** The join snapshot's last messages (backstage ones included): a fresh view. */
  function render(chat) {
    for (const panel of Object.values(panels)) panel.list.replaceChildren();
    messages.clear();
    for (const data of chat) add(data);
    for (const panel of Object.values(panels)) {
      panel.empty.hidden = panel.list.children.length > 0;
      panel.list.scrollTop = panel.list.scrollHeight;
    }
  }

  function deleteMessage(data) {
    const group = $(data.backstage ? "console-backstage-messages" : "console-chat-messages");
    ctx.client.call("chat.delete", { message_id: data.id }).then(
      () => removed(data.id), // the event follows; the page need not wait for it
      (error) => showMessage(group, errorText(strings, error)),
    );
  }

  function wire(formId, backstage) {
    const form = $(formId);
    const input = form.querySelector("input[name=text]");
    const field = { group: input.closest(".fr-input-group"), input, messages: form.querySelector(".fr-messages-group") };
    const setError = (text) => fieldMessage(field, text);
    let sending = false;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      input.focus();
      const text = input.value;
      if (!text.trim()) {
        setError(strings.errors["chat.empty"]);
        return;
      }
      if (sending) return;
      sending = true;
      const payload = backstage ? { text, backstage: true } : { text };
      ctx.client.call("chat.send", payload).then(
        (data) => {
          sending = false;
          if (data.id != null) own.add(data.id);
          if (input.value === text) input.value = "";
          setError("");
        },
        (error) => {
          sending = false;
          setError(errorText(strings, error));
        },
      );
    });
    input.addEventListener("input", () => {
      if (field.group.classList.contains("fr-input-group--error")) setError("");
    });
  }

  wire("console-backstage-form", true);
  wire("console-chat-form", false);
  return { add, removed, render };
}

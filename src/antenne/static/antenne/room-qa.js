// The room's questions (templates/public/room/_qa.html): ask (optionally anonymously), the
// list most upvoted first (open ones before answered ones), one upvote per person and never
// for one's own question. Events: `qa.question`, `qa.votes`, `qa.state`; the join snapshot's
// `qa`. Questions are text: only ever put in the page with textContent.

import { el, errorText, fieldMessage, fill } from "./ui.js";

const MAX_QUESTIONS = 300;

export function setupQa(ctx) {
  const { strings, clock, $ } = ctx;
  const list = $("room-qa-list");
  const empty = $("room-qa-empty");
  const form = $("room-qa-form");
  const fieldset = $("room-qa-fieldset");
  const input = $("room-qa-text");
  const anonymous = $("room-qa-anonymous");
  const field = { group: $("room-qa-group"), input, messages: $("room-qa-messages") };
  const closedNotice = $("room-qa-closed");
  const feedback = $("room-qa-feedback");
  const questions = new Map(); // id -> {data, item}
  const voted = new Set(); // ids upvoted by this person
  const own = new Set(); // ids asked by this person (from this page, or the join snapshot)
  let showNames = false;
  let asking = false;

  /** The author in the page's language where the server wrote a label ("Anonymous",
   * "Attendee") in the asker's. */
  function author(data) {
    if (data.anonymous) return strings.anonymous;
    if (data.role === "attendee" && !showNames) return strings.someone;
    return data.author ?? strings.someone;
  }

  function rank(a, b) {
    const answered = (q) => (q.state === "answered" ? 1 : 0);
    return answered(a) - answered(b) || (b.votes || 0) - (a.votes || 0) || a.id - b.id;
  }

  function questionItem(data) {
    const textId = `room-qa-text-${data.id}`;
    const meta = el("p", { className: "antenne-qa__meta" }, el("span", { className: "antenne-qa__author", text: author(data) }));
    const role = strings.roles[data.role];
    if (role && !data.anonymous) meta.append(" ", el("span", { className: "fr-badge fr-badge--sm fr-badge--blue-ecume", text: role }));
    if (data.state === "answered") {
      meta.append(" ", el("span", { className: "fr-badge fr-badge--sm fr-badge--success", text: strings.answered }));
    }
    const at = new Date(data.at);
    if (!Number.isNaN(at.getTime())) meta.append(" · ", el("time", { text: clock.format(at), attrs: { datetime: at.toISOString() } }));
    const count = Number(data.votes) || 0;
    const footer = el("p", { className: "antenne-qa__footer" },
      el("span", { className: "antenne-qa__votes", text: fill(ctx.plural(strings.votes, count), { count }) }));
    if (own.has(data.id)) {
      footer.append(el("span", { className: "fr-badge fr-badge--sm", text: strings.own_question }));
    } else if (data.state === "open") {
      const done = voted.has(data.id);
      const button = el("button", {
        className: "fr-btn fr-btn--sm fr-btn--tertiary fr-icon-thumb-up-line fr-btn--icon-left antenne-qa__upvote",
        text: done ? strings.upvoted : strings.upvote,
        attrs: { type: "button", "aria-describedby": textId, disabled: done },
      });
      button.addEventListener("click", () => upvote(data.id));
      footer.append(button);
    }
    return el("li", { className: "antenne-qa__item", attrs: { "data-id": data.id, "data-state": data.state, tabindex: "-1" } },
      meta, el("p", { className: "antenne-qa__text", text: data.text ?? "", attrs: { id: textId } }), footer);
  }

  /** Re-render one question (or all), then put the list in order, keeping the focus. */
  function refresh(ids) {
    const active = document.activeElement;
    const focusedId = active && list.contains(active) ? active.closest("li")?.dataset.id : null;
    const focusWasButton = active && active.tagName === "BUTTON";
    for (const id of ids) {
      const entry = questions.get(id);
      if (!entry) continue;
      const item = questionItem(entry.data);
      if (entry.item) entry.item.replaceWith(item);
      entry.item = item;
    }
    const ordered = [...questions.values()].sort((a, b) => rank(a.data, b.data));
    ordered.forEach(({ item }, index) => {
      if (list.children[index] !== item) list.insertBefore(item, list.children[index] || null);
    });
    empty.hidden = questions.size > 0;
    if (focusedId != null) {
      const entry = questions.get(Number(focusedId));
      const button = entry?.item.querySelector("button:not([disabled])");
      if (entry) (focusWasButton && button ? button : entry.item).focus();
    }
  }

  function put(data) {
    if (data.id == null) return;
    if (data.state === "dismissed") {
      drop(data.id);
      return;
    }
    const entry = questions.get(data.id) || { data, item: null };
    entry.data = { ...entry.data, ...data };
    questions.set(data.id, entry);
    while (questions.size > MAX_QUESTIONS) {
      const last = [...questions.values()].sort((a, b) => rank(a.data, b.data)).pop();
      drop(last.data.id);
    }
    refresh([data.id]);
  }

  function drop(id) {
    const entry = questions.get(id);
    if (!entry) return;
    if (entry.item && entry.item.contains(document.activeElement)) list.focus();
    entry.item?.remove();
    questions.delete(id);
    empty.hidden = questions.size > 0;
  }

  function upvote(id) {
    ctx.client.call("qa.upvote", { question_id: id }).then((data) => {
      voted.add(id);
      const entry = questions.get(id);
      if (entry) entry.data.votes = data.votes ?? entry.data.votes;
      refresh([id]);
      ctx.say(feedback, strings.upvoted);
    }, (error) => {
      if (error.code === "qa.already_voted") voted.add(id);
      if (error.code === "qa.own_question") own.add(id);
      refresh([id]);
      ctx.say(feedback, errorText(strings, error));
    });
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value;
    if (!text.trim()) {
      fieldMessage(field, strings.errors["qa.empty"]);
      input.focus();
      return;
    }
    if (asking) return;
    asking = true;
    ctx.client.call("qa.ask", { text, anonymous: anonymous.checked }).then((data) => {
      own.add(data.id);
      if (questions.has(data.id)) refresh([data.id]);
      if (input.value === text) input.value = "";
      fieldMessage(field, strings.question_sent, { valid: true });
      ctx.setMuted(false);
      input.focus();
    }, (error) => {
      if (error.code === "room.muted") ctx.setMuted(true);
      if (error.code === "qa.disabled") settings({ questions_enabled: false });
      fieldMessage(field, errorText(strings, error));
      if (!fieldset.disabled) input.focus();
    }).finally(() => { asking = false; });
  });

  input.addEventListener("input", () => {
    if (field.messages.childElementCount) fieldMessage(field, "");
  });

  function settings(values) {
    if ("show_attendee_names" in values) {
      const changed = showNames !== Boolean(values.show_attendee_names);
      showNames = Boolean(values.show_attendee_names);
      if (changed) refresh([...questions.keys()]);
    }
    if ("questions_enabled" in values) {
      const closed = values.questions_enabled === false;
      const hadFocus = fieldset.contains(document.activeElement);
      closedNotice.hidden = !closed;
      fieldset.disabled = closed;
      if (closed && hadFocus) list.focus();
    }
  }

  function snapshot(qa) {
    if (!qa) return;
    for (const entry of questions.values()) entry.item?.remove();
    questions.clear();
    voted.clear();
    for (const id of qa.voted || []) voted.add(id);
    // Asked before a reload or from another tab: no upvote offered (the server refuses it).
    for (const id of qa.own || []) own.add(id);
    for (const data of qa.questions || []) {
      if (data.state !== "dismissed" && data.id != null) questions.set(data.id, { data, item: null });
    }
    refresh([...questions.keys()]);
    if ("enabled" in qa) settings({ questions_enabled: qa.enabled });
  }

  function event(name, data) {
    if (name === "qa.question") {
      const isNew = !questions.has(data.id);
      put(data);
      if (isNew && data.state === "open" && !own.has(data.id)) ctx.markNew("qa");
    } else if (name === "qa.votes") {
      const entry = questions.get(data.id);
      if (entry && Number.isFinite(data.votes)) put({ id: data.id, votes: data.votes });
    } else if (name === "qa.state") {
      if (questions.has(data.id) || data.state === "dismissed") put({ id: data.id, state: data.state });
    }
  }

  return { snapshot, event, settings };
}

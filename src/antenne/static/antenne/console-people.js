// The console's people list (`people.list`: one row per open connection) and raised-hands
// queue (`hand.raised` / `hand.lowered` backstage events, seeded by the people list on each
// join and refresh). Staff act on attendees: mute or unmute, lower a hand, invite on stage or
// remove from it. Speakers see both read-only.
//
// The list is refreshed by its button, every `data-people-refresh` seconds while the page is
// visible, and shortly after a backstage event says someone's state changed.

import { badge, button, el, errorText, fill, keepingFocus, plural, showMessage, timeOf } from "./console-util.js";

const SOON_MS = 600; // several events in a row: one refresh

export function createPeople(ctx) {
  const { strings, staff, clock, plurals } = ctx;
  const $ = (id) => document.getElementById(id);
  const list = $("console-people-list");
  const summary = $("console-people-summary");
  const updated = $("console-people-updated");
  const messages = $("console-people-messages");
  const refreshButton = $("console-people-refresh");
  const handsList = $("console-hands-list");
  const handsEmpty = $("console-hands-empty");
  const handsCount = $("console-hands-count");
  const every = Number(ctx.root.dataset.peopleRefresh || 15) * 1000;
  const hands = new Map(); // registration id -> {name, at (ms)}
  let people = [];
  let loading = false;
  let again = false;
  let soon = 0;

  const nameOf = (person) => String(person.name ?? (person.role === "speaker" ? strings.unnamed_speaker : strings.someone));

  // --- Actions (staff) ------------------------------------------------------------------------

  function act(action, person, done) {
    ctx.client.call(action, { registration_id: person.registration_id }).then(
      () => {
        if (done) showMessage(messages, fill(done, { name: nameOf(person) }), "valid");
        else showMessage(messages, "");
        refresh();
      },
      (error) => showMessage(messages, errorText(strings, error)),
    );
  }

  function actionsFor(person, { inQueue = false } = {}) {
    const name = nameOf(person);
    const a = strings.actions;
    const out = [];
    // `slot`: a toggle keeps its slot (mute / unmute), so that the focus stays on it when the
    // list is drawn again after the action.
    const add = (slot, action, text, label, done) => out.push(button(text, {
      label: fill(label, { name }), action: slot, onClick: () => act(action, person, done),
    }));
    if (person.hand_raised_at || inQueue) add("hand", "hand.lower_for", a.lower_hand, a.lower_hand_label);
    if (!person.stage) add("stage", "stage.invite", a.invite, a.invite_label, strings.done.invited);
    else if (person.stage === "accepted") add("stage", "stage.remove", a.remove, a.remove_label);
    else add("stage", "stage.remove", a.withdraw, a.withdraw_label);
    if (!inQueue) {
      if (person.muted) add("mute", "chat.unmute", a.unmute, a.unmute_label, strings.done.unmuted);
      else add("mute", "chat.mute", a.mute, a.mute_label, strings.done.muted);
    }
    return out;
  }

  // --- The people list -------------------------------------------------------------------------

  function personItem(person) {
    const item = el("li", "antenne-console__card");
    item.dataset.id = String(person.presence_id);
    const head = el("p", "antenne-console__card-head");
    head.append(el("span", "antenne-chat__author", nameOf(person)), " ", badge(strings.roles[person.role] || person.role, person.role === "attendee" ? "" : "blue-ecume"));
    head.append(" ", el("span", "antenne-console__muted", strings.devices[person.device] || person.device));
    const status = el("p", "antenne-console__badges");
    if (person.hand_raised_at) status.append(badge(fill(strings.hand_since, { time: timeOf(clock, person.hand_raised_at) }), "new"));
    if (person.muted) status.append(badge(strings.muted, "warning"));
    if (person.stage) status.append(badge(strings.stage_states[person.stage] || person.stage, "success"));
    item.append(head);
    if (status.children.length) item.append(status);
    if (staff && person.role === "attendee" && person.registration_id != null) {
      const actions = el("div", "antenne-console__actions");
      actions.append(...actionsFor(person));
      item.append(actions);
    }
    return item;
  }

  function renderPeople(reply) {
    people = reply.people || [];
    keepingFocus(list, () => list.replaceChildren(...people.map(personItem)));
    let text = plural(strings.people_count, people.length, plurals);
    if (reply.truncated) text += ` ${fill(strings.people_truncated, { count: people.length })}`;
    summary.textContent = text;
    updated.textContent = fill(strings.people_updated, { time: clock.format(new Date()) });
    // The list is the truth about hands: the queue follows it (a hand goes down with the
    // last connection it was raised on).
    hands.clear();
    for (const person of people) {
      if (!person.hand_raised_at || person.registration_id == null) continue;
      const at = new Date(person.hand_raised_at).getTime();
      const known = hands.get(person.registration_id);
      if (!known || at < known.at) hands.set(person.registration_id, { name: person.name, at });
    }
    renderHands();
  }

  function refresh() {
    if (!ctx.client.joined) return;
    if (loading) {
      again = true;
      return;
    }
    loading = true;
    refreshButton.disabled = true;
    ctx.client.call("people.list", {}).then(
      (reply) => renderPeople(reply),
      (error) => showMessage(messages, errorText(strings, error)),
    ).finally(() => {
      loading = false;
      refreshButton.disabled = false;
      if (again) {
        again = false;
        refresh();
      }
    });
  }

  function refreshSoon() {
    window.clearTimeout(soon);
    soon = window.setTimeout(refresh, SOON_MS);
  }

  refreshButton.addEventListener("click", refresh);
  window.setInterval(() => {
    if (document.visibilityState === "visible") refresh();
  }, every);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") refresh();
  });

  // --- The raised hands ------------------------------------------------------------------------

  function personOf(registrationId) {
    const rows = people.filter((p) => p.registration_id === registrationId);
    const row = rows[0] || { registration_id: registrationId, role: "attendee", stage: null, muted: false };
    return { ...row, name: hands.get(registrationId)?.name ?? row.name };
  }

  function renderHands() {
    const queue = [...hands.entries()].sort((a, b) => a[1].at - b[1].at);
    keepingFocus(handsList, () => handsList.replaceChildren(...queue.map(([id, hand]) => {
      const item = el("li", "antenne-console__card");
      item.dataset.id = String(id);
      const head = el("p", "antenne-console__card-head");
      head.append(el("span", "antenne-chat__author", String(hand.name ?? strings.someone)));
      head.append(" ", el("span", "antenne-console__muted", clock.format(new Date(hand.at))));
      item.append(head);
      if (staff) {
        const actions = el("div", "antenne-console__actions");
        actions.append(...actionsFor(personOf(id), { inQueue: true }));
        item.append(actions);
      }
      return item;
    })));
    handsEmpty.hidden = queue.length > 0;
    handsCount.textContent = String(queue.length);
  }

  function handRaised(data) {
    if (data.registration_id == null) return;
    if (!hands.has(data.registration_id)) {
      hands.set(data.registration_id, { name: data.name, at: Date.now() });
      renderHands();
      ctx.news(fill(strings.announce.hand_raised, { name: String(data.name ?? strings.someone) }));
    }
    refreshSoon();
  }

  function handLowered(data) {
    if (hands.delete(data.registration_id)) {
      renderHands();
      ctx.news(fill(strings.announce.hand_lowered, { name: String(data.name ?? strings.someone) }));
    }
    refreshSoon();
  }

  renderHands();
  return { refresh, refreshSoon, handRaised, handLowered };
}

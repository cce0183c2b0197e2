// The console's people list (`people.list`: one row per open connection) and raised-hands
// queue (`hand.raised` / `hand.lowered` backstage events, seeded by the people list on each
// join and refresh). Staff act on attendees: mute or unmute, lower a hand, invite on stage or
// remove from it; on telephone callers (`phone` on their row: masked number, floor), give
// them the floor or take it back (`phone.floor`). Speakers see both read-only.
//
// The list is refreshed by its button, every `data-people-refresh` seconds while the page is
// visible, and shortly after a backstage event says someone's state changed.

import { badge, button, el, errorText, fill, keepingFocus, plural, showMessage, timeOf } from "./ui.js";

const SOON_MS = 600; // several events in a row: one refresh

export function createPeople(ctx) {
  const { strings, staff, clock, plurals } = ctx;
  const $ = (id) => document.getElementById(id);
  const list = $("console-people-list");
  const summary = $("console-people-summary");
  const updated = $("console-people-updated");
  const messages = $("console-people-messages");
  const refreshButton = $("console-people-refresh");
  const backstagePeople = $("console-backstage-people");
  const handsList = $("console-hands-list");
  const handsEmpty = $("console-hands-empty");
  const handsCount = $("console-hands-count");
  const every = Number(ctx.root.dataset.peopleRefresh || 15) * 1000;
  // The phone texts come with the panel (its data-phone-* attributes, in the page's language).
  const phoneText = $("console-people").dataset;
  const hands = new Map(); // handKey -> {name, at (ms)}
  let people = [];
  let loading = false;
  let again = false;
  let soon = 0;

  // A caller without a personal PIN has no name: their masked number stands for it.
  const nameOf = (person) => String(person.name ?? person.phone?.number ?? (person.role === "speaker" ? strings.unnamed_speaker : strings.someone));
  // A hand is one per person: a registrant's, whatever their connections; a caller without a
  // registration is known by their connection.
  const handKey = (person) => (person.registration_id != null ? `r${person.registration_id}` : person.presence_id != null ? `p${person.presence_id}` : null);

  // --- Actions (staff) ------------------------------------------------------------------------

  function act(action, person, done, payload = { registration_id: person.registration_id }) {
    ctx.client.call(action, payload).then(
      () => {
        if (done) showMessage(messages, fill(done, { name: nameOf(person) }), "valid");
        else showMessage(messages, "");
        refresh();
      },
      (error) => showMessage(messages, errorText(strings, error)),
    );
  }

  function phoneActions(person, { inQueue = false } = {}) {
    const name = nameOf(person);
    const out = [];
    if (person.registration_id != null && (person.hand_raised_at || inQueue)) {
      out.push(button(strings.actions.lower_hand, {
        label: fill(strings.actions.lower_hand_label, { name }), action: "hand", onClick: () => act("hand.lower_for", person),
      }));
    }
    const floor = Boolean(person.phone?.floor);
    out.push(button(floor ? phoneText.phoneTake : phoneText.phoneGive, {
      label: fill(floor ? phoneText.phoneTakeLabel : phoneText.phoneGiveLabel, { name }),
      action: "floor",
      kind: floor ? "secondary" : "tertiary",
      onClick: () => act("phone.floor", person, floor ? phoneText.phoneTaken : phoneText.phoneGiven, {
        presence_id: person.presence_id, floor: !floor,
      }),
    }));
    return out;
  }

  function actionsFor(person, { inQueue = false } = {}) {
    if (person.phone) return phoneActions(person, { inQueue });
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
    else if (person.stage === "accepted") add("stage", "stage.remove", a.remove, a.remove_label, strings.done.removed);
    else add("stage", "stage.remove", a.withdraw, a.withdraw_label, strings.done.withdrawn);
    if (!inQueue) {
      if (person.muted) add("mute", "chat.unmute", a.unmute, a.unmute_label, strings.done.unmuted);
      else add("mute", "chat.mute", a.mute, a.mute_label, strings.done.muted);
    }
    return out;
  }

  // --- The people list -------------------------------------------------------------------------

  function personItem(person) {
    const item = el("li", { className: "antenne-console__card" });
    item.dataset.id = String(person.presence_id);
    const head = el("p", { className: "antenne-console__card-head" });
    head.append(el("span", { className: "antenne-chat__author", text: nameOf(person) }), " ", badge(strings.roles[person.role] || person.role, person.role === "attendee" ? "" : "blue-ecume"));
    if (person.phone) {
      const by = el("span", { className: "antenne-console__muted antenne-console__phone" });
      const icon = el("span", { className: "fr-icon-phone-line fr-icon--sm" });
      icon.setAttribute("aria-hidden", "true");
      by.append(icon, " ", phoneText.phoneBy);
      head.append(" ", by);
      // The masked number, when the name is shown instead of it.
      if (person.name != null) head.append(" ", el("span", { className: "antenne-console__muted", text: person.phone.number }));
    } else {
      head.append(" ", el("span", { className: "antenne-console__muted", text: strings.devices[person.device] || person.device }));
    }
    const status = el("p", { className: "antenne-console__badges" });
    if (person.phone?.floor) status.append(badge(phoneText.phoneFloor, "success"));
    if (person.hand_raised_at) status.append(badge(fill(strings.hand_since, { time: timeOf(clock, person.hand_raised_at) }), "new"));
    if (person.muted) status.append(badge(strings.muted, "warning"));
    if (person.stage) status.append(badge(strings.stage_states[person.stage] || person.stage, "success"));
    item.append(head);
    if (status.children.length) item.append(status);
    if (staff && person.role === "attendee" && (person.registration_id != null || person.phone)) {
      const actions = el("div", { className: "antenne-console__actions" });
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
    // Who is backstage (speakers and organisers connected), for the backstage tab.
    const backstage = [...new Set(people.filter((p) => p.role !== "attendee").map((p) => `${nameOf(p)} (${strings.roles[p.role] || p.role})`))];
    backstagePeople.textContent = backstage.length ? backstage.join(", ") : strings.backstage_nobody;
    updated.textContent = fill(strings.people_updated, { time: clock.format(new Date()) });
    // The list is the truth about hands: the queue follows it (a hand goes down with the
    // last connection it was raised on).
    hands.clear();
    for (const person of people) {
      const key = handKey(person);
      if (!person.hand_raised_at || key == null || person.role !== "attendee") continue;
      const at = new Date(person.hand_raised_at).getTime();
      const known = hands.get(key);
      if (!known || at < known.at) hands.set(key, { name: nameOf(person), at });
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

  function personOf(key, event = null) {
    // A registrant's browser row first (their hand is the person's), else their call's.
    const rows = people.filter((p) => handKey(p) === key).sort((a, b) => Boolean(a.phone) - Boolean(b.phone));
    const row = rows[0] || event || { role: "attendee", stage: null, muted: false };
    return { ...row, name: row.name ?? null };
  }

  function renderHands() {
    const queue = [...hands.entries()].sort((a, b) => a[1].at - b[1].at);
    keepingFocus(handsList, () => handsList.replaceChildren(...queue.map(([key, hand]) => {
      const item = el("li", { className: "antenne-console__card" });
      item.dataset.id = key;
      const person = personOf(key, hand.event);
      const head = el("p", { className: "antenne-console__card-head" });
      head.append(el("span", { className: "antenne-chat__author", text: String(hand.name ?? strings.someone) }));
      if (person.phone) head.append(" ", el("span", { className: "antenne-console__muted", text: phoneText.phoneBy }));
      head.append(" ", el("span", { className: "antenne-console__muted", text: clock.format(new Date(hand.at)) }));
      item.append(head);
      if (staff) {
        const actions = el("div", { className: "antenne-console__actions" });
        actions.append(...actionsFor(person, { inQueue: true }));
        item.append(actions);
      }
      return item;
    })));
    handsEmpty.hidden = queue.length > 0;
    handsCount.textContent = String(queue.length);
  }

  // A caller's hand comes with `presence_id` and `phone` `{number}` (and without a name nor
  // a registration when they typed the session's PIN).
  const eventPerson = (data) => ({
    registration_id: data.registration_id ?? null,
    presence_id: data.presence_id ?? null,
    name: data.name ?? null,
    role: "attendee",
    stage: null,
    muted: false,
    phone: data.phone ? { number: data.phone.number, floor: false } : null,
  });

  function handRaised(data) {
    const person = eventPerson(data);
    const key = handKey(person);
    if (key == null) return;
    if (!hands.has(key)) {
      hands.set(key, { name: nameOf(person), at: Date.now(), event: person });
      renderHands();
      ctx.notify("people");
      ctx.news(fill(strings.announce.hand_raised, { name: nameOf(person) }));
    }
    refreshSoon();
  }

  function handLowered(data) {
    const person = eventPerson(data);
    const key = handKey(person);
    if (key != null && hands.delete(key)) {
      renderHands();
      ctx.news(fill(strings.announce.hand_lowered, { name: nameOf(person) }));
    }
    refreshSoon();
  }

  renderHands();
  return { refresh, refreshSoon, handRaised, handLowered };
}

// The console's Q&A: questions kept by id, most upvoted first (dismissed ones last, for
// staff only). A question reaches staff twice: the public copy in the room's frame, then the
// staff copy backstage with the asker's name even when they asked anonymously; the named copy
// wins, and a later public copy only updates votes and state. Speakers get the public copy
// only: an anonymous asker stays anonymous to them. Staff mark questions answered, dismiss
// or reopen them; speakers read.

import { badge, button, el, errorText, keepingFocus, plural, showMessage } from "./ui.js";

const RANK = { open: 0, answered: 1, dismissed: 2 };
const STATE_BADGE = { open: "info", answered: "success", dismissed: "" };

export function createQa(ctx) {
  const { strings, staff, plurals } = ctx;
  const list = document.getElementById("console-qa-list");
  const empty = document.getElementById("console-qa-empty");
  const messages = document.getElementById("console-qa-messages");
  const questions = new Map(); // id -> {data, named}
  let pending = 0;

  function setState(id, action) {
    ctx.client.call(action, { question_id: id }).then(
      (reply) => {
        showMessage(messages, "");
        update(id, { state: reply.state });
      },
      (error) => showMessage(messages, errorText(strings, error)),
    );
  }

  function itemFor({ data }) {
    const item = el("li", { className: `antenne-console__card antenne-console__card--${data.state}` });
    item.dataset.id = String(data.id);
    item.append(el("p", { className: "antenne-console__question", text: data.text ?? "" }));
    const meta = el("p", { className: "antenne-console__badges" });
    meta.append(el("span", { className: "antenne-chat__author", text: String(data.author ?? strings.someone) }));
    const role = data.role && data.role !== "attendee" ? strings.roles[data.role] : "";
    if (role) meta.append(badge(role, "blue-ecume"));
    if (staff && data.anonymous) meta.append(badge(strings.asked_anonymously, "purple-glycine"));
    meta.append(badge(plural(strings.votes, data.votes || 0, plurals)));
    meta.append(badge(strings.question_states[data.state] || data.state, STATE_BADGE[data.state]));
    item.append(meta);
    if (staff) {
      const a = strings.actions;
      const actions = el("div", { className: "antenne-console__actions" });
      if (data.state === "open") actions.append(button(a.answer, { action: "qa.answer", kind: "secondary", onClick: () => setState(data.id, "qa.answer") }));
      if (data.state !== "open") actions.append(button(a.reopen, { action: "qa.reopen", onClick: () => setState(data.id, "qa.reopen") }));
      if (data.state !== "dismissed") actions.append(button(a.dismiss, { action: "qa.dismiss", onClick: () => setState(data.id, "qa.dismiss") }));
      item.append(actions);
    }
    return item;
  }

  function draw() {
    pending = 0;
    const shown = [...questions.values()]
      .filter(({ data }) => staff || data.state !== "dismissed")
      .sort((a, b) => (RANK[a.data.state] ?? 3) - (RANK[b.data.state] ?? 3)
        || (b.data.votes || 0) - (a.data.votes || 0) || a.data.id - b.data.id);
    keepingFocus(list, () => list.replaceChildren(...shown.map(itemFor)));
    empty.hidden = shown.length > 0;
  }

  /** One redraw per animation frame, whatever the number of events in a frame. */
  function redraw() {
    if (!pending) pending = window.requestAnimationFrame(draw);
  }

  /** A whole question; `named`: the staff copy (backstage, or staff's snapshot). */
  function upsert(data, named) {
    if (data.id == null) return;
    const known = questions.get(data.id);
    if (!known) ctx.notify("qa");
    if (known && known.named && !named) {
      known.data = { ...known.data, votes: data.votes, state: data.state };
    } else {
      questions.set(data.id, { data, named });
    }
    redraw();
  }

  function update(id, changes) {
    const known = questions.get(id);
    if (!known) return;
    known.data = { ...known.data, ...changes };
    redraw();
  }

  function render(snapshot) {
    questions.clear();
    for (const data of snapshot.questions || []) questions.set(data.id, { data, named: staff });
    draw();
  }

  return { upsert, votes: (d) => update(d.id, { votes: d.votes }), state: (d) => update(d.id, { state: d.state }), render };
}

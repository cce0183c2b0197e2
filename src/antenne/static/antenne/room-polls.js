// The room's polls (templates/public/room/_polls.html): the open ones to answer (radio
// buttons, or checkboxes when `multiple`), "vote recorded", and the results as bars with
// their percentages in text, live (`poll.results`, when the poll shows them) or at the close
// (`poll.closed`). A newly opened poll is announced. Newest first. Events: `poll.opened`,
// `poll.results`, `poll.closed`; the join snapshot's `polls`.

import { el, errorText, fill } from "./ui.js";

const MAX_POLLS = 20;

export function setupPolls(ctx) {
  const { strings, $ } = ctx;
  const list = $("room-polls-list");
  const empty = $("room-polls-empty");
  const percent = new Intl.NumberFormat(ctx.lang, { style: "percent", maximumFractionDigits: 0 });
  const polls = new Map(); // id -> {data, voted: [indexes] | null, card, form}

  function resultsBlock(entry) {
    const { data, voted } = entry;
    const results = data.results;
    if (!results || !Array.isArray(results.counts)) {
      if (voted && data.state === "open") return el("p", { className: "antenne-poll__later", text: strings.poll_results_later });
      return null;
    }
    const voters = Number(results.voters) || 0;
    const chosen = new Set(voted || []);
    const bars = el("ul", { className: "antenne-poll__bars" });
    data.options.forEach((option, index) => {
      const count = Number(results.counts[index]) || 0;
      const share = voters ? count / voters : 0;
      const fillBar = el("span", { className: "antenne-poll__fill" });
      fillBar.style.width = `${Math.round(share * 1000) / 10}%`; // CSSOM: allowed by the CSP
      const label = el("span", { className: "antenne-poll__option", text: option });
      if (chosen.has(index)) label.append(el("span", { className: "antenne-poll__mine", text: ` (${strings.poll_your_answer})` }));
      bars.append(el("li", { className: "antenne-poll__bar" },
        el("span", { className: "antenne-poll__label" }, label,
          el("span", { className: "antenne-poll__figure", text: `${percent.format(share)} · ${fill(ctx.plural(strings.votes, count), { count })}` })),
        el("span", { className: "antenne-poll__track", attrs: { "aria-hidden": "true" } }, fillBar)));
    });
    return el("div", { className: "antenne-poll__results" },
      el("p", { className: "antenne-poll__results-title" },
        el("strong", { text: strings.poll_results }), " · ", fill(ctx.plural(strings.poll_voters, voters), { count: voters })),
      bars);
  }

  function voteForm(entry) {
    const { data } = entry;
    const base = `room-poll-${data.id}`;
    const type = data.multiple ? "checkbox" : "radio";
    const messages = el("div", { className: "fr-messages-group", attrs: { id: `${base}-messages`, "aria-live": "assertive" } });
    const fieldset = el("fieldset", {
      className: "fr-fieldset fr-mb-0",
      attrs: { "aria-labelledby": `${base}-question ${base}-legend`, "aria-describedby": `${base}-messages` },
    }, el("legend", {
      className: "fr-fieldset__legend fr-fieldset__legend--regular fr-text--sm",
      text: data.multiple ? strings.poll_multiple : strings.poll_single,
      attrs: { id: `${base}-legend` },
    }));
    data.options.forEach((option, index) => {
      const id = `${base}-option-${index}`;
      fieldset.append(el("div", { className: "fr-fieldset__element" },
        el("div", { className: `fr-${type}-group` },
          el("input", { attrs: { type, id, name: `${base}-choice`, value: index } }),
          el("label", { className: "fr-label", text: option, attrs: { for: id } }))));
    });
    fieldset.append(messages);
    const form = el("form", { className: "antenne-poll__form", attrs: { novalidate: true } },
      fieldset, el("button", { className: "fr-btn fr-btn--sm", text: strings.poll_vote, attrs: { type: "submit" } }));
    const showError = (text) => {
      fieldset.classList.toggle("fr-fieldset--error", Boolean(text));
      messages.replaceChildren();
      if (text) messages.append(el("p", { className: "fr-message fr-message--error", text }));
    };
    let voting = false;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const choices = [...form.querySelectorAll("input:checked")].map((input) => Number(input.value));
      if (!choices.length) {
        showError(strings.errors["poll.no_choice"]);
        form.querySelector("input")?.focus();
        return;
      }
      if (voting) return;
      voting = true;
      ctx.client.call("poll.vote", { poll_id: data.id, choices }).then(() => {
        entry.voted = choices;
        render(entry, { focus: true });
      }, (error) => {
        if (error.code === "poll.already_voted") {
          entry.voted = entry.voted || [];
          render(entry, { focus: true });
        } else {
          showError(errorText(strings, error));
        }
      }).finally(() => { voting = false; });
    });
    form.addEventListener("change", () => showError(""));
    return form;
  }

  /** (Re)build a poll's card. The vote form is kept while it is still needed, so that a
   * results update does not lose what the person ticked, nor their focus. */
  function render(entry, { focus = false } = {}) {
    const { data, voted } = entry;
    const base = `room-poll-${data.id}`;
    const open = data.state === "open";
    if (!(open && !voted)) entry.form = null;
    else if (!entry.form) entry.form = voteForm(entry);
    const active = entry.card && entry.card.contains(document.activeElement) ? document.activeElement : null;
    const badge = el("span", { className: `fr-badge fr-badge--sm fr-badge--no-icon ${open ? "fr-badge--info" : ""}`, text: open ? strings.poll_open : strings.poll_closed });
    const parts = [
      el("h4", { className: "fr-h6 fr-mb-1w antenne-poll__question" }, el("span", { text: data.question, attrs: { id: `${base}-question` } }), " ", badge),
    ];
    if (entry.form) parts.push(entry.form);
    const status = voted && open ? el("p", { className: "fr-message fr-message--valid antenne-poll__voted", text: strings.poll_voted, attrs: { tabindex: "-1", id: `${base}-voted` } }) : null;
    if (status) parts.push(status);
    const results = resultsBlock(entry);
    if (results) parts.push(results);
    const card = el("article", { className: "antenne-poll", attrs: { "data-id": data.id, "data-state": data.state, "aria-labelledby": `${base}-question` } }, ...parts);
    if (entry.card) entry.card.replaceWith(card);
    entry.card = card;
    // Moving the kept form out of the old card took the focus away: give it back.
    if (focus && status) status.focus();
    else if (active && active.isConnected) active.focus();
    else if (active && status) status.focus();
    else if (active) {
      card.tabIndex = -1;
      card.focus();
    }
  }

  function place(entry) {
    const newer = [...polls.values()].filter((other) => other.data.id > entry.data.id && other.card?.isConnected)
      .sort((a, b) => a.data.id - b.data.id)[0];
    // Newest first: just after the oldest of the newer ones, else at the top.
    if (newer) newer.card.after(entry.card);
    else list.prepend(entry.card);
    while (polls.size > MAX_POLLS) {
      const oldest = Math.min(...polls.keys());
      polls.get(oldest).card?.remove();
      polls.delete(oldest);
    }
    empty.hidden = polls.size > 0;
  }

  function put(data, voted) {
    if (data.id == null || !Array.isArray(data.options)) return null;
    let entry = polls.get(data.id);
    if (entry) {
      entry.data = { ...entry.data, ...data };
      if (voted !== undefined) entry.voted = voted;
      render(entry);
    } else {
      entry = { data, voted: voted ?? null, card: null, form: null };
      polls.set(data.id, entry);
      render(entry);
      place(entry);
    }
    return entry;
  }

  function snapshot(part) {
    if (!part) return;
    for (const entry of polls.values()) entry.card?.remove();
    polls.clear();
    for (const data of part.polls || []) if (data.state !== "draft") put(data, data.voted ?? null);
    empty.hidden = polls.size > 0;
  }

  function event(name, data) {
    if (name === "poll.opened") {
      const known = polls.has(data.id);
      put(data);
      if (!known) {
        ctx.markNew("polls");
        if (ctx.isLive()) ctx.announce(fill(strings.announce_poll, { question: data.question }));
      }
    } else if (name === "poll.results") {
      const entry = polls.get(data.id);
      if (entry && entry.data.state === "open") {
        entry.data.results = data.results;
        render(entry);
      }
    } else if (name === "poll.closed") {
      put(data);
      ctx.markNew("polls");
      if (ctx.isLive()) ctx.announce(fill(strings.announce_poll_closed, { question: data.question }));
    }
  }

  return { snapshot, event };
}

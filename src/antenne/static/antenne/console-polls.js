// The console's polls (staff): create a draft (2 to 10 options, one or several answers,
// results live or at the close) at any time, before the session too — the form closes once
// saved — then open it in one click, close it, and watch the results come in.
// `poll.created` (backstage), `poll.opened`, `poll.results` and `poll.closed` keep each poll
// by id; staff always get the running results (backstage when attendees may not see them).

import { badge, button, el, errorText, fill, keepingFocus, plural, showMessage } from "./ui.js";

const STATE_BADGE = { draft: "", open: "success", closed: "info" };

export function createPolls(ctx) {
  const { strings, plurals } = ctx;
  const $ = (id) => document.getElementById(id);
  const list = $("console-polls-list");
  if (!list) return { upsert() {}, results() {}, render() {} }; // speakers: no polls panel
  const empty = $("console-polls-empty");
  const listMessages = $("console-polls-messages");
  const form = $("console-poll-form");
  const details = $("console-poll-create");
  const question = $("console-poll-question");
  const optionList = $("console-poll-option-list");
  const addButton = $("console-poll-add");
  const formMessages = $("console-poll-messages");
  const min = Number(ctx.root.dataset.pollMin || 2);
  const max = Number(ctx.root.dataset.pollMax || 10);
  const polls = new Map(); // id -> poll
  let sending = false;

  // --- The list ------------------------------------------------------------------------------

  function act(action, poll) {
    ctx.client.call(action, { poll_id: poll.id }).then(
      (reply) => {
        showMessage(listMessages, "");
        const state = action === "poll.open" ? "open" : "closed";
        const known = polls.get(poll.id);
        if (known) upsert({ ...known, state, results: reply.results || known.results });
      },
      (error) => showMessage(listMessages, errorText(strings, error)),
    );
  }

  function resultsOf(poll) {
    const results = poll.results;
    const box = el("ul", { className: "antenne-console__results" });
    poll.options.forEach((option, index) => {
      const row = el("li", { className: "antenne-console__result" });
      const count = results ? results.counts[index] || 0 : 0;
      const voters = results ? results.voters || 0 : 0;
      const share = voters ? Math.round((100 * count) / voters) : 0;
      const label = el("span", { className: "antenne-console__result-label", text: option });
      const figure = el("span", { className: "antenne-console__muted", text: results ? `${count} (${share} %)` : "" });
      const meter = el("progress", { className: "antenne-console__meter" });
      meter.max = Math.max(voters, 1);
      meter.value = count;
      meter.setAttribute("aria-label", option);
      row.append(label, " ", figure, meter);
      box.append(row);
    });
    return box;
  }

  function itemFor(poll) {
    const item = el("li", { className: "antenne-console__card" });
    item.dataset.id = String(poll.id);
    item.append(el("p", { className: "antenne-console__question", text: poll.question }));
    const meta = el("p", { className: "antenne-console__badges" });
    meta.append(badge(strings.poll_states[poll.state] || poll.state, STATE_BADGE[poll.state]));
    meta.append(badge(poll.multiple ? strings.poll_multiple : strings.poll_single));
    meta.append(badge(poll.results_live ? strings.poll_results_live : strings.poll_results_at_close));
    if (poll.results) meta.append(badge(plural(strings.voters, poll.results.voters || 0, plurals)));
    item.append(meta, resultsOf(poll));
    const actions = el("div", { className: "antenne-console__actions" });
    if (poll.state === "draft") actions.append(button(strings.actions.open_poll, { action: "poll.open", kind: "primary", onClick: () => act("poll.open", poll) }));
    if (poll.state === "open") actions.append(button(strings.actions.close_poll, { action: "poll.close", kind: "secondary", onClick: () => act("poll.close", poll) }));
    if (actions.children.length) item.append(actions);
    return item;
  }

  function draw() {
    const shown = [...polls.values()].sort((a, b) => b.id - a.id); // the latest first
    keepingFocus(list, () => list.replaceChildren(...shown.map(itemFor)));
    empty.hidden = shown.length > 0;
  }

  /** A whole poll; results it does not carry (`null`: not for this audience yet) are kept. */
  function upsert(poll) {
    if (poll.id == null) return;
    const known = polls.get(poll.id);
    polls.set(poll.id, { ...poll, results: poll.results ?? known?.results ?? null });
    draw();
  }

  function results(data) {
    const known = polls.get(data.id);
    if (!known || known.state === "closed") return; // the close carries the final results
    polls.set(data.id, { ...known, results: data.results });
    draw();
  }

  function render(snapshot) {
    polls.clear();
    for (const poll of snapshot.polls || []) polls.set(poll.id, poll);
    draw();
  }

  // --- The form --------------------------------------------------------------------------------

  function renumber() {
    const rows = [...optionList.children];
    rows.forEach((row, index) => {
      const n = index + 1;
      const input = row.querySelector("input");
      input.id = `console-poll-option-${n}`;
      row.querySelector("label").htmlFor = input.id;
      row.querySelector("label").textContent = fill(strings.option_label, { n });
      const remove = row.querySelector("button");
      remove.setAttribute("aria-label", fill(strings.remove_option, { n }));
      remove.hidden = rows.length <= min;
    });
    addButton.hidden = rows.length >= max;
  }

  function addOption(focus = false) {
    const row = el("li", { className: "antenne-console__option fr-input-group" });
    const label = el("label", { className: "fr-label" });
    const input = el("input", { className: "fr-input" });
    input.type = "text";
    input.maxLength = 200;
    input.autocomplete = "off";
    const remove = button("✕", { kind: "tertiary-no-outline", onClick: () => {
      const next = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      renumber();
      if (next) next.querySelector("input").focus();
    } });
    const field = el("div", { className: "antenne-console__option-field" });
    field.append(label, input);
    row.append(field, remove);
    optionList.append(row);
    renumber();
    if (focus) input.focus();
  }

  function reset() {
    form.reset();
    optionList.replaceChildren();
    for (let i = 0; i < min; i += 1) addOption();
  }

  addButton.addEventListener("click", () => addOption(true));

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = question.value.trim();
    const options = [...optionList.querySelectorAll("input")].map((input) => input.value.trim());
    let problem = "";
    if (!text) problem = strings.errors["poll.empty"];
    else if (options.some((option) => !option)) problem = strings.errors["poll.option_invalid"];
    else if (options.length < min || options.length > max) problem = strings.errors["poll.options_count"];
    if (problem) {
      showMessage(formMessages, problem);
      const inputs = [...optionList.querySelectorAll("input")];
      (text ? inputs.find((input) => !input.value.trim()) || inputs[0] : question).focus();
      return;
    }
    if (sending) return;
    sending = true;
    const payload = {
      question: text,
      options,
      multiple: form.elements.multiple.value === "true",
      results_live: form.elements.results_live.value === "true",
    };
    ctx.client.call("poll.create", payload).then(
      () => {
        sending = false;
        reset();
        showMessage(formMessages, "");
        details.open = false;
        showMessage(listMessages, strings.done.poll_created, "valid");
        details.querySelector("summary").focus();
      },
      (error) => {
        sending = false;
        showMessage(formMessages, errorText(strings, error));
      },
    );
  });

  details.addEventListener("toggle", () => {
    if (details.open) question.focus();
  });

  reset();
  return { upsert, results, render };
}

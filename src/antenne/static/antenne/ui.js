// The page helpers shared by the live pages: the attendees' room (room.js, room-*.js) and the
// staff console (console.js, console-*.js). It owns how elements are made (`el`, `badge`,
// `button`), `%(name)s` texts (`fill`, `plural`), messages under fields and lists, what a
// refused action says (`errorText`), and the one rendering of a chat message
// (`chatMessage`). Text from the server only ever reaches the page through `textContent`,
// never as HTML.

/** `%(name)s` placeholders filled from `values` (as text: the result goes to textContent). */
export function fill(template, values) {
  return String(template).replace(/%\((\w+)\)s/g, (match, key) => (key in values ? String(values[key]) : match));
}

/** `forms` is `{one, other}` (Intl.PluralRules categories; French and English have no more). */
export function plural(forms, count, rules) {
  return fill(forms[rules.select(count)] || forms.other, { count });
}

/** An element: `el("p", {className: "x", text: "…", attrs: {id: "y"}}, child, …)`. A `text`
 * of null or undefined leaves it empty. */
export function el(tag, { className = "", text, attrs = {} } = {}, ...children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = String(text);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined && value !== false) node.setAttribute(name, value === true ? "" : String(value));
  }
  node.append(...children);
  return node;
}

export function badge(text, variant = "") {
  return el("span", { className: `fr-badge fr-badge--sm fr-badge--no-icon${variant ? ` fr-badge--${variant}` : ""}`, text });
}

/** A small button; `label` (for screen readers) says what it acts on when the visible text
 * does not. `action` names it, so that focus can come back to it after a re-render. */
export function button(text, { label = "", action = "", kind = "tertiary", onClick } = {}) {
  const node = el("button", { className: `fr-btn fr-btn--sm${kind === "primary" ? "" : ` fr-btn--${kind}`}`, text });
  node.type = "button";
  if (label) node.setAttribute("aria-label", label);
  if (action) node.dataset.action = action;
  if (onClick) node.addEventListener("click", onClick);
  return node;
}

/** One message (or none) under a form or a list, DSFR style. */
export function showMessage(group, text, kind = "error") {
  group.replaceChildren();
  if (text) group.append(el("p", { className: `fr-message fr-message--${kind}`, text }));
}

/** A field's error (or `valid` confirmation) under it, DSFR style; "" clears it. */
export function fieldMessage({ group, input, messages }, text, { valid = false } = {}) {
  const error = Boolean(text) && !valid;
  if (group) group.classList.toggle("fr-input-group--error", error);
  if (input) input.setAttribute("aria-invalid", error ? "true" : "false");
  showMessage(messages, text, valid ? "valid" : "error");
}

/** Screen-reader announcements: the region is emptied, then filled a moment later, so that
 * the same text twice is heard twice. */
export function announcer() {
  const pending = new Map(); // region -> timer
  return (region, text) => {
    window.clearTimeout(pending.get(region));
    region.textContent = "";
    pending.set(region, window.setTimeout(() => { region.textContent = text; }, 100));
  };
}

/** What to tell a person about a refused action `{code, message, ...}` (a live `["error", id,
 * {code, message}]` reply, an error made in the page by live-client.js, or a MediaError from
 * HTTP): the page's own text for the code, in the page's language and written for this page;
 * else the server's message (translated, except the protocol's own); else `fallback`, else
 * the page's generic text. A code is never shown: a message that only repeats its code
 * (a MediaError without one) counts as none. */
export function errorText(strings, error, fallback = "") {
  const { code, message, retry_after: wait } = error || {};
  const errors = strings.errors;
  if (code === "chat.slow_mode" && errors.slow_mode_wait && Number.isFinite(wait)) {
    return fill(errors.slow_mode_wait, { seconds: wait });
  }
  const own = typeof code === "string" && Object.hasOwn(errors, code) ? errors[code] : "";
  return own || (message && message !== code ? message : "") || fallback || errors.action || errors.generic;
}

/** A time of day in the page's language, or "" for an unreadable date. */
export function timeOf(clock, iso) {
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? "" : clock.format(at);
}

/** Re-render `list` with `build()` keeping the keyboard focus on the same control, found again
 * by its item's `data-id` and its `data-action`. */
export function keepingFocus(list, build) {
  const focused = document.activeElement;
  const item = focused && list.contains(focused) ? focused.closest("[data-id]") : null;
  const key = item ? [item.dataset.id, focused.dataset.action || ""] : null;
  build();
  if (!key) return;
  const again = list.querySelector(`[data-id="${CSS.escape(key[0])}"]`);
  if (!again) {
    list.focus();
    return;
  }
  const control = key[1] ? again.querySelector(`[data-action="${CSS.escape(key[1])}"]`) : null;
  (control || again.querySelector("button") || list).focus();
}

/** A chat message as a list item, the same in the room and the console: author, role badge
 * (speakers, staff), time, text. The console's additions come as options: `registration`
 * shows the registration number a staff copy carries (`strings.registration`), `onDelete(data)`
 * adds a delete button (`strings.actions.delete`, `delete_label`). */
export function chatMessage(data, { strings, clock, registration = false, onDelete = null }) {
  const author = String(data.author ?? strings.someone);
  const meta = el("p", { className: "antenne-chat__meta" }, el("span", { className: "antenne-chat__author", text: author }));
  const role = data.role === "attendee" ? "" : strings.roles[data.role];
  if (role) meta.append(" ", badge(role, "blue-ecume"));
  if (registration && data.registration_id != null) {
    meta.append(" ", el("span", { className: "antenne-console__muted", text: fill(strings.registration, { id: data.registration_id }) }));
  }
  const time = timeOf(clock, data.at);
  if (time) meta.append(" · ", el("time", { text: time, attrs: { datetime: new Date(data.at).toISOString() } }));
  if (onDelete) {
    // An icon button (DSFR hides its text); its name says whose message it deletes.
    const label = fill(strings.actions.delete_label, { name: author });
    const remove = button(strings.actions.delete, { label, action: "delete", kind: "tertiary-no-outline", onClick: () => onDelete(data) });
    remove.classList.add("fr-icon-delete-line", "antenne-console__delete");
    remove.title = label;
    meta.append(remove);
  }
  return el("li", { className: "antenne-chat__message", attrs: { "data-id": data.id } },
    meta, el("p", { className: "antenne-chat__text", text: data.text ?? "" }));
}

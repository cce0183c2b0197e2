// Small helpers shared by the console's modules (console.js and console-*.js). Text from the
// server only ever reaches the page through `textContent`, never as HTML.

/** `%(name)s` placeholders filled from `values` (as text: the result goes to textContent). */
export function fill(template, values) {
  return String(template).replace(/%\((\w+)\)s/g, (match, key) => (key in values ? String(values[key]) : match));
}

/** `forms` is `{one, other}` (Intl.PluralRules categories; French and English have no more). */
export function plural(forms, count, rules) {
  return fill(forms[rules.select(count)] || forms.other, { count });
}

export function el(tag, className = "", text = null) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== null && text !== undefined) node.textContent = String(text);
  return node;
}

export function badge(text, variant = "") {
  return el("span", `fr-badge fr-badge--sm fr-badge--no-icon${variant ? ` fr-badge--${variant}` : ""}`, text);
}

/** A small button; `label` (for screen readers) says what it acts on when the visible text
 * does not. `action` names it, so that focus can come back to it after a re-render. */
export function button(text, { label = "", action = "", kind = "tertiary", onClick } = {}) {
  const node = el("button", `fr-btn fr-btn--sm${kind === "primary" ? "" : ` fr-btn--${kind}`}`, text);
  node.type = "button";
  if (label) node.setAttribute("aria-label", label);
  if (action) node.dataset.action = action;
  if (onClick) node.addEventListener("click", onClick);
  return node;
}

/** One message (or none) under a form or a list, DSFR style. */
export function showMessage(group, text, kind = "error") {
  group.replaceChildren();
  if (text) group.append(el("p", `fr-message fr-message--${kind}`, text));
}

/** What to say about a refused action: the server's message (in the page's language), else
 * ours for the code, else a generic one. */
export function errorText(strings, error) {
  return (error && error.message) || strings.errors[error && error.code] || strings.errors.generic;
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

/** A time of day in the page's language, or "" for an unreadable date. */
export function timeOf(clock, iso) {
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? "" : clock.format(at);
}

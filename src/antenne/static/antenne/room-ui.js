// Small helpers of the attendees' room page (room.js and its parts). Text from the server
// only ever reaches the page through `textContent`.

/** `%(name)s` placeholders filled from `values` (as text: the result goes to textContent). */
export function fill(template, values) {
  return String(template).replace(/%\((\w+)\)s/g, (match, key) => (key in values ? String(values[key]) : match));
}

/** An element: `el("p", {className: "x", text: "…", attrs: {id: "y"}}, child, …)`. */
export function el(tag, { className = "", text, attrs = {} } = {}, ...children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = String(text);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined && value !== false) node.setAttribute(name, value === true ? "" : String(value));
  }
  node.append(...children);
  return node;
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

/** A field's error (or `valid` confirmation) under it, DSFR style; "" clears it. */
export function fieldMessage({ group, input, messages }, text, { valid = false } = {}) {
  const error = Boolean(text) && !valid;
  if (group) group.classList.toggle("fr-input-group--error", error);
  if (input) input.setAttribute("aria-invalid", error ? "true" : "false");
  messages.replaceChildren();
  if (text) messages.append(el("p", { className: `fr-message fr-message--${valid ? "valid" : "error"}`, text }));
}

/** The page's strings for a refused action: ours for the codes we know (in the page's
 * language), else the server's message, else `fallback`. */
export function errorText(strings, error, fallback) {
  if (error.code === "chat.slow_mode" && Number.isFinite(error.retry_after)) {
    return fill(strings.errors.slow_mode_wait, { seconds: error.retry_after });
  }
  return strings.errors[error.code] || error.message || fallback || strings.errors.action;
}

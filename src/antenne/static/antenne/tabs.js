// Tabs as the ARIA Authoring Practices' tabs pattern says, shared by the room and the studio:
// one tab in the Tab order (roving tabindex); Left/Right (and Up/Down) move the focus *and*
// select, Home/End go to the first/last; each panel is `hidden` unless its tab is selected.
// A tab that gets news while another one is shown counts it as unread until it is shown.
//
// Markup (no DSFR `fr-tabs` class: its script would take over the keyboard and the heights):
//
//   <div class="antenne-tabs" data-tabs>
//     <div role="tablist" aria-label="…" class="antenne-tabs__list">
//       <button type="button" role="tab" id="t-chat" aria-controls="p-chat" aria-selected="true"
//               data-tab="chat" class="antenne-tabs__tab">Chat<span data-unread hidden></span></button>
//       …
//     </div>
//     <div role="tabpanel" id="p-chat" aria-labelledby="t-chat" tabindex="0" class="antenne-tabs__panel">…</div>
//   </div>
//
//   const panel = tabs(root, { unreadLabel: (n) => `${n} new` });
//   panel.notify("qa");        // one more unread item on "qa" unless it is the one shown
//   panel.select("polls");     // show it (programmatically; focus moves only with `{focus: true}`)
//   panel.selected();          // "chat"

const KEYS = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };

/** Wire the tabs under `root`. `unreadLabel(count)` is the screen-reader text after a tab's
 * name ("3 nouveaux"); `onSelect(name)` runs when a tab is shown. */
export function tabs(root, { unreadLabel = (count) => String(count), onSelect = () => {} } = {}) {
  const list = root.querySelector("[role='tablist']");
  const all = [...list.querySelectorAll("[role='tab']")];
  const byName = new Map(all.map((tab) => [tab.dataset.tab, tab]));
  const unread = new Map(all.map((tab) => [tab.dataset.tab, 0]));

  function panelOf(tab) {
    return document.getElementById(tab.getAttribute("aria-controls"));
  }

  function render(name) {
    const tab = byName.get(name);
    const badge = tab && tab.querySelector("[data-unread]");
    if (!badge) return;
    const count = unread.get(name);
    badge.hidden = count === 0;
    badge.replaceChildren();
    if (count) {
      const visible = document.createElement("span");
      visible.className = "antenne-tabs__count";
      visible.setAttribute("aria-hidden", "true");
      visible.textContent = count > 99 ? "99+" : String(count);
      const spoken = document.createElement("span");
      spoken.className = "fr-sr-only";
      spoken.textContent = ` (${unreadLabel(count)})`;
      badge.append(visible, spoken);
    }
  }

  function select(name, { focus = false } = {}) {
    const chosen = byName.get(name);
    if (!chosen) return;
    for (const tab of all) {
      const on = tab === chosen;
      tab.setAttribute("aria-selected", on ? "true" : "false");
      tab.tabIndex = on ? 0 : -1;
      const panel = panelOf(tab);
      if (panel) panel.hidden = !on;
    }
    unread.set(name, 0);
    render(name);
    if (focus) chosen.focus();
    onSelect(name);
  }

  function selected() {
    const tab = all.find((t) => t.getAttribute("aria-selected") === "true");
    return tab ? tab.dataset.tab : "";
  }

  function notify(name, count = 1) {
    if (!byName.has(name) || name === selected()) return;
    unread.set(name, unread.get(name) + count);
    render(name);
  }

  list.addEventListener("click", (event) => {
    const tab = event.target.closest("[role='tab']");
    if (tab && all.includes(tab)) select(tab.dataset.tab);
  });
  list.addEventListener("keydown", (event) => {
    const index = all.indexOf(document.activeElement);
    if (index < 0) return;
    let next = null;
    if (event.key in KEYS) next = all[(index + KEYS[event.key] + all.length) % all.length];
    else if (event.key === "Home") next = all[0];
    else if (event.key === "End") next = all[all.length - 1];
    if (!next) return;
    event.preventDefault();
    select(next.dataset.tab, { focus: true });
  });

  select(selected() || all[0].dataset.tab);
  return { select, selected, notify };
}

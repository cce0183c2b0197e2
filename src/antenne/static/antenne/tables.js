// A wide table scrolls sideways inside its DSFR box (`.fr-table > table` is the scrolling
// element); a keyboard user can scroll it only once it takes the focus (recent Chromium
// focuses such boxes by itself, Firefox and Safari do not). Each table that overflows gets
// tabindex=0 and a name for that stop (a table's caption names it; a box without one is
// named by the heading before it); it loses the stop again when it fits, so that tables
// that fit add no tab stop. Loaded on every page by base.html.
const BOXES = ".fr-table > table, .fr-table__container";
const MARK = "antenneScroll";
let named = 0;

function headingBefore(box) {
  const headings = [...document.querySelectorAll("#content h1, #content h2, #content h3")];
  const before = headings.filter(
    (h) => h.compareDocumentPosition(box) & Node.DOCUMENT_POSITION_FOLLOWING,
  );
  return before.at(-1);
}

function name(box) {
  if (box.getAttribute("aria-label") || box.getAttribute("aria-labelledby")) {
    return;
  }
  const caption = box.querySelector("caption");
  const label = caption || headingBefore(box);
  if (!label || (caption && box.tagName === "TABLE")) {
    return; // a table is named by its own caption
  }
  label.id ||= `antenne-scroll-name-${++named}`;
  box.setAttribute("aria-labelledby", label.id);
  if (box.tagName !== "TABLE") {
    box.setAttribute("role", "region");
  }
}

function update(box) {
  const overflows =
    box.scrollWidth > box.clientWidth + 1 || box.scrollHeight > box.clientHeight + 1;
  if (overflows && !box.hasAttribute("tabindex")) {
    box.tabIndex = 0;
    box.dataset[MARK] = "";
    name(box);
  } else if (!overflows && MARK in box.dataset) {
    box.removeAttribute("tabindex");
    delete box.dataset[MARK];
  }
}

const boxes = [...document.querySelectorAll(BOXES)];
boxes.forEach(update);
const observer = new ResizeObserver((entries) => entries.forEach((e) => update(e.target)));
boxes.forEach((box) => observer.observe(box));

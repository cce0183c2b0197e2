// A search field above each `select[data-searchable]` (time zones, animators): typing
// narrows the options to those containing every word typed, in any case and accent. A
// single choice takes the first match, so "cayenne" then Enter is enough. Without
// JavaScript the list works as a plain select.
const fold = (text) => text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();

for (const select of document.querySelectorAll("select[data-searchable]")) {
  const search = document.createElement("input");
  search.type = "search";
  search.className = "fr-input fr-mb-1w antenne-select-search";
  search.id = `${select.id}-search`;
  search.autocomplete = "off";
  search.setAttribute("aria-label", select.dataset.searchLabel);
  search.placeholder = select.dataset.searchLabel;
  search.setAttribute("aria-controls", select.id);
  const status = document.createElement("p");
  status.className = "fr-sr-only";
  status.setAttribute("role", "status");
  select.before(search);
  select.after(status);
  const options = [...select.options].map((option) => ({
    option,
    text: fold(`${option.textContent} ${option.value}`),
  }));

  const filter = () => {
    const words = fold(search.value).split(/\s+/).filter(Boolean);
    let shown = 0;
    let first = null;
    for (const { option, text } of options) {
      const match = words.every((word) => text.includes(word));
      option.hidden = !match;
      if (match) {
        shown += 1;
        first = first || option;
      }
    }
    for (const group of select.querySelectorAll("optgroup")) {
      group.hidden = ![...group.children].some((option) => !option.hidden);
    }
    if (!select.multiple && first && select.selectedOptions[0]?.hidden) {
      first.selected = true;
    }
    status.textContent = words.length ? select.dataset.searchFound.replace("%(n)s", shown) : "";
  };
  search.addEventListener("input", filter);
  search.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault(); // choosing, not sending the form
      select.focus();
    }
  });
}

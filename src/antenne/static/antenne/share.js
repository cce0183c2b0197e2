// Copy buttons of the back office (the registration page's link and embed code): each
// `button[data-copy]` copies the value of the field it names and says so in its status.
// Without JavaScript the buttons stay hidden and the fields can be selected by hand.
for (const button of document.querySelectorAll("button[data-copy]")) {
  const field = document.getElementById(button.dataset.copy);
  const status = document.getElementById(button.dataset.copyStatus);
  if (!field || !navigator.clipboard) {
    continue;
  }
  button.hidden = false;
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(field.value);
      status.textContent = button.dataset.copied;
    } catch {
      field.select();
      status.textContent = button.dataset.copyFailed;
    }
  });
}

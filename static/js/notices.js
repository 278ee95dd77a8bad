// What the page says in words: readouts, errors and passing notices. Text from the server goes
// in with textContent, never as HTML.

/** The element a test (and this page) knows by its data-testid. */
export const $ = (testId) => document.querySelector(`[data-testid="${testId}"]`);

let errorTimer = 0;
let noticeTimer = 0;

export function showError(text) {
  const box = $("error");
  box.querySelector(".message-text").textContent = text;
  box.hidden = false;
  clearTimeout(errorTimer);
  errorTimer = setTimeout(() => (box.hidden = true), 12000);
}

export function showNotice(text, lastsMs = 4000) {
  const box = $("notice");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => (box.hidden = true), lastsMs);
}

/** Writes a readout only when it changed (a write forces a layout). */
export function setText(testId, value) {
  const node = $(testId);
  const text = String(value);
  if (node && node.textContent !== text) node.textContent = text;
}

// Small builders of page elements; text always goes in as text, never as HTML.

/** Builds an element with a class, text (never HTML; a number shows, 0 included) and a
 * data-testid, each optional. */
export function element(tag, className = "", text = "", testId = "") {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== "" && text != null) node.textContent = text;
  if (testId) node.dataset.testid = testId;
  return node;
}

export function button(label, testId, onClick, className = "small") {
  const node = element("button", className, label);
  node.type = "button";
  node.dataset.testid = testId;
  node.addEventListener("click", onClick);
  return node;
}

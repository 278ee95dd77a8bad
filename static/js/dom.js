// Small builders of page elements; text always goes in as text, never as HTML.

/** Builds an element with a class and text (never HTML). */
export function element(tag, className = "", text = "") {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}

export function button(label, testId, onClick, className = "small") {
  const node = element("button", className, label);
  node.type = "button";
  node.dataset.testid = testId;
  node.addEventListener("click", onClick);
  return node;
}

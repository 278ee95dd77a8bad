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

/** A form that stays hidden until it is asked for. */
export function hiddenForm(className, testId) {
  const form = element("form", className);
  form.dataset.testid = testId;
  form.hidden = true;
  return form;
}

/** A label: its text, the input, then what follows it (a unit). */
export function labelled(text, input, after = "") {
  const node = element("label", "", text);
  node.append(input, after);
  return node;
}

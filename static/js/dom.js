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

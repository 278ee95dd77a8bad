// The lessons panel: a list of guided presets; picking one loads its run and shows its text.
// Lesson text comes from the server (engine/lessons.py), so it is only ever inserted as text.

import { element } from "./dom.js";

/** A labelled paragraph ("What to watch: ...") for the detail view. */
function labelledParagraph(label, text, testId) {
  const paragraph = element("p", "lesson-" + testId, "", "lesson-" + testId);
  paragraph.append(element("strong", "", label + " "), document.createTextNode(text));
  return paragraph;
}

/** The detail view of one lesson: its explanation, what to watch and one thing to try, and
 * for a lesson with a cost table, the table the server fills row by row. */
function renderDetail(detail, lesson) {
  detail.replaceChildren(
    element("h3", "lesson-title", lesson.title, "lesson-title"),
    element("p", "lesson-text", lesson.text, "lesson-text"),
    labelledParagraph("What to watch:", lesson.watch, "watch"),
    labelledParagraph("Try this:", lesson.try, "try"),
  );
  if (lesson.view?.cost_table) detail.append(costTable(lesson.view.cost_table));
  detail.hidden = false;
}

/** A list, a line per network, for the measured costs (engine/cost.py): a list wraps in the
 * narrow side panel where a table's columns would be cut. The last line is the run's own
 * network, measured again whenever it changes. */
function costTable(networks) {
  const box = element("div", "cost-table", "", "cost-table");
  box.append(element("p", "cost-caption", "One gradient, two ways, measured now:"));
  const list = element("ul");
  for (const layers of networks) list.append(element("li", "", `${layers.join("-")}: measuring…`));
  list.append(element("li", "cost-yours", "Your network: measuring…", "cost-yours"));
  box.append(list);
  return box;
}

/** A follower's page asks the server nothing (it is read-only): the table is measured on the
 * teacher's page, and the follower's network is the teacher's. */
function showCostTableNotMeasured(detail) {
  const table = detail.querySelector(".cost-table");
  if (!table) return;
  table.querySelector(".cost-caption").textContent = "One gradient, two ways: measured on the teacher's page.";
  for (const item of table.querySelectorAll("li")) item.textContent = item.textContent.split(":")[0];
  table.querySelector(".cost-yours").textContent = "Your network: not measured here (you follow the teacher's run).";
}

/** Two significant digits below 10 ms (a small network's backward pass takes 0.02 ms). */
function milliseconds(seconds) {
  const ms = seconds * 1000;
  return ms < 10 ? String(Number(ms.toPrecision(2))) : String(Math.round(ms));
}

/** A measured row in words; an estimated numerical time says on how many parameters it was timed. */
function costText(name, row) {
  const backprop = `${row.backprop_forward_passes} forward + ${row.backprop_backward_passes} backward`;
  const numeric = row.numeric_estimated
    ? `~${milliseconds(row.numeric_seconds)} ms (timed on ${row.numeric_timed_parameters} of them)`
    : `${milliseconds(row.numeric_seconds)} ms`;
  return (
    `${name}: ${row.parameters} weights. Numerical: ${row.numeric_forward_passes} forward passes, ` +
    `${numeric}. Backprop: ${backprop}, ${milliseconds(row.backprop_seconds)} ms. ` +
    `${Math.round(row.seconds_ratio)}× slower.`
  );
}

/** One measured row of the open lesson's cost table (a `cost` message from the server). */
function fillCostRow(detail, message) {
  const { index, row, current } = message;
  if (current) {
    const yours = detail.querySelector(".cost-table .cost-yours");
    if (yours) yours.textContent = costText(`Your network ${row.layers.join("-")}`, row);
    return;
  }
  const item = detail.querySelectorAll(".cost-table li")[index];
  if (!item) return;
  item.textContent = costText(item.textContent.split(":")[0], row);
}

const ASK_AGAIN_MS = 10_000;

/** The run's own network row: asked for when the lesson opens and whenever the network's shape
 * changes, one request at a time (a burst of +/− clicks is measured once, for the last shape). */
class YourNetworkCost {
  constructor(request) {
    this.request = request; // (lessonId) => boolean: sent
    this.lesson = null; // the open lesson with a cost table
    this.latest = null; // the shape on the page now, "2-4-1"
    this.asked = null; // the shape being measured
    this.measured = null; // the shape the row shows
  }

  /** `lesson`: the open lesson if it has a cost table, else null; `layers`: the run's shape. */
  update(lesson, layers) {
    this.lesson = lesson;
    this.latest = layers ? layers.join("-") : null;
    this.askIfNeeded();
  }

  askIfNeeded() {
    if (!this.lesson || !this.latest || this.latest === this.measured) return;
    // One in flight; a reply lost with a dropped socket frees the next change after a while.
    if (this.asked !== null && performance.now() - this.askedAt < ASK_AGAIN_MS) return;
    if (!this.request(this.lesson.id)) return;
    this.asked = this.latest;
    this.askedAt = performance.now();
  }

  /** The row came back: measure again if the shape moved on meanwhile. */
  received(row) {
    this.asked = null;
    this.measured = row.layers.join("-");
    this.askIfNeeded();
  }

  /** Another lesson (measure afresh), or a refused request (ask at the next change). */
  reset({ forget = true } = {}) {
    this.asked = null;
    if (forget) this.measured = null;
  }
}

/** One clickable entry of the list: a button with the title and the short summary. */
function lessonButton(lesson, index, onPick) {
  const button = element("button", "lesson-item", "", "lesson-" + lesson.id);
  button.type = "button";
  button.title = lesson.summary; // the summary may be hidden by the layout; hovering shows it
  button.dataset.lessonId = lesson.id;
  button.append(
    element("span", "lesson-number", String(index + 1) + ". "),
    element("span", "lesson-name", lesson.title),
    element("span", "lesson-summary", lesson.summary),
  );
  button.addEventListener("click", () => onPick(lesson, button, { load: true }));
  return button;
}

/**
 * Renders the lessons into `container`. `lessons` is hello.lessons (engine.lessons.LESSONS);
 * `loadLesson(lesson)` is the page's hook that applies lesson.config and lesson.view.
 * `requestOwnCost(lessonId)` asks for the run's own row (false: not sent); `following()` says
 * whether the page follows a room's teacher (read-only: it asks for no cost table).
 * Returns {select(id, {load})} so the page can open a lesson named in the URL: with
 * load: false it only shows the lesson's text, keeping a run the link itself describes.
 */
export function mountLessons(
  container,
  {
    lessons = [],
    loadLesson = () => {},
    requestCost = () => {},
    requestOwnCost = () => false,
    following = () => false,
  } = {},
) {
  const list = element("ol", "lesson-list", "", "lesson-list");
  const detail = element("section", "lesson-detail", "", "lesson-detail");
  detail.hidden = true;
  detail.setAttribute("aria-live", "polite");
  const buttons = new Map();
  const own = new YourNetworkCost(requestOwnCost);
  let open = null; // the lesson shown
  let layers = null; // the run's network, as the last state said

  const pick = (lesson, button, { load = true } = {}) => {
    for (const other of buttons.values()) other.setAttribute("aria-pressed", "false");
    button.setAttribute("aria-pressed", "true");
    open = lesson;
    renderDetail(detail, lesson);
    own.reset();
    if (following()) showCostTableNotMeasured(detail);
    else if (lesson.view?.cost_table) requestCost(lesson.id);
    // A lesson that loads its own run is measured when that run's state comes.
    own.update(!load && lesson.view?.cost_table ? lesson : null, layers);
    if (load) loadLesson(lesson);
  };

  lessons.forEach((lesson, index) => {
    const button = lessonButton(lesson, index, pick);
    button.setAttribute("aria-pressed", "false");
    buttons.set(lesson.id, button);
    const item = element("li");
    item.append(button);
    list.append(item);
  });

  if (lessons.length === 0) {
    list.append(element("li", "lesson-empty", "No lessons available."));
  }
  container.replaceChildren(element("h2", "", "Lessons"), list, detail);

  return {
    select(id, { load = true } = {}) {
      const lesson = findLesson(lessons, id);
      if (lesson) pick(lesson, buttons.get(id), { load });
      return Boolean(lesson);
    },
    /** A measured row of a cost table, shown if its lesson is the one open. */
    showCostRow(message) {
      if (message.current) own.received(message.row);
      if (buttons.get(message.lesson)?.getAttribute("aria-pressed") === "true") fillCostRow(detail, message);
    },
    /** The run's network (each `state`; null for a network without layers): the open cost
     * table's own row follows it without being asked. */
    showNetwork(networkLayers) {
      layers = networkLayers;
      own.update(open?.view?.cost_table ? open : null, layers);
    },
    /** A refused request (its error names `cost.…`): ask again at the next change. */
    costRefused() {
      own.reset({ forget: false });
    },
  };
}

/** The lesson a link names: by its id, or by an id it had before (`formerly`: old links work). */
export function findLesson(lessons, id) {
  return lessons.find((lesson) => lesson.id === id || (lesson.formerly ?? []).includes(id));
}

// The view flags (presenter mode, hidden panels, chart options) applied to the page, and the URL
// hash that carries them together with the run.

import { $ } from "./notices.js";
import * as url from "./url.js";

export class View {
  /** Parts: the `store` (its view flags, run and schema) and `relayout()` (the loop's: the
   * network's layout follows the flags). */
  constructor({ store, relayout }) {
    Object.assign(this, { store, relayout });
  }

  apply(view) {
    const { store } = this;
    store.setView(view);
    const { presenter, hide, biasNodes, showTest, discretize, logLoss } = store.view;
    document.body.classList.toggle("presenter", Boolean(presenter));
    for (const panel of document.querySelectorAll("[data-panel]")) {
      panel.hidden = (hide ?? []).includes(panel.dataset.panel);
    }
    layoutColumns(hide ?? []);
    $("presenter").setAttribute("aria-pressed", String(Boolean(presenter)));
    $("bias-nodes").checked = Boolean(biasNodes);
    $("show-test").checked = showTest !== false;
    $("discretize").checked = Boolean(discretize);
    $("log-loss").checked = Boolean(logLoss);
    $("grad-history").checked = Boolean(store.view.gradHistory);
    this.relayout();
    this.writeHash();
  }

  writeHash() {
    const { store } = this;
    if (!store.config) return;
    const hash = `#${url.serialise(store.config, store.view, store.hello?.schema)}`;
    if (hash !== location.hash) history.replaceState(null, "", hash);
  }

  /** Draws the eye to the chart a lesson is about: scrolled into view and outlined for a while. */
  pointAt(chart) {
    if (!chart) return;
    chart.scrollIntoView({ block: "nearest" });
    chart.classList.add("highlight");
    setTimeout(() => chart.classList.remove("highlight"), 4000);
  }
}

/** Grid columns for the panels still shown; the last one shown takes the free width. */
function layoutColumns(hide) {
  const widths = { controls: "var(--side)", network: "minmax(0, 1fr)", output: "var(--output)" };
  const shown = Object.keys(widths).filter((panel) => !hide.includes(panel));
  const grows = shown.includes("network") ? "network" : shown.at(-1);
  const columns = shown.map((panel) => (panel === grows ? "minmax(0, 1fr)" : widths[panel]));
  const layout = document.querySelector(".layout");
  layout.style.gridTemplateColumns = columns.join(" ");
  layout.dataset.hide = hide.join(" "); // CSS widens what is left (layout.css)
}

// The control panel: the server renders it from the run schema (templates/controls.html); this
// module binds to what is rendered, reads and shows values by each field's kind, and reports a
// change as (path, value). It declares no option, range, default or rule of its own.

const READERS = {
  number: (input) => readNumber(input, false),
  integer: (input) => readNumber(input, true),
  choice: (input) => input.value,
  boolean: (input) => input.checked,
  text: (input) => input.value,
};

function readNumber(input, integer) {
  const value = Number(input.value);
  if (input.value.trim() === "" || !Number.isFinite(value)) return null;
  if (integer && !Number.isInteger(value)) return null;
  return value;
}

function getPath(object, path) {
  return path.split(".").reduce((node, key) => (node == null ? undefined : node[key]), object);
}

/** The schema entries by path (hello.schema). */
export function schemaByPath(schema) {
  return new Map((schema ?? []).map((entry) => [entry.path, entry]));
}

/** The label of a choice of `path` (data.features' x1 is "x₁"), else the value itself. */
export function choiceLabel(schema, path, value) {
  const entry = schemaByPath(schema).get(path);
  return entry?.choices?.find((choice) => choice.value === value)?.label ?? value;
}

/** The range of values of an activation chosen for `path` (engine/activations.py says which
 * are bounded, through hello.schema), else null: unbounded, or not an activation. */
export function choiceOutputs(schema, path, value) {
  const entry = schemaByPath(schema).get(path);
  return entry?.choices?.find((choice) => choice.value === value)?.outputs ?? null;
}

/** The range of the run's output activation's values when bounded, else null. */
export function outputRange(store) {
  return choiceOutputs(store.hello?.schema, "network.output", store.config?.network.output);
}

function formatReadout(entry, value) {
  if (entry?.percent) return `${Math.round(value * 100)}%`;
  return String(value);
}

/**
 * Binds the rendered controls in `form`. `onChange(path, value)` is called for every change a
 * person makes. Returns {fill(config, allowed), showError(field, message), clearErrors()}.
 */
export function bindControls(form, { schema, onChange }) {
  const entries = schemaByPath(schema);
  // Enter in a number field would submit the form and reload the page: the page sends changes.
  form.addEventListener("submit", (event) => event.preventDefault());
  const inputs = [...form.querySelectorAll("input[data-path], select[data-path]")];
  for (const input of inputs) {
    const read = READERS[input.dataset.kind];
    // Ranges report on release ("change") so dragging does not rebuild the run at every pixel.
    input.addEventListener("change", () => {
      const value = read(input);
      if (value === null) {
        // Not a number: say so beside it and show the value the run still has.
        const kind = input.dataset.kind === "integer" ? "a whole number" : "a number";
        showFieldError(form, input.dataset.path, `${entries.get(input.dataset.path)?.label}: type ${kind}`);
        if (input.dataset.shown !== undefined) input.value = input.dataset.shown;
        return;
      }
      clearFieldError(form, input.dataset.path);
      onChange(input.dataset.path, value);
    });
    const readout = input.parentElement.querySelector("output");
    if (readout) {
      input.addEventListener("input", () => {
        readout.textContent = formatReadout(entries.get(input.dataset.path), read(input));
      });
    }
  }
  for (const group of form.querySelectorAll("fieldset[data-kind='choices']")) {
    const boxes = [...group.querySelectorAll("input[type=checkbox]")];
    for (const box of boxes) {
      box.addEventListener("change", () => {
        const chosen = boxes.filter((candidate) => candidate.checked).map((candidate) => candidate.value);
        onChange(group.dataset.path, chosen); // none chosen: the server says why not
      });
    }
  }

  return {
    /** Shows `config`; leaves a field being typed in alone unless `force` (an undo). `allowed`:
     * the choices the engine would accept now (state.allowed); others are disabled. */
    fill(config, { allowed = {}, force = false } = {}) {
      for (const input of inputs) {
        const path = input.dataset.path;
        const value = getPath(config, path);
        if (input.type === "checkbox") input.checked = Boolean(value);
        else if (value !== undefined && (force || document.activeElement !== input)) input.value = String(value);
        if (value !== undefined) input.dataset.shown = String(value);
        const readout = input.parentElement.querySelector("output");
        if (readout && value !== undefined) readout.textContent = formatReadout(entries.get(path), value);
        if (allowed[path]) {
          for (const option of input.options) option.disabled = !allowed[path].includes(option.value);
        }
      }
      for (const group of form.querySelectorAll("fieldset[data-kind='choices']")) {
        const chosen = getPath(config, group.dataset.path) ?? [];
        for (const box of group.querySelectorAll("input")) box.checked = chosen.includes(box.value);
      }
      for (const row of form.querySelectorAll("[data-when-path]")) {
        row.hidden = !row.dataset.whenValues.split(" ").includes(getPath(config, row.dataset.whenPath));
      }
    },
    showError: (field, message) => showFieldError(form, field, message),
    clearErrors() {
      for (const box of form.querySelectorAll(".control-error")) clearFieldError(form, box.id.slice(6));
    },
  };
}

/** The control a field error names (`network.layers[1]` → network.layers), if it has one. */
function controlOf(form, field) {
  const path = String(field ?? "").replace(/\[.*$/, "");
  return form.querySelector(`#error-${CSS.escape(path)}`) ? path : null;
}

function showFieldError(form, field, message) {
  const path = controlOf(form, field);
  if (!path) return false;
  const box = form.querySelector(`#error-${CSS.escape(path)}`);
  box.textContent = message;
  box.hidden = false;
  markInvalid(box, true);
  return true;
}

/** The outline a person sees (controls.css) and the state a screen reader announces. */
function markInvalid(box, invalid) {
  const control = box.closest(".control, .control-group");
  control?.classList.toggle("invalid", invalid);
  for (const input of control?.querySelectorAll("input:not([type=hidden]), select") ?? []) {
    if (invalid) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }
}

function clearFieldError(form, path) {
  const box = form.querySelector(`#error-${CSS.escape(path)}`);
  if (!box) return;
  box.hidden = true;
  box.textContent = "";
  markInvalid(box, false);
}

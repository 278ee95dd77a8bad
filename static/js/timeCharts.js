// The two charts under the unrolled view (unrolled.js): the gradient through time
// (‖∂L/∂h_t‖, log scale; an lstm's forget gates) and the focus sequence (input, target,
// prediction; text as characters). Every number drawn is one the engine sent.

import { BACKWARD_COLOUR, FORWARD_COLOUR, UPDATE_COLOUR } from "./palette.js";
import { predictionAt, scaleOf, targetAt, values } from "./sequenceValues.js";

export function chartBox(layout, index) {
  const gap = 30;
  const width = (layout.width - 2 * layout.margin - gap) / 2;
  return { x: layout.margin + index * (width + gap), y: layout.chartTop, w: width, h: layout.chartHeight - 10 };
}

/** A chart a lesson is about, outlined as the page outlines its other charts (output.css). */
export function outlineChart(ctx, box) {
  ctx.strokeStyle = BACKWARD_COLOUR;
  ctx.lineWidth = 3;
  ctx.strokeRect(box.x - 1, box.y - 1, box.w + 2, box.h + 2);
}

/** A chart's frame and its title above it; `key` names its lines in their colours, after the
 * title (above the plot, so no line runs through a label). */
function frameBox(ctx, box, title, key = []) {
  ctx.strokeStyle = "#ccc";
  ctx.lineWidth = 1;
  ctx.strokeRect(box.x, box.y, box.w, box.h);
  ctx.font = "11px system-ui, sans-serif";
  ctx.textAlign = "left";
  let x = box.x + 4;
  for (const [text, colour] of [[title, "#333"], ...key]) {
    ctx.fillStyle = colour;
    ctx.fillText(text, x, box.y - 6);
    x += ctx.measureText(text).width + 8;
  }
}

/** ‖∂L/∂h_t‖ per step on a log scale (the frame's, or the step being stepped through), and for
 * an lstm the mean forget gate per step on a 0-1 scale. */
export function drawGradientChart(ctx, layout, recurrent, trace) {
  const box = chartBox(layout, 0);
  const key = recurrent.forget_gates ? [["forget gate 0-1 (dashed)", UPDATE_COLOUR]] : [];
  frameBox(ctx, box, "‖∂L/∂h_t‖ through time (log scale)", key);
  const norms = trace?.dhNorms ?? recurrent.dh_norms ?? [];
  const positive = norms.filter((n) => n > 0);
  if (!positive.length) return;
  // Whole decades that hold every point, one at least.
  const lo = Math.floor(Math.log10(Math.min(...positive)));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...positive))));
  const px = (t) => box.x + ((t + 0.5) / norms.length) * box.w;
  const py = (n) => box.y + box.h - 4 - ((Math.log10(n) - lo) / (hi - lo)) * (box.h - 14);
  ctx.fillStyle = "#777";
  ctx.textAlign = "right";
  ctx.fillText(`1e${Math.round(hi)}`, box.x - 2, box.y + 10);
  ctx.fillText(`1e${Math.round(lo)}`, box.x - 2, box.y + box.h - 4);
  ctx.strokeStyle = BACKWARD_COLOUR;
  ctx.fillStyle = BACKWARD_COLOUR;
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  let started = false;
  norms.forEach((n, t) => {
    if (!(n > 0)) return;
    if (started) ctx.lineTo(px(t), py(n));
    else ctx.moveTo(px(t), py(n));
    started = true;
  });
  ctx.stroke();
  norms.forEach((n, t) => n > 0 && ctx.fillRect(px(t) - 2, py(n) - 2, 4, 4));
  const gates = recurrent.forget_gates;
  if (!gates) return;
  ctx.strokeStyle = UPDATE_COLOUR;
  ctx.setLineDash([4, 3]);
  ctx.beginPath();
  gates.forEach((g, t) => {
    const y = box.y + box.h - 4 - g * (box.h - 14);
    if (t) ctx.lineTo(px(t), y);
    else ctx.moveTo(px(t), y);
  });
  ctx.stroke();
  ctx.setLineDash([]);
}

/** The focus sequence: input, target and prediction per step (text: predicted characters). */
export function drawSequenceChart(ctx, layout, arrays, recurrent, trace) {
  const box = chartBox(layout, 1);
  const T = layout.steps;
  const px = (t) => box.x + ((t + 0.5) / T) * box.w;
  if (recurrent.alphabet) {
    frameBox(ctx, box, "focus sequence: input, target, prediction");
    drawTextSequence(ctx, box, arrays, recurrent, px);
    return;
  }
  const D = recurrent.inputs;
  const x = values(arrays.get("x"));
  const series = [
    { name: "input", colour: "#999", value: (t) => x?.[t * D] },
    { name: "target", colour: "#333", value: (t) => targetAt(arrays, recurrent, t), masked: true },
    { name: "prediction", colour: FORWARD_COLOUR, value: (t) => predictionAt(arrays, recurrent, t) },
  ];
  frameBox(ctx, box, "focus sequence:", series.map((s) => [s.name, s.colour]));
  const all = series.flatMap((s) => Array.from({ length: T }, (_, t) => s.value(t)));
  const scale = scaleOf(all);
  const py = (v) => box.y + box.h / 2 - (v / scale) * (box.h / 2 - 8);
  const mask = arrays.get("mask")?.data;
  series.forEach((s) => {
    ctx.strokeStyle = s.colour;
    ctx.lineWidth = s.name === "prediction" ? 2 : 1;
    ctx.beginPath();
    let started = false;
    for (let t = 0; t < T; t++) {
      const v = s.value(t);
      if (!Number.isFinite(v) || (s.masked && mask && !mask[t])) {
        started = false;
        continue;
      }
      if (started) ctx.lineTo(px(t), py(v));
      else ctx.moveTo(px(t), py(v));
      started = true;
    }
    ctx.stroke();
  });
  if (trace?.last?.phase === "forward") {
    ctx.strokeStyle = FORWARD_COLOUR;
    ctx.beginPath();
    ctx.moveTo(px(trace.last.t), box.y);
    ctx.lineTo(px(trace.last.t), box.y + box.h);
    ctx.stroke();
  }
}

function drawTextSequence(ctx, box, arrays, recurrent, px) {
  const x = arrays.get("x")?.data;
  const y = arrays.get("y")?.data;
  const T = x?.length ?? 0;
  ctx.font = "12px ui-monospace, monospace";
  ctx.textAlign = "center";
  const rows = [
    ["input", (t) => recurrent.alphabet[x[t]], "#999"],
    ["target", (t) => recurrent.alphabet[y[t]], "#333"],
    ["predicted", (t) => recurrent.alphabet[predictionAt(arrays, recurrent, t)], FORWARD_COLOUR],
  ];
  rows.forEach(([name, at, colour], row) => {
    const yPos = box.y + 28 + row * ((box.h - 32) / 3);
    ctx.fillStyle = colour;
    ctx.textAlign = "left";
    ctx.font = "10px system-ui, sans-serif";
    ctx.fillText(name, box.x + 3, yPos - 14); // above its row's characters, clear of them
    ctx.font = "12px ui-monospace, monospace";
    ctx.textAlign = "center";
    for (let t = 0; t < T; t++) {
      const char = at(t) ?? "?";
      const wrong = name === "predicted" && char !== rows[1][1](t);
      ctx.fillStyle = wrong ? BACKWARD_COLOUR : colour;
      ctx.fillText(char === " " ? "␣" : char, px(t), yPos);
    }
  });
}

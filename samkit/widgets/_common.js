// samkit widgets: helpers shared by segment.js and compare.js. The Python side puts this file in
// front of each widget's module (plain text, no bundler), so it declares functions and exports nothing.
//
// Conventions: prompts are in original image pixels (traits `width`, `height`); the canvas shows
// the display copy sent once in the `image` trait; masks arrive as 1-bit PNGs whose 0 pixels are
// transparent, and are tinted and blended here with canvas compositing (no per-pixel loops).

const SAMKIT_COLORS = ["#1e90ff", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"];
const SAMKIT_DRAG_PX = 5; // a press that moves farther than this (CSS px) draws a box, not a point

function h(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function fmtMs(ms) {
  return ms === null || ms === undefined ? "–" : `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
}

// A Bytes trait (DataView) holding a PNG -> ImageBitmap; null for empty bytes.
async function decodePng(bytes) {
  if (!bytes || bytes.byteLength === 0) return null;
  return createImageBitmap(new Blob([bytes], { type: "image/png" }));
}

// The mask is white where set, transparent elsewhere: recolour it in one composite operation.
function tintMask(bitmap, color) {
  const c = h("canvas");
  c.width = bitmap.width;
  c.height = bitmap.height;
  const g = c.getContext("2d");
  g.drawImage(bitmap, 0, 0);
  g.globalCompositeOperation = "source-in";
  g.fillStyle = color;
  g.fillRect(0, 0, c.width, c.height);
  return c;
}

// Image, then the tinted mask at half opacity, then the box and the points; with `instances`
// (text mode: [{box, label, score}]) their boxes and "phrase score" labels on top.
function drawScene(canvas, image, overlay, model, drag, instances, selected) {
  const g = canvas.getContext("2d");
  g.clearRect(0, 0, canvas.width, canvas.height);
  g.drawImage(image, 0, 0, canvas.width, canvas.height);
  if (overlay) {
    g.globalAlpha = 0.5;
    g.imageSmoothingEnabled = false;
    g.drawImage(overlay, 0, 0, canvas.width, canvas.height);
    g.globalAlpha = 1;
  }
  const sx = canvas.width / model.get("width");
  const sy = canvas.height / model.get("height");
  const unit = Math.max(canvas.width, canvas.height) / 500;
  g.lineWidth = Math.max(1.5, 1.5 * unit);
  const rect = (b) => g.strokeRect(b[0] * sx, b[1] * sy, (b[2] - b[0]) * sx, (b[3] - b[1]) * sy);
  const box = model.get("box");
  g.strokeStyle = "#ffd400";
  if (box) rect(box);
  if (drag) {
    g.setLineDash([6 * unit, 4 * unit]);
    rect(drag);
    g.setLineDash([]);
  }
  for (const [x, y, label] of model.get("points")) {
    g.beginPath();
    g.arc(x * sx, y * sy, Math.max(3, 4 * unit), 0, 2 * Math.PI);
    g.fillStyle = label ? "#00e676" : "#ff1744";
    g.fill();
    g.strokeStyle = "#ffffff";
    g.stroke();
  }
  if (instances && instances.length) drawInstances(g, instances, sx, sy, unit, selected);
}

function instanceColor(i) {
  return SAMKIT_COLORS[i % SAMKIT_COLORS.length];
}

// Box outlines and "phrase 0.87" tags of text-mode instances (boxes in original pixels; an
// instance's own `color` if it has one, else the colour of its place).
function drawInstances(g, instances, sx, sy, unit, selected) {
  const font = Math.max(10, Math.round(11 * unit));
  g.font = `${font}px sans-serif`;
  g.textBaseline = "top";
  instances.forEach((inst, i) => {
    const [x0, y0, x1, y1] = inst.box;
    const color = inst.color || instanceColor(i);
    g.lineWidth = Math.max(1.5, (i === selected ? 3 : 1.5) * unit);
    g.strokeStyle = color;
    g.strokeRect(x0 * sx, y0 * sy, (x1 - x0) * sx, (y1 - y0) * sy);
    const tag = `${inst.label} ${inst.score.toFixed(2)}`;
    const w = g.measureText(tag).width + 6;
    const top = Math.max(0, y0 * sy - font - 4);
    g.fillStyle = color;
    g.fillRect(x0 * sx, top, w, font + 4);
    g.fillStyle = "#ffffff";
    g.fillText(tag, x0 * sx + 3, top + 2);
  });
}

// All instance masks (bitmaps), each tinted in its own colour, composed into one overlay canvas.
function instanceOverlay(bitmaps) {
  const first = bitmaps.find(Boolean);
  if (!first) return null;
  const c = h("canvas");
  c.width = first.width;
  c.height = first.height;
  const g = c.getContext("2d");
  g.imageSmoothingEnabled = false;
  bitmaps.forEach((b, i) => { if (b) g.drawImage(tintMask(b, instanceColor(i)), 0, 0); });
  return c;
}

// The text box: phrase input, box/text thresholds (empty = the model's defaults), Find and ×.
// Enter or Find sends {event: "text", text, box_threshold, text_threshold}; × sends
// {event: "clear_text"}. Returns {node, input, sync}; `sync()` shows the traits' current values.
function textBar(model, onSubmit, labels) {
  const names = Object.assign(
    { first: "box ≥", second: "text ≥", firstTitle: "box threshold", secondTitle: "text threshold" },
    labels || {},
  );
  const node = h("div", "samkit-textbar");
  const input = h("input", "samkit-text");
  input.type = "text";
  input.placeholder = "text prompt: a dog. a cat.";
  const threshold = (cls, title) => {
    const box = h("input", cls);
    box.type = "number";
    box.min = "0";
    box.max = "1";
    box.step = "0.05";
    box.placeholder = "default";
    box.title = title;
    return box;
  };
  const boxThr = threshold("samkit-box-threshold", `${names.firstTitle} (0-1; empty: the model's default)`);
  const textThr = threshold("samkit-text-threshold", `${names.secondTitle} (0-1; empty: the model's default)`);
  const find = h("button", "samkit-find", "Find");
  const off = h("button", "samkit-clear-text", "×");
  off.title = "end the text query (back to clicks)";
  node.append(input, h("span", "", names.first), boxThr, h("span", "", names.second), textThr, find, off);
  const submit = () => {
    model.send({ event: "text", text: input.value, box_threshold: boxThr.value,
                 text_threshold: textThr.value });
    if (onSubmit) onSubmit();
  };
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      submit();
    }
  });
  find.addEventListener("click", submit);
  off.addEventListener("click", () => model.send({ event: "clear_text" }));
  const sync = () => {
    node.style.display = model.get("text_enabled") ? "" : "none";
    const text = model.get("text");
    if (text !== null && text !== undefined) input.value = text;
    const b = model.get("box_threshold");
    const t = model.get("text_threshold");
    boxThr.value = b === null || b === undefined ? "" : String(b);
    textThr.value = t === null || t === undefined ? "" : String(t);
  };
  sync();
  return { node, input, sync };
}

// Pointer input on `canvas` -> prompts in original pixels, written to the synced traits.
// Left click: foreground point; shift- or right-click: background point; drag: box.
// `onEvent({drag})` is called while dragging, `onEvent({sent: true})` after the traits were sent.
function attachPromptInput(canvas, model, onEvent) {
  let start = null;
  let drag = null;
  const toImage = (e) => {
    const r = canvas.getBoundingClientRect();
    const W = model.get("width");
    const H = model.get("height");
    const x = Math.min(Math.max(((e.clientX - r.left) / r.width) * W, 0), W - 0.01);
    const y = Math.min(Math.max(((e.clientY - r.top) / r.height) * H, 0), H - 0.01);
    return [Math.round(x * 100) / 100, Math.round(y * 100) / 100];
  };
  canvas.addEventListener("contextmenu", (e) => e.preventDefault());
  canvas.addEventListener("pointerdown", (e) => {
    e.preventDefault();
    start = { at: [e.clientX, e.clientY], p: toImage(e), negative: e.button === 2 || e.shiftKey };
    drag = null;
    canvas.setPointerCapture(e.pointerId);
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!start) return;
    if (!drag && Math.hypot(e.clientX - start.at[0], e.clientY - start.at[1]) <= SAMKIT_DRAG_PX) return;
    const p = toImage(e);
    drag = [Math.min(start.p[0], p[0]), Math.min(start.p[1], p[1]),
            Math.max(start.p[0], p[0]), Math.max(start.p[1], p[1])];
    onEvent({ drag });
  });
  canvas.addEventListener("pointerup", () => {
    if (!start) return;
    if (drag) {
      model.set("box", drag);
    } else {
      const [x, y] = start.p;
      model.set("points", [...model.get("points"), [x, y, start.negative ? 0 : 1]]);
    }
    start = null;
    drag = null;
    model.save_changes();
    onEvent({ drag: null, sent: true });
  });
}

// `fn` wrapped to run once after the current burst of synchronous events (e.g. all the change
// events of one kernel message), however many of them call it.
function coalesce(fn) {
  let queued = false;
  return () => {
    if (queued) return;
    queued = true;
    queueMicrotask(() => {
      queued = false;
      fn();
    });
  };
}

// model.on with removal when the view goes away.
function listen(model, handlers) {
  for (const [event, fn] of Object.entries(handlers)) model.on(event, fn);
  return () => {
    for (const [event, fn] of Object.entries(handlers)) model.off(event, fn);
  };
}

function weightsBadge(text, random) {
  const badge = h("span", "samkit-weights" + (random ? " samkit-random" : ""), text);
  badge.title = text;  // the label carries samkit.wording.RANDOM_WEIGHTS_WARNING for random weights
  return badge;
}

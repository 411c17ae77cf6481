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

// Image, then the tinted mask at half opacity, then the box and the points.
function drawScene(canvas, image, overlay, model, drag) {
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
  badge.title = text;  // the label carries samkit.labels.RANDOM_WEIGHTS_WARNING for random weights
  return badge;
}

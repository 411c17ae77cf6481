// CompareWidget's view (samkit/widgets/compare.py); helpers come from _common.js.
// One panel per model; a prompt on any panel goes to all models. Sets data-ready="1" once the
// image is drawn and data-mask-drawn=<count> each time the panels are drawn with masks. One text
// query runs on every model that takes text; each panel then shows its instances (masks, boxes,
// "phrase score" tags) or its note, and data-instances=<total> is set once they are drawn.

function render({ model, el }) {
  const root = h("div", "samkit-compare");
  const bar = h("div", "samkit-bar");
  const refLabel = h("label", "", "IoU against ");
  const reference = h("select", "samkit-reference");
  refLabel.append(reference);
  const undo = h("button", "samkit-undo", "Undo");
  const clear = h("button", "samkit-clear", "Clear");
  bar.append(refLabel, undo, clear);
  const grid = h("div", "samkit-grid");
  const status = h("div", "samkit-status");
  const error = h("div", "samkit-error");
  const hint = h("div", "samkit-hint",
    "click on any panel: object · shift- or right-click: background · drag: box");
  const text = textBar(model);
  const textHint = h("div", "samkit-hint samkit-text-hint");
  root.append(bar, text.node, grid, status, error, textHint, hint);
  el.append(root);

  let image = null;
  let overlays = [];
  let instances = []; // per panel, text mode: [{box, label, score}]
  let panels = []; // [{canvas, title, stats}] in the order of the `labels` trait
  let drag = null;
  let drawn = 0;
  let token = 0;

  const buildPanels = () => {
    grid.replaceChildren();
    panels = model.get("labels").map(() => {
      const box = h("div", "samkit-panel");
      const title = h("div", "samkit-title");
      const canvas = h("canvas", "samkit-canvas");
      const stats = h("div", "samkit-stats");
      const note = h("div", "samkit-note");
      box.append(title, canvas, stats, note);
      grid.append(box);
      attachPromptInput(canvas, model, (event) => {
        drag = event.drag;
        redraw();
      });
      return { canvas, title, stats, note };
    });
    reference.replaceChildren(...model.get("labels").map((label) => {
      const option = h("option", "", label);
      option.value = label;
      return option;
    }));
    reference.value = model.get("reference");
  };

  const redraw = () => {
    if (!image) return;
    panels.forEach((p, i) => drawScene(p.canvas, image, overlays[i] || null, model, drag,
                                       instances[i] || [], -1));
    if (overlays.some(Boolean)) root.dataset.maskDrawn = String(++drawn);
  };

  const redrawSoon = coalesce(redraw);

  const renderStats = () => {
    const ref = model.get("reference");
    model.get("panels").forEach((info, i) => {
      const p = panels[i];
      if (!p) return;
      p.title.replaceChildren(h("b", "", info.label), weightsBadge(info.weights, info.random_weights));
      const iou = info.iou === null || info.iou === undefined ? "–"
        : info.label === ref ? "reference" : info.iou.toFixed(3);
      const score = info.score === null || info.score === undefined ? "–" : info.score.toFixed(3);
      const found = info.instances && info.instances.length ? ` · ${info.instances.length} instances` : "";
      const detect = info.detect_ms === null || info.detect_ms === undefined ? ""
        : ` · detector ${fmtMs(info.detect_ms)}`;
      p.stats.textContent = `encoder ${fmtMs(info.encoder_ms)}${detect} · decoder ${fmtMs(info.decoder_ms)}`
        + ` · score ${score} · IoU vs ${ref}: ${iou}${found}`;
      p.note.textContent = info.note || "";
    });
    reference.value = ref;
  };

  const loadImage = async () => {
    image = await decodePng(model.get("image"));
    if (!image) return;
    for (const p of panels) {
      p.canvas.width = image.width;
      p.canvas.height = image.height;
    }
    redraw();
    root.dataset.ready = "1";
  };

  const loadMasks = async () => {
    const mine = ++token;
    const decoded = await Promise.all(model.get("mask_pngs").map(decodePng));
    const perPanel = await Promise.all((model.get("instance_pngs") || []).map(
      (pngs) => Promise.all(pngs.map(decodePng))));
    if (mine !== token) return;
    const infos = model.get("panels");
    instances = infos.map((info) => info.instances || []);
    overlays = decoded.map((b, i) => {
      if (perPanel[i] && perPanel[i].length) return instanceOverlay(perPanel[i]);
      return b ? tintMask(b, SAMKIT_COLORS[i % SAMKIT_COLORS.length]) : null;
    });
    redraw();
    if (model.get("text") !== null) {
      root.dataset.instances = String(instances.reduce((n, list) => n + list.length, 0));
    }
  };

  const loadMasksSoon = coalesce(loadMasks);

  undo.addEventListener("click", () => model.send({ event: "undo" }));
  clear.addEventListener("click", () => model.send({ event: "clear" }));
  reference.addEventListener("change", () => {
    model.set("reference", reference.value);
    model.save_changes();
  });

  const stop = listen(model, {
    "change:image": loadImage,
    "change:mask_pngs": loadMasksSoon,
    "change:instance_pngs": loadMasksSoon,
    "change:text_runs": loadMasksSoon,
    "change:text": text.sync,
    "change:box_threshold": text.sync,
    "change:text_threshold": text.sync,
    "change:text_enabled": text.sync,
    "change:text_hint": () => { textHint.textContent = model.get("text_hint"); },
    "change:labels": () => { buildPanels(); loadImage().then(loadMasks).then(renderStats); },
    "change:panels": renderStats,
    "change:reference": renderStats,
    "change:points": redrawSoon,
    "change:box": redrawSoon,
    "change:error": () => { error.textContent = model.get("error"); },
    "change:status": () => { status.textContent = model.get("status"); },
  });

  buildPanels();
  renderStats();
  textHint.textContent = model.get("text_hint");
  error.textContent = model.get("error");
  status.textContent = model.get("status");
  loadImage().then(loadMasks);
  return stop;
}

export default { render };

// SegmentWidget's view (samkit/widgets/segment.py); helpers come from _common.js.
// Sets on its root: data-ready="1" once the image is drawn; data-mask-drawn=<count> each time a
// mask overlay is drawn; data-roundtrip-ms (click -> mask drawn) and data-draw-ms (masks arrived
// -> drawn). The end-to-end test waits for these. In text mode (the `instances` trait is not
// empty) every instance is drawn (its mask, box and "phrase score" tag), and data-instances=<n> is
// set each time a text query's result is drawn (0 when nothing was found).

function render({ model, el }) {
  const root = h("div", "samkit-segment");
  const bar = h("div", "samkit-bar");
  const select = h("select", "samkit-model");
  select.title = "model (loaded with the same weights kind and device)";
  let badge = h("span");
  const undo = h("button", "samkit-undo", "Undo");
  const clear = h("button", "samkit-clear", "Clear");
  bar.append(select, badge, undo, clear);
  const canvas = h("canvas", "samkit-canvas");
  const choices = h("div", "samkit-choices");
  const info = h("div", "samkit-info");
  const status = h("div", "samkit-status");
  const error = h("div", "samkit-error");
  const hint = h("div", "samkit-hint",
    "click: object · shift- or right-click: background · drag: box");
  const text = textBar(model, () => { pendingSince = performance.now(); });
  const textHint = h("div", "samkit-hint samkit-text-hint");
  root.append(bar, text.node, canvas, choices, info, status, error, textHint, hint);
  el.append(root);

  let image = null;
  // what is on screen: the mask set it came from, its decoded candidates, the selected index
  let shown = { pngs: null, bitmaps: [], overlays: [], sel: 0, instances: [] };
  let drag = null;
  let pendingSince = null;
  let roundtripMs = null;
  let drawn = 0;
  let token = 0;

  const redraw = () => {
    if (!image) return;
    const overlay = shown.instances.length ? shown.overlays[0] : shown.overlays[shown.sel] || null;
    drawScene(canvas, image, overlay, model, drag, shown.instances, shown.sel);
    if (overlay) root.dataset.maskDrawn = String(++drawn);
  };

  const redrawSoon = coalesce(redraw);

  const renderInfo = () => {
    const detect = model.get("detect_ms");
    info.textContent = `encoder ${fmtMs(model.get("encoder_ms"))}`
      + (detect === null || detect === undefined ? "" : ` · detector ${fmtMs(detect)}`)
      + ` · decoder ${fmtMs(model.get("decoder_ms"))}`
      + ` · python ${fmtMs(model.get("handle_ms"))} · click→mask ${fmtMs(roundtripMs)}`
      + ` · ${model.get("device")}`;
  };

  // Text mode: a legend, one entry per instance (click: select it for to_png / to_coco_rle).
  const renderLegend = () => {
    choices.replaceChildren(...shown.instances.map((inst, i) => {
      const item = h("button", "samkit-instance" + (i === shown.sel ? " samkit-selected" : ""));
      const swatch = h("span", "samkit-swatch");
      swatch.style.background = instanceColor(i);
      item.append(swatch, h("span", "", `${inst.label} ${inst.score.toFixed(3)}`));
      item.addEventListener("click", () => {
        model.set("selected", i);
        model.save_changes();
      });
      return item;
    }));
  };

  const renderChoices = () => {
    if (shown.instances.length) {
      renderLegend();
      return;
    }
    choices.replaceChildren();
    const scores = model.get("scores");
    const areas = model.get("areas");
    shown.bitmaps.forEach((bitmap, i) => {
      if (!bitmap) return;
      const item = h("button", "samkit-choice" + (i === shown.sel ? " samkit-selected" : ""));
      const thumb = h("canvas");
      thumb.width = 96;
      thumb.height = Math.max(1, Math.round((96 * image.height) / image.width));
      drawScene(thumb, image, shown.overlays[i], model, null);
      const pct = areas[i] === undefined ? "" : ` · ${(100 * areas[i]).toFixed(0)}%`;
      item.append(thumb, h("span", "", `#${i + 1} score ${scores[i].toFixed(3)}${pct}`));
      item.addEventListener("click", () => {
        model.set("selected", i);
        model.save_changes();
      });
      choices.append(item);
    });
  };

  const renderSelect = () => {
    select.replaceChildren(...model.get("model_names").map((n) => {
      const option = h("option", "", n);
      option.value = n;
      return option;
    }));
    select.value = model.get("model_name");
  };

  const renderWeights = () => {
    const next = weightsBadge(model.get("weights"), model.get("random_weights"));
    badge.replaceWith(next);
    badge = next;
  };

  const loadImage = async () => {
    image = await decodePng(model.get("image"));
    if (!image) return;
    canvas.width = image.width;
    canvas.height = image.height;
    canvas.style.maxWidth = `${image.width}px`;
    redraw();
    root.dataset.ready = "1";
  };

  // New masks: the selected one is decoded and drawn first, the other candidates follow.
  const loadMasks = async () => {
    const mine = ++token; // a newer update makes older ones, still decoding, stop
    const arrived = performance.now();
    const pngs = model.get("mask_pngs");
    const sel = model.get("selected");
    const instances = model.get("instances") || [];
    if (instances.length || model.get("text") !== null) {
      // text mode: every instance at once, each in its own colour
      const bitmaps = await Promise.all(pngs.map(decodePng));
      if (mine !== token) return;
      shown = { pngs, bitmaps, overlays: [instanceOverlay(bitmaps)], sel, instances };
      redraw();
      root.dataset.drawMs = (performance.now() - arrived).toFixed(1);
      root.dataset.instances = String(instances.length);
      if (pendingSince !== null) {
        roundtripMs = performance.now() - pendingSince;
        pendingSince = null;
        root.dataset.roundtripMs = roundtripMs.toFixed(1);
      }
      renderInfo();
      renderLegend();
      return;
    }
    const first = pngs.length ? await decodePng(pngs[sel]) : null;
    if (mine !== token) return;
    const bitmaps = pngs.map((_, i) => (i === sel ? first : null));
    const overlays = bitmaps.map((b) => b && tintMask(b, SAMKIT_COLORS[0]));
    shown = { pngs, bitmaps, overlays, sel, instances: [] };
    redraw();
    root.dataset.drawMs = (performance.now() - arrived).toFixed(1);
    if (pendingSince !== null && first) {
      roundtripMs = performance.now() - pendingSince;
      pendingSince = null;
      root.dataset.roundtripMs = roundtripMs.toFixed(1);
    }
    renderInfo();
    const rest = await Promise.all(pngs.map((png, i) => (i === sel ? first : decodePng(png))));
    if (mine !== token) return;
    shown.bitmaps = rest;
    shown.overlays = rest.map((b, i) => (i === sel ? overlays[i] : b && tintMask(b, SAMKIT_COLORS[0])));
    renderChoices();
  };

  const loadMasksSoon = coalesce(loadMasks);

  // A new selection of the masks on screen (a thumbnail click, or from Python); a selection that
  // comes with new masks is drawn by loadMasks instead.
  const onSelected = () => {
    if (model.get("mask_pngs") !== shown.pngs) return;
    shown.sel = model.get("selected");
    redrawSoon();
    renderChoices();
  };

  attachPromptInput(canvas, model, (event) => {
    drag = event.drag;
    if (event.sent) pendingSince = performance.now();
    redraw();
  });
  undo.addEventListener("click", () => model.send({ event: "undo" }));
  clear.addEventListener("click", () => model.send({ event: "clear" }));
  select.addEventListener("change", () => {
    model.set("model_name", select.value);
    model.save_changes();
  });

  const stop = listen(model, {
    "change:image": loadImage,
    "change:mask_pngs": loadMasksSoon,
    "change:text_runs": loadMasksSoon,
    "change:selected": onSelected,
    "change:points": redrawSoon,
    "change:box": redrawSoon,
    "change:encoder_ms": renderInfo,
    "change:decoder_ms": renderInfo,
    "change:handle_ms": renderInfo,
    "change:error": () => {
      error.textContent = model.get("error");
      if (model.get("error")) pendingSince = null; // no mask will come for that click
    },
    "change:status": () => { status.textContent = model.get("status"); },
    "change:model_names": renderSelect,
    "change:model_name": renderSelect,
    "change:weights": renderWeights,
    "change:text": text.sync,
    "change:box_threshold": text.sync,
    "change:text_threshold": text.sync,
    "change:text_enabled": text.sync,
    "change:text_hint": () => { textHint.textContent = model.get("text_hint"); },
    "change:detect_ms": renderInfo,
  });

  renderSelect();
  renderWeights();
  renderInfo();
  textHint.textContent = model.get("text_hint");
  error.textContent = model.get("error");
  status.textContent = model.get("status");
  loadImage().then(loadMasks);
  return stop;
}

export default { render };

// VideoWidget's view (samkit/widgets/video.py); helpers come from _common.js.
// The browser asks for a frame by setting the `frame` trait (slider, Play); Python answers with
// that frame's `image` (JPEG or PNG: `image_format`) and its `mask_pngs` (one 1-bit PNG per object,
// ids in `mask_ids`), which are tinted per object (the colour of its place in `obj_ids`).
// With a text-video model (SAM 3) a text box tracks every instance of the phrases; each object's
// `mask_tags` entry ({obj_id, label, score, box}) is drawn as a tagged box in its colour.
// Sets on its root: data-ready="1" once a frame is drawn; data-frame=<index> of the frame on
// screen; data-mask-drawn=<count> each time masks are drawn.

function render({ model, el }) {
  const root = h("div", "samkit-video");
  const bar = h("div", "samkit-bar");
  let badge = h("span");
  const objects = h("select", "samkit-object");
  objects.title = "the object that clicks and boxes prompt";
  const propagate = h("button", "samkit-propagate", "Propagate");
  const reverseLabel = h("label", "samkit-reverse");
  const reverse = h("input");
  reverse.type = "checkbox";
  reverseLabel.append(reverse, h("span", "", " reverse"));
  const reset = h("button", "samkit-reset", "Reset");
  bar.append(badge, h("span", "", "object"), objects, propagate, reverseLabel, reset);
  // text concepts (SAM 3): every instance of the phrases, tracked through the video
  const text = textBar(model, null, {
    first: "detect ≥", second: "new ≥",
    firstTitle: "detection threshold", secondTitle: "new-object threshold",
  });
  text.input.placeholder = "track every: a person. a dog.";
  const canvas = h("canvas", "samkit-canvas");
  const controls = h("div", "samkit-bar samkit-timeline");
  const play = h("button", "samkit-play", "▶ Play");
  const slider = h("input", "samkit-slider");
  slider.type = "range";
  slider.min = "0";
  slider.step = "1";
  const label = h("span", "samkit-frame-label");
  controls.append(play, slider, label);
  const info = h("div", "samkit-info");
  const status = h("div", "samkit-status");
  const error = h("div", "samkit-error");
  const hint = h("div", "samkit-hint",
    "click: object · shift- or right-click: background · drag: box (current object, current frame)");
  root.append(bar, text.node, canvas, controls, info, status, error, hint);
  el.append(root);

  let image = null;
  let overlay = null;
  let drag = null;
  let shownFrame = -1;
  let drawn = 0;
  let token = 0;
  let timer = null;

  const colorOf = (oid) => {
    const i = model.get("obj_ids").indexOf(oid);
    return SAMKIT_COLORS[(i < 0 ? 0 : i) % SAMKIT_COLORS.length];
  };

  const redraw = () => {
    if (!image) return;
    const tags = model.get("mask_tags").map((t) => ({ ...t, color: colorOf(t.obj_id) }));
    drawScene(canvas, image, overlay, model, drag, tags);
    if (overlay) root.dataset.maskDrawn = String(++drawn);
  };
  const redrawSoon = coalesce(redraw);

  const renderLabel = () => {
    const n = model.get("num_frames");
    const tracked = model.get("tracked_frames").length;
    label.textContent = `frame ${model.get("frame")} / ${n - 1} · masks on ${tracked} frames`;
  };

  const renderInfo = () => {
    info.textContent = `prompt ${fmtMs(model.get("prompt_ms"))}`
      + ` · propagate ${fmtMs(model.get("propagate_ms"))} (${model.get("propagated")} frames)`
      + ` · ${model.get("model_name")} · ${model.get("device")}`;
  };

  const renderObjects = () => {
    const ids = model.get("obj_ids");
    const current = model.get("obj_id");
    const all = ids.includes(current) ? ids : [...ids, current];
    const options = all.map((oid) => {
      const option = h("option", "", `● ${oid}`);
      option.value = String(oid);
      option.style.color = colorOf(oid);
      return option;
    });
    const fresh = h("option", "", "+ new object");
    fresh.value = "new";
    objects.replaceChildren(...options, fresh);
    objects.value = String(current);
    objects.style.color = colorOf(current);
  };

  const renderWeights = () => {
    const next = weightsBadge(model.get("weights"), model.get("random_weights"));
    badge.replaceWith(next);
    badge = next;
  };

  const renderSlider = () => {
    slider.max = String(Math.max(0, model.get("num_frames") - 1));
    slider.value = String(model.get("frame"));
    renderLabel();
  };

  // The frame and its masks arrive together (one message); decode both, then draw.
  const loadFrame = async () => {
    const mine = ++token;
    const frame = model.get("frame");
    const type = model.get("image_format") === "png" ? "image/png" : "image/jpeg";
    const bytes = model.get("image");
    const pngs = model.get("mask_pngs");
    const ids = model.get("mask_ids");
    const [next, ...bitmaps] = await Promise.all([
      bytes && bytes.byteLength ? createImageBitmap(new Blob([bytes], { type })) : null,
      ...pngs.map(decodePng),
    ]);
    if (mine !== token || !next) return;
    image = next;
    if (canvas.width !== image.width || canvas.height !== image.height) {
      canvas.width = image.width;
      canvas.height = image.height;
      canvas.style.maxWidth = `${image.width}px`;
    }
    if (bitmaps.some(Boolean)) {
      const c = h("canvas");
      c.width = image.width;
      c.height = image.height;
      const g = c.getContext("2d");
      g.imageSmoothingEnabled = false;
      bitmaps.forEach((b, i) => {
        if (b) g.drawImage(tintMask(b, colorOf(ids[i])), 0, 0, c.width, c.height);
      });
      overlay = c;
    } else {
      overlay = null;
    }
    shownFrame = frame;
    redraw();
    root.dataset.frame = String(frame);
    root.dataset.ready = "1";
  };
  const loadFrameSoon = coalesce(loadFrame);

  const goTo = (frame) => {
    model.set("frame", frame);
    model.save_changes();
  };

  // Play: the next frame is asked for once the one asked before is on screen (never a backlog).
  const stopPlay = () => {
    if (timer !== null) clearInterval(timer);
    timer = null;
    play.textContent = "▶ Play";
  };
  const startPlay = () => {
    play.textContent = "⏸ Pause";
    timer = setInterval(() => {
      const frame = model.get("frame");
      if (shownFrame !== frame) return; // still waiting for it
      const n = model.get("num_frames");
      goTo(n > 0 ? (frame + 1) % n : 0);
    }, 1000 / Math.max(0.5, model.get("fps")));
  };
  play.addEventListener("click", () => (timer === null ? startPlay() : stopPlay()));
  slider.addEventListener("input", () => {
    stopPlay();
    goTo(Number(slider.value));
  });
  objects.addEventListener("change", () => {
    if (objects.value === "new") {
      model.send({ event: "new_object" });
    } else {
      model.set("obj_id", Number(objects.value));
      model.save_changes();
    }
  });
  propagate.addEventListener("click", () => {
    stopPlay();
    model.send({ event: "propagate", reverse: reverse.checked });
  });
  reverse.addEventListener("change", () => {
    model.set("reverse", reverse.checked);
    model.save_changes();
  });
  reset.addEventListener("click", () => {
    stopPlay();
    model.send({ event: "reset" });
  });

  attachPromptInput(canvas, model, (event) => {
    stopPlay();
    drag = event.drag;
    redraw();
  });

  const stop = listen(model, {
    "change:image": loadFrameSoon,
    "change:mask_pngs": loadFrameSoon,
    "change:frame": renderSlider,
    "change:num_frames": renderSlider,
    "change:tracked_frames": renderLabel,
    "change:points": redrawSoon,
    "change:box": redrawSoon,
    "change:obj_id": renderObjects,
    "change:obj_ids": () => { renderObjects(); loadFrameSoon(); },
    "change:reverse": () => { reverse.checked = model.get("reverse"); },
    "change:prompt_ms": renderInfo,
    "change:propagate_ms": renderInfo,
    "change:weights": renderWeights,
    "change:error": () => { error.textContent = model.get("error"); },
    "change:status": () => { status.textContent = model.get("status"); },
    "change:mask_tags": redrawSoon,
    "change:text": text.sync,
    "change:box_threshold": text.sync,
    "change:text_threshold": text.sync,
    "change:text_enabled": text.sync,
  });

  renderWeights();
  renderObjects();
  renderSlider();
  renderInfo();
  reverse.checked = model.get("reverse");
  error.textContent = model.get("error");
  status.textContent = model.get("status");
  loadFrame();
  return () => {
    stopPlay();
    stop();
  };
}

export default { render };

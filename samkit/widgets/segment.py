"""`SegmentWidget`: click on an image, see one model's masks, switch models, export the mask."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import traitlets as t

from samkit.masks import encode_png, encode_rle
from samkit.metrics.perf import timed
from samkit.widgets._state import (
    DEFAULT_MAX_DISPLAY,
    PromptWidget,
    asset,
    finite_or_none,
    instance_records,
    load_kwargs_of,
    model_weights_label,
    resize_nearest,
    resolve_model,
    text_hint,
    warm_up,
)

__all__ = ["SegmentWidget"]


class SegmentWidget(PromptWidget):
    """Interactive segmentation of one image with one model, in Jupyter.

    In the browser: left click adds a foreground point, shift-click or right-click a background
    point, dragging draws a box (one box; a new one replaces it); Undo and Clear buttons; the three
    multimask candidates with their predicted IoU scores (click one to select it); the encoder and
    decoder times; a dropdown that switches the model. For a model that takes text (SAM 3, or a
    box model loaded with ``text_detector=...``) a text box: Enter runs the query (``"a dog. a
    cat."``, with optional box/text thresholds) and shows every instance found, its mask, its box
    and its phrase and score. Text and clicks never mix: a text query removes the point/box
    prompts, and a click (or a box) ends the text query (see `samkit.widgets._state`).

    From Python (no browser needed)::

        w = SegmentWidget(samkit.load("mobile_sam", weights="random"), image)
        w.add_point(220, 130)            # or w.points = [[220, 130, 1]]; w.set_box(x0, y0, x1, y1)
        w.masks, w.scores, w.mask        # (3, H, W) bool, (3,) float, the selected (H, W) mask
        w.to_png("mask.png"); w.to_coco_rle()
        w.model_name = "sam2.1_hiera_tiny"   # loads it with the same weights kind and device

        w = SegmentWidget(samkit.load("sam3"), image)  # or samkit.load(..., text_detector=...)
        w.set_text("a dog. a cat.", box_threshold=0.3)   # every instance of each phrase
        w.text_result                    # the model's PipelineResult (labels, scores, boxes, masks)
        w.masks, w.scores                # (N, H, W) bool instance masks, (N,) detection scores
        w.to_png("dog.png", index=0)     # exports work on the instances; w.clear_text() ends it

    In text mode ``masks`` are the instances' (most confident first), ``scores`` their detection
    scores and ``selected`` the instance that `to_png` / `to_coco_rle` export by default (0, the
    most confident); ``instances`` (synced) holds their phrase, score, box (XYXY pixels) and area.
    A model switched to from the dropdown that takes boxes but no text gets the text detector of
    the model the widget started with (the same detector object), so that text keeps working.

    Args:
        model: a loaded model (`samkit.load`) or a registered name (loaded with ``load_kwargs``).
        image: HxWx3 uint8 RGB (numpy or PIL); prompts are in its pixels.
        load_kwargs: `samkit.load` arguments for ``model`` given by name, and for models the
            dropdown switches to (default: the weights kind, seed and device of ``model``).
        max_display: longest side of the copy the browser shows (masks are sent at that size; the
            Python-side masks are always full size). None: full size.
        model_names: names offered in the dropdown (default: every registered model).
    """

    _esm = asset("_common.js", "segment.js")
    _css = asset("_common.css", "segment.css")

    # masks: one 1-bit PNG per candidate at display size, 0 = transparent (see _state)
    mask_pngs = t.List(t.Bytes()).tag(sync=True)
    scores = t.List(t.Float()).tag(sync=True)
    areas = t.List(t.Float()).tag(sync=True)  # fraction of the image each mask covers
    selected = t.Int(0).tag(sync=True)
    encoder_ms = t.Float(0.0).tag(sync=True)
    decoder_ms = t.Float(0.0).tag(sync=True)
    model_name = t.Unicode("").tag(sync=True)
    model_names = t.List(t.Unicode()).tag(sync=True)
    weights = t.Unicode("").tag(sync=True)
    random_weights = t.Bool(False).tag(sync=True)
    device = t.Unicode("").tag(sync=True)
    text_source = t.Unicode("").tag(sync=True)  # "native", "detector:<name>", or "" (no text)
    # text mode: one record per instance (label, score, mask_score, box XYXY, area), in the order
    # of mask_pngs; empty in click mode
    instances = t.List(t.Dict()).tag(sync=True)
    detect_ms = t.Float(None, allow_none=True).tag(sync=True)  # the text detector's time (None: none)
    text_runs = t.Int(0).tag(sync=True)  # +1 per text query result (the browser redraws on it)

    def __init__(
        self,
        model: Any,
        image: Any,
        *,
        load_kwargs: dict[str, Any] | None = None,
        max_display: int | None = DEFAULT_MAX_DISPLAY,
        multimask: bool = True,
        model_names: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        from samkit.registry import list_models

        self._model = resolve_model(model, dict(load_kwargs or {}))
        self._load_kwargs = {**load_kwargs_of(self._model), **(load_kwargs or {})}
        self._models = {self._model.name: self._model}
        self._masks = np.zeros((0, 0, 0), dtype=bool)
        self._scores = np.zeros(0, dtype=np.float32)
        self._low_res = None
        self._text_result = None
        self._text_detector = getattr(self._model, "text_detector", None)
        names = list(model_names) if model_names is not None else list_models()
        if self._model.name not in names:
            names.insert(0, self._model.name)
        super().__init__(image, max_display=max_display, multimask=multimask, model_names=names, **kwargs)
        self._masks = np.zeros((0, self.height, self.width), dtype=bool)
        self._show_model(self._model)
        self._embed()
        self._ready = True
        self._update(force=True)

    # ------------------------------------------------------------------ public API
    @property
    def model(self):
        """The model in use (switch with ``widget.model_name = name``)."""
        return self._model

    @property
    def masks(self) -> np.ndarray:
        """The current masks, (C, H, W) bool at the original size (C = 3, or 1 without multimask;
        0 when there is no prompt or the prompt is invalid)."""
        return self._masks

    @property
    def mask(self) -> np.ndarray | None:
        """The selected mask (H, W) bool, or None when there is none."""
        if len(self._masks) == 0:
            return None
        return self._masks[min(self.selected, len(self._masks) - 1)]

    @property
    def low_res_logits(self) -> np.ndarray | None:
        """The model's (C, 256, 256) low-res logits of the current masks (for ``mask_input``)."""
        return self._low_res

    @property
    def text_result(self):
        """The `samkit.pipelines.PipelineResult` of the current text query, or None (click mode,
        or an error)."""
        return self._text_result

    def select(self, index: int) -> None:
        """Select one of the candidate masks (as clicking its thumbnail does)."""
        if not 0 <= index < max(len(self._masks), 1):
            raise IndexError(f"mask index {index} out of range (0..{len(self._masks) - 1})")
        self.selected = int(index)

    def to_png(self, path: str | Path | None = None, index: int | None = None) -> bytes:
        """The selected (or ``index``) mask as a 1-bit PNG (white = mask), written to ``path`` if given."""
        data = encode_png(self._mask_at(index), transparent=False, level=6)
        if path is not None:
            Path(path).write_bytes(data)
        return data

    def to_coco_rle(self, index: int | None = None) -> dict[str, Any]:
        """The selected (or ``index``) mask as COCO RLE: ``{"size": [H, W], "counts": str}``."""
        return encode_rle(self._mask_at(index))

    # ------------------------------------------------------------------ internals
    def _mask_at(self, index: int | None) -> np.ndarray:
        if len(self._masks) == 0:
            raise ValueError("no mask yet: add a prompt first (widget.add_point(x, y))")
        return self._masks[self.selected if index is None else index]

    def _state_key(self) -> Any:
        return (self.multimask, self._model.name)

    def _show_model(self, model: Any) -> None:
        with self.hold_sync():
            self.model_name = model.name
            self.weights = model_weights_label(model)
            self.random_weights = getattr(model.weights, "kind", None) == "random"
            self.device = str(model.device)
            self.text_source = model.text_source or ""
            self.text_enabled = "text" in model.capabilities
            self.text_hint = text_hint(model)

    def _device(self) -> Any:
        return self._model.device

    def _embed(self) -> None:
        self.status = f"embedding the image with {self._model.name}…"
        try:
            _, ms = timed(lambda: self._model.set_image(self._image), self._model.device)
            warm_up(self._model, self.height, self.width)
            self.encoder_ms = ms
        finally:
            self.status = ""

    @t.observe("model_name")
    def _on_model_name(self, change: dict[str, Any]) -> None:
        name = change["new"]
        if name == self._model.name:
            return
        previous = self._model
        try:
            model = self._models.get(name)
            if model is None:
                self.status = f"loading {name} ({self._load_kwargs.get('weights')} weights)…"
                model = resolve_model(name, self._load_kwargs)
                self._share_text_detector(model)
                self._models[name] = model
            self._model = model
            self._embed()
        except Exception as err:  # noqa: BLE001 - shown in the UI, the old model stays
            self._model = previous
            self.status = ""
            self._show_model(previous)
            self.error = f"could not switch to {name}: {type(err).__name__}: {err}"
            return
        self._show_model(self._model)
        self._update(force=True)

    def _share_text_detector(self, model: Any) -> None:
        """Give a newly loaded box model without text the widget's text detector, if it has one."""
        caps = model.capabilities
        if self._text_detector is not None and "text" not in caps and "box" in caps:
            from samkit.pipelines.text import attach_text_detector

            attach_text_detector(model, self._text_detector)

    def _predict(self, prompts: dict[str, Any] | None) -> None:
        self._text_result = None
        if prompts is None:
            self._masks = np.zeros((0, self.height, self.width), dtype=bool)
            self._scores = np.zeros(0, dtype=np.float32)
            self._low_res = None
            with self.hold_sync():
                self.mask_pngs, self.scores, self.areas, self.selected = [], [], [], 0
                self.instances, self.detect_ms = [], None
            return
        model = self._model
        (masks, scores, low_res), ms = timed(
            lambda: model.predict(**prompts, multimask_output=self.multimask), model.device
        )
        self._masks, self._scores, self._low_res = masks, scores, low_res
        size = self.display_hw
        pngs = [encode_png(resize_nearest(m, size), transparent=True) for m in masks]
        with self.hold_sync():
            self.instances, self.detect_ms = [], None
            self.decoder_ms = ms
            self.scores = [float(s) for s in scores]
            self.areas = [np.count_nonzero(m) / m.size for m in masks]
            self.selected = int(np.argmax(scores))
            self.mask_pngs = pngs

    def _predict_text(self, text: str, box_threshold: float | None, text_threshold: float | None) -> str:
        model = self._model
        result = model.predict_text(text, box_threshold=box_threshold, text_threshold=text_threshold)
        masks = np.asarray(result.masks, dtype=bool)
        if len(result) == 0:
            masks = np.zeros((0, self.height, self.width), dtype=bool)
        self._text_result = result
        self._masks, self._scores = masks, np.asarray(result.scores, dtype=np.float32)
        self._low_res = result.low_res_logits
        size = self.display_hw
        pngs = [encode_png(resize_nearest(m, size), transparent=True) for m in masks]
        with self.hold_sync():
            self.detect_ms = finite_or_none(result.detect_ms)
            self.decoder_ms = finite_or_none(result.decoder_ms) or 0.0
            self.scores = [float(s) for s in self._scores]
            self.areas = [np.count_nonzero(m) / m.size for m in masks]
            self.selected = 0
            self.instances = instance_records(result)
            self.mask_pngs = pngs
            self.text_runs += 1
        return text_status(result, text)


def text_status(result: Any, text: str) -> str:
    """The status line of a text query: how many instances of which phrase, or none found."""
    if len(result) == 0:
        return f"no instances found for {text.strip()!r}"
    counts: dict[str, int] = {}
    for label in result.labels:
        counts[label] = counts.get(label, 0) + 1
    found = ", ".join(f"{label} ×{n}" for label, n in counts.items())
    return f"{len(result)} instance{'s' if len(result) != 1 else ''} found: {found}"

"""`CompareWidget`: the same prompts on several models side by side, with latency and IoU."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import traitlets as t

from samkit.errors import SamkitError
from samkit.masks import encode_png
from samkit.metrics.perf import timed
from samkit.widgets._state import (
    DEFAULT_MAX_DISPLAY,
    PromptWidget,
    asset,
    finite_or_none,
    instance_records,
    model_weights_label,
    resize_nearest,
    resolve_model,
    text_hint,
    warm_up,
)

__all__ = ["CompareWidget"]


class CompareWidget(PromptWidget):
    """Several models on one image: every prompt goes to all of them; one panel per model.

    Each panel shows the model's mask (the highest-scoring of its multimask candidates, or its
    single mask with ``multimask=False``), its encoder and decoder times, its score, and its IoU
    against the reference model (a dropdown; the ``reference`` trait). Prompts work as in
    `SegmentWidget`: click on any panel (shift/right-click: background), drag a box, Undo, Clear.

    Text prompts: one query (the text box, or ``set_text``) runs ``predict_text`` on every model
    that takes text; each panel shows its instances (masks, boxes, phrase and score). A model
    without text gets the note "no text prompts (load it with text_detector=...)" in its panel
    (no mask) instead of failing the widget; so does any other error of one model. In text mode
    ``masks[label]`` is the union of the model's instance masks (so ``ious`` compare those
    unions), ``scores[label]`` its best detection score, and ``text_results[label]`` its
    `samkit.pipelines.PipelineResult`. Text and clicks never mix (see `SegmentWidget`).

    From Python::

        w = CompareWidget([samkit.load("mobile_sam", weights="random"), "sam2.1_hiera_tiny"], image,
                          load_kwargs={"weights": "random"})
        w.add_point(220, 130)
        w.masks["mobile_sam"], w.ious, w.table()
        w.set_text("a cat", box_threshold=0.3); w.text_results   # models that take text

    Args:
        models: loaded models and/or registered names (names are loaded with ``load_kwargs``).
            Two entries with the same name get labels ``name``, ``name#2``, ...
        image: HxWx3 uint8 RGB; prompts are in its pixels.
        reference: label of the reference model (default: the first).
        load_kwargs: `samkit.load` arguments for models given by name.
        max_display: longest side of the copy the browser shows. None: full size.
    """

    _esm = asset("_common.js", "compare.js")
    _css = asset("_common.css", "compare.css")

    labels = t.List(t.Unicode()).tag(sync=True)
    reference = t.Unicode("").tag(sync=True)
    # one dict per model: label, name, weights, random_weights, encoder_ms, decoder_ms, score, iou, area
    panels = t.List(t.Dict()).tag(sync=True)
    mask_pngs = t.List(t.Bytes()).tag(sync=True)  # one per model (empty bytes: no mask)
    # text mode: per model, one PNG per instance (in the order of panels[i]["instances"])
    instance_pngs = t.List(t.List(t.Bytes())).tag(sync=True)
    text_runs = t.Int(0).tag(sync=True)  # +1 per text query result (the browser redraws on it)

    def __init__(
        self,
        models: Sequence[Any],
        image: Any,
        *,
        reference: str | None = None,
        load_kwargs: dict[str, Any] | None = None,
        max_display: int | None = DEFAULT_MAX_DISPLAY,
        multimask: bool = True,
        **kwargs: Any,
    ) -> None:
        if len(models) == 0:
            raise ValueError("CompareWidget needs at least one model")
        loaded = [resolve_model(m, dict(load_kwargs or {})) for m in models]
        labels: list[str] = []
        for m in loaded:
            label, k = m.name, 1
            while label in labels:
                k += 1
                label = f"{m.name}#{k}"
            labels.append(label)
        if reference is not None and reference not in labels:
            raise ValueError(f"reference {reference!r} is not one of the models: {labels}")
        self._models = dict(zip(labels, loaded))
        self._masks: dict[str, np.ndarray] = {}
        self._scores: dict[str, float] = {}
        self._encoder_ms = dict.fromkeys(labels, 0.0)
        self._decoder_ms: dict[str, float] = dict.fromkeys(labels, 0.0)
        self._text_results: dict[str, Any] = {}
        self._notes: dict[str, str] = {}
        super().__init__(
            image,
            max_display=max_display,
            multimask=multimask,
            labels=labels,
            reference=reference or labels[0],
            **kwargs,
        )
        hints = [text_hint(m) for m in loaded if "text" not in m.capabilities]
        self.text_enabled = any("text" in m.capabilities for m in loaded)
        self.text_hint = "; ".join(dict.fromkeys(hints))
        self._embed()
        self._ready = True
        self._update(force=True)

    # ------------------------------------------------------------------ public API
    @property
    def models(self) -> dict[str, Any]:
        """The models by label."""
        return dict(self._models)

    @property
    def masks(self) -> dict[str, np.ndarray]:
        """Each model's current mask, (H, W) bool at the original size (empty dict: no prompt)."""
        return dict(self._masks)

    @property
    def scores(self) -> dict[str, float]:
        """Each model's predicted IoU score of its mask."""
        return dict(self._scores)

    @property
    def text_results(self) -> dict[str, Any]:
        """The `samkit.pipelines.PipelineResult` of the current text query, by label, for each
        model that ran it (empty in click mode)."""
        return dict(self._text_results)

    @property
    def notes(self) -> dict[str, str]:
        """Per-model messages of the current text query ("no text prompts ...", "no instances
        found", or that model's error), by label."""
        return dict(self._notes)

    @property
    def ious(self) -> dict[str, float]:
        """IoU of each model's mask against the reference model's mask (1.0 for the reference)."""
        from samkit.metrics import mask_iou

        ref = self._masks.get(self.reference)
        if ref is None:
            return {}
        return {label: mask_iou(ref, m) for label, m in self._masks.items()}

    def table(self):
        """One row per model (pandas): label, model, weights, device, encoder/decoder ms, score, IoU."""
        import pandas as pd

        ious = self.ious
        rows = []
        for label, model in self._models.items():
            rows.append(
                {
                    "label": label,
                    "model": model.name,
                    "weights": str(model.weights),
                    "device": str(model.device),
                    "encoder_ms": self._encoder_ms[label],
                    "decoder_ms": self._decoder_ms[label] if label in self._masks else None,
                    "score": self._scores.get(label),
                    "iou_vs_reference": ious.get(label),
                    "reference": self.reference,
                    "instances": (len(self._text_results[label]) if label in self._text_results else None),
                }
            )
        return pd.DataFrame(rows)

    # ------------------------------------------------------------------ internals
    def _device(self) -> Any:
        return next(iter(self._models.values())).device

    def _embed(self) -> None:
        for label, model in self._models.items():
            self.status = f"embedding the image with {label}…"
            _, self._encoder_ms[label] = timed(lambda m=model: m.set_image(self._image), model.device)
            warm_up(model, self.height, self.width)
        self.status = ""
        self._publish()

    def _predict(self, prompts: dict[str, Any] | None) -> None:
        self._masks, self._scores = {}, {}
        self._text_results, self._notes = {}, {}
        if prompts is not None:
            for label, model in self._models.items():
                (masks, scores, _), ms = timed(
                    lambda m=model: m.predict(**prompts, multimask_output=self.multimask), model.device
                )
                best = int(np.argmax(scores))
                self._masks[label], self._scores[label] = masks[best], float(scores[best])
                self._decoder_ms[label] = ms
        size = self.display_hw
        pngs = [
            encode_png(resize_nearest(self._masks[label], size), transparent=True) if label in self._masks else b""
            for label in self.labels
        ]
        with self.hold_sync():
            self.mask_pngs = pngs
            self.instance_pngs = [[] for _ in self.labels]
            self._publish()

    def _predict_text(self, text: str, box_threshold: float | None, text_threshold: float | None) -> str:
        from samkit.detectors.base import split_phrases

        split_phrases(text)  # empty text: one PromptError for the whole widget
        self._masks, self._scores, self._text_results, self._notes = {}, {}, {}, {}
        for label, model in self._models.items():
            if "text" not in model.capabilities:
                self._notes[label] = "no text prompts (load it with text_detector='grounding_dino_tiny')"
                continue
            try:
                result, ms = timed(
                    lambda m=model: m.predict_text(text, box_threshold=box_threshold, text_threshold=text_threshold),
                    model.device,
                )
            except SamkitError as err:
                self._notes[label] = str(err)
                continue
            except Exception as err:  # noqa: BLE001 - one model's failure is shown in its panel
                self.log.exception("samkit widget: text prediction failed for %s", label)
                self._notes[label] = f"{type(err).__name__}: {err}"
                continue
            self._text_results[label] = result
            self._decoder_ms[label] = ms
            masks = np.asarray(result.masks, dtype=bool).reshape(-1, self.height, self.width)
            self._masks[label] = masks.any(axis=0)
            if len(result):
                self._scores[label] = float(np.max(result.scores))
            else:
                self._notes[label] = "no instances found"
        size = self.display_hw
        instance_pngs = [
            [encode_png(resize_nearest(m, size), transparent=True) for m in self._text_results[label].masks]
            if label in self._text_results and len(self._text_results[label])
            else []
            for label in self.labels
        ]
        with self.hold_sync():
            self.mask_pngs = [b"" for _ in self.labels]
            self.instance_pngs = instance_pngs
            self._publish()
            self.text_runs += 1
        ran = [label for label in self.labels if label in self._text_results]
        if not ran:
            return "no model here takes text prompts (load one with text_detector=...)"
        found = sum(len(self._text_results[label]) for label in ran)
        if found == 0:
            return f"no instances found for {text.strip()!r}"
        return f"{found} instances found by {len(ran)} model{'s' if len(ran) != 1 else ''}"

    @t.observe("reference")
    def _on_reference(self, change: dict[str, Any]) -> None:
        if change["new"] not in self._models:
            self.error = f"reference {change['new']!r} is not one of the models: {list(self._models)}"
            self.reference = change["old"]
            return
        self._publish()

    def _publish(self) -> None:
        ious = self.ious
        panels = []
        for label, model in self._models.items():
            mask = self._masks.get(label)
            panels.append(
                {
                    "label": label,
                    "name": model.name,
                    "weights": model_weights_label(model),
                    "random_weights": getattr(model.weights, "kind", None) == "random",
                    "device": str(model.device),
                    "encoder_ms": round(self._encoder_ms[label], 2),
                    "decoder_ms": round(self._decoder_ms[label], 2) if mask is not None else None,
                    "score": self._scores.get(label),
                    "iou": ious.get(label),
                    "area": None if mask is None else np.count_nonzero(mask) / mask.size,
                    "text_source": model.text_source or "",
                    "instances": (instance_records(self._text_results[label]) if label in self._text_results else []),
                    "detect_ms": (
                        finite_or_none(self._text_results[label].detect_ms) if label in self._text_results else None
                    ),
                    "note": self._notes.get(label, ""),
                }
            )
        self.panels = panels

"""`CompareWidget`: the same prompts on several models side by side, with latency and IoU."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import traitlets as t

from samkit.metrics.perf import timed
from samkit.widgets._state import (
    DEFAULT_MAX_DISPLAY,
    PromptWidget,
    asset,
    encode_mask_png,
    resize_nearest,
    resolve_model,
    warm_up,
    weights_label,
)

__all__ = ["CompareWidget"]


class CompareWidget(PromptWidget):
    """Several models on one image: every prompt goes to all of them; one panel per model.

    Each panel shows the model's mask (the highest-scoring of its multimask candidates, or its
    single mask with ``multimask=False``), its encoder and decoder times, its score, and its IoU
    against the reference model (a dropdown; the ``reference`` trait). Prompts work as in
    `SegmentWidget`: click on any panel (shift/right-click: background), drag a box, Undo, Clear.

    From Python::

        w = CompareWidget([samkit.load("mobile_sam", weights="random"), "sam2.1_hiera_tiny"], image,
                          load_kwargs={"weights": "random"})
        w.add_point(220, 130)
        w.masks["mobile_sam"], w.ious, w.table()

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
        super().__init__(image, max_display=max_display, multimask=multimask, labels=labels,
                         reference=reference or labels[0], **kwargs)
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
            rows.append({
                "label": label, "model": model.name, "weights": str(model.weights),
                "device": str(model.device), "encoder_ms": self._encoder_ms[label],
                "decoder_ms": self._decoder_ms[label] if label in self._masks else None,
                "score": self._scores.get(label), "iou_vs_reference": ious.get(label),
                "reference": self.reference,
            })
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
        if prompts is not None:
            for label, model in self._models.items():
                (masks, scores, _), ms = timed(
                    lambda m=model: m.predict(**prompts, multimask_output=self.multimask), model.device)
                best = int(np.argmax(scores))
                self._masks[label], self._scores[label] = masks[best], float(scores[best])
                self._decoder_ms[label] = ms
        size = self.display_hw
        pngs = [encode_mask_png(resize_nearest(self._masks[label], size)) if label in self._masks
                else b"" for label in self.labels]
        with self.hold_sync():
            self.mask_pngs = pngs
            self._publish()

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
            panels.append({
                "label": label,
                "name": model.name,
                "weights": weights_label(model),
                "random_weights": getattr(model.weights, "kind", None) == "random",
                "device": str(model.device),
                "encoder_ms": round(self._encoder_ms[label], 2),
                "decoder_ms": round(self._decoder_ms[label], 2) if mask is not None else None,
                "score": self._scores.get(label),
                "iou": ious.get(label),
                "area": None if mask is None else np.count_nonzero(mask) / mask.size,
            })
        self.panels = panels

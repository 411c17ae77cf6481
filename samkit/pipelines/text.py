"""Text prompts on any box-promptable model through an open-vocabulary detector (Grounded-SAM).

`attach_text_detector(model, "grounding_dino_tiny")` gives a model without native text prompts
``model.predict(text=...)`` / ``model.predict_text(...)``: the detector's boxes for the phrases,
then every box in one batched ``predict_boxes`` call. `load` is `samkit.load`: a registered model,
with such a detector attached when ``text_detector=`` is given. SAM 3's native text stays in its
adapter; the model layer knows only the small `DetectorTextPrompter` interface it is handed.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np

from samkit.detectors.base import Detector, detector_class
from samkit.detectors.registry import get_detector_spec
from samkit.instances import PipelineResult
from samkit.loading import load as load_model
from samkit.pipelines._core import resolve_detector
from samkit.pipelines.segment import detect_and_segment

if TYPE_CHECKING:
    import torch

    from samkit.models.base import Segmenter

__all__ = ["DetectorTextPrompter", "attach_text_detector", "load"]


class DetectorTextPrompter:
    """What `Segmenter.predict_text` calls on a model without native text: ``detector``'s boxes for
    the phrases, then one batched ``predict_boxes`` call on the model's image.

    Attributes:
        detector: the open-vocabulary `samkit.detectors.Detector`.
    """

    def __init__(self, detector: Detector) -> None:
        self.detector = detector

    @property
    def source(self) -> str:
        """``"detector:<name>"`` (`Segmenter.text_source`)."""
        return f"detector:{self.detector.name}"

    def predict_text(
        self,
        segmenter: Segmenter,
        rgb: np.ndarray,
        phrases: list[str],
        *,
        box_threshold: float | None,
        text_threshold: float | None,
    ) -> PipelineResult:
        """Every instance of ``phrases`` on ``rgb`` (HxWx3 uint8, already ``segmenter``'s image)."""
        return detect_and_segment(
            self.detector,
            segmenter,
            rgb,
            phrases,
            embed=False,
            text=phrases,
            box_threshold=box_threshold,
            text_threshold=text_threshold,
        )


def attach_text_detector(
    model: Segmenter, detector: Any, *, weights: str | None = None, options: dict[str, Any] | None = None
) -> Segmenter:
    """Give ``model`` text prompts through an open-vocabulary detector (Grounded-SAM):
    ``predict(text=...)`` / ``predict_text`` then detect the phrases on the image set and prompt
    the model with every box in one batched call. Returns ``model``.

    Args:
        model: a loaded `Segmenter` with box prompts and without native text.
        detector: a `samkit.detectors.Detector` or a registered open-vocabulary detector name
            (``"grounding_dino_tiny"``, ``"owlv2_base"``...); None detaches it.
        weights: the detector's weights when it is given by name; default ``"random"`` if the
            model's weights are random, else ``"pretrained"`` (never a silent mix).
        options: more `samkit.detectors.load_detector` keyword arguments (``config``, ``seed``,
            ``checkpoint``, ``download``...); the device is the model's.

    A model that takes text natively (SAM 3) keeps its own text path (``ValueError``); one without
    box prompts cannot take a detector's boxes (`UnsupportedError`).
    """
    if detector is None:
        model.text_prompter = None
        return model
    model.require("box", "box prompts (a text detector prompts the model with its boxes)")
    if "text" in model.spec.capabilities:
        raise ValueError(f"{model.name} takes text natively; it needs no text detector.")
    kind = weights or ("random" if model.weights.kind == "random" else "pretrained")
    found = resolve_detector(detector, kind, model.device, options)
    if found.kind != "open_vocab":
        raise ValueError(
            f"a text detector must be open-vocabulary (text -> boxes); {found.name} "
            f"is {found.kind}. Use samkit.pipelines.DetectThenSegment for closed-set "
            "detectors."
        )
    model.text_prompter = DetectorTextPrompter(found)
    return model


def load(
    name: Any,
    weights: str = "pretrained",
    *,
    text_detector: Any = None,
    text_detector_options: dict[str, Any] | None = None,
    checkpoint: str | os.PathLike | None = None,
    device: str | torch.device | None = None,
    **kwargs: Any,
) -> Segmenter:
    """`samkit.load`: a registered model (`samkit.loading.load`: weights, checkpoint, device, seed,
    dtype, compile, download and family options), with a text detector attached where asked.

    Args:
        text_detector: give a model without native text prompts ``predict(text=...)`` through
            this open-vocabulary detector (a registered name such as ``"grounding_dino_tiny"``,
            or a `samkit.detectors.Detector`); see `attach_text_detector`. Its weights follow
            the model's (random with random, else pretrained) unless ``text_detector_options``
            (`samkit.detectors.load_detector` keyword arguments, e.g. ``{"config": "tiny"}`` or
            ``{"weights": "pretrained"}``) say otherwise.

    The other arguments are `samkit.loading.load`'s.
    """
    if isinstance(text_detector, str):  # an unknown name or a missing extra fails before any model is built
        detector_class(get_detector_spec(text_detector))
    if text_detector_options and text_detector is None:
        raise ValueError("text_detector_options without text_detector=...")
    model = load_model(name, weights, checkpoint=checkpoint, device=device, **kwargs)
    if text_detector is not None:
        extra = dict(text_detector_options or {})
        attach_text_detector(model, text_detector, weights=extra.pop("weights", None), options=extra)
    return model

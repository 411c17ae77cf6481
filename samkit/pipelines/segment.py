"""`segment_detections`: a detector's boxes -> one batched ``predict_boxes`` call -> a
`PipelineResult`; the step shared by the pipelines and by `Segmenter.predict_text` (kept apart
from the pipelines' loading code so that the model interface can use it)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from samkit.detectors.detections import Detections
from samkit.instances import PipelineResult, SegmentedObject

__all__ = ["segment_detections", "detect_and_segment"]


def segment_detections(
    detections: Detections,
    rgb: np.ndarray,
    segmenter: Any,
    detect_ms: float,
    detector_name: str,
    prompt: Any,
    timer: Callable[[Callable[[], Any], Any], tuple[Any, float]],
    embed: bool = True,
) -> PipelineResult:
    """``set_image(rgb)`` (unless ``embed`` is False: ``rgb`` is already set, ``encoder_ms`` NaN)
    then every box of ``detections`` in one ``predict_boxes`` call (``multimask_output=False``)
    -> a `PipelineResult`. No detections: an empty result, and the segmenter is not run
    (``encoder_ms`` and ``decoder_ms`` are NaN)."""
    size = (int(rgb.shape[0]), int(rgb.shape[1]))
    if len(detections) == 0:
        return PipelineResult([], size, detect_ms, math.nan, math.nan, detector_name, segmenter.name, prompt)
    encoder_ms = timer(lambda: segmenter.set_image(rgb), segmenter.device)[1] if embed else math.nan
    (masks, scores, low_res), decoder_ms = timer(
        lambda: segmenter.predict_boxes(detections.boxes, multimask_output=False), segmenter.device
    )
    objects = [
        SegmentedObject(label, score, box, masks[i, 0], scores[i, 0], detector_box=raw)
        for i, (label, score, box, raw) in enumerate(
            zip(detections.labels, detections.scores, detections.boxes, detections.raw_boxes)
        )
    ]
    return PipelineResult(
        objects,
        size,
        detect_ms,
        encoder_ms,
        decoder_ms,
        detector_name,
        segmenter.name,
        prompt,
        low_res_logits=low_res[:, 0],
    )


def detect_and_segment(
    detector: Any, segmenter: Any, rgb: np.ndarray, prompt: Any, *, embed: bool, **detect_kwargs: Any
) -> PipelineResult:
    """``detector.detect(rgb, **detect_kwargs)`` (timed: ``detect_ms``), then `segment_detections`
    (``embed``: run ``set_image(rgb)`` first; False when ``rgb`` is already the segmenter's image)."""
    from samkit.metrics.perf import timed

    detections, detect_ms = timed(lambda: detector.detect(rgb, **detect_kwargs), detector.device)
    return segment_detections(detections, rgb, segmenter, detect_ms, detector.name, prompt, timed, embed=embed)

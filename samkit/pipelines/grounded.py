"""`GroundedSegmenter`: text -> boxes (an open-vocabulary detector) -> masks (a segmenter),
the Grounded-SAM pattern, with all boxes of an image in one batched decoder call."""

from __future__ import annotations

from typing import Any

from samkit.images import to_rgb_uint8
from samkit.metrics.perf import timed
from samkit.pipelines._core import resolve_detector, resolve_segmenter, segment_detections
from samkit.pipelines.records import PipelineResult

__all__ = ["GroundedSegmenter"]


class GroundedSegmenter:
    """Text-prompted instance masks: ``GroundedSegmenter(detector, segmenter)(image, "a dog. a cat.")``.

    Args:
        detector: an open-vocabulary `samkit.detectors.Detector` or its registered name
            (``"grounding_dino_tiny"``, ``"owlv2_base"``...).
        segmenter: a `samkit.models.Segmenter` with box prompts, or its registered name.
        weights: weights of whatever is loaded by name (``"pretrained"`` / ``"random"``...).
        device: device of whatever is loaded by name (default CUDA if available).
        detector_options / segmenter_options: extra keyword arguments of
            `samkit.detectors.load_detector` / `samkit.load` (``"weights"`` overrides ``weights``),
            used only for a component given by name.

    Each call: ``detector.detect`` -> ``segmenter.set_image`` -> every box in one
    ``segmenter.predict_boxes(boxes, multimask_output=False)`` call. The segmenter's image is
    left set to the last image that had detections.
    """

    def __init__(self, detector: Any, segmenter: Any, *, weights: str = "pretrained", device: Any = None,
                 detector_options: dict[str, Any] | None = None,
                 segmenter_options: dict[str, Any] | None = None) -> None:
        self.detector = resolve_detector(detector, weights, device, detector_options)
        if self.detector.kind != "open_vocab":
            raise ValueError(f"GroundedSegmenter needs an open-vocabulary (text) detector; "
                             f"{self.detector.name} is {self.detector.kind}. Use DetectThenSegment "
                             "for closed-set detectors.")
        self.segmenter = resolve_segmenter(segmenter, weights, device, segmenter_options)

    def __repr__(self) -> str:
        return f"GroundedSegmenter(detector={self.detector.name!r}, segmenter={self.segmenter.name!r})"

    def __call__(self, image: Any, text: str | list[str], box_threshold: float = 0.35,
                 text_threshold: float = 0.25) -> PipelineResult:
        """Masks of the objects ``text`` names in ``image``.

        Args:
            image: HxWx3 uint8 RGB (numpy or PIL).
            text: ``"a dog. a cat."`` or ``["a dog", "a cat"]``; an empty prompt is a `PromptError`.
            box_threshold, text_threshold: the detector's thresholds (Grounding DINO's defaults).

        Returns:
            `PipelineResult`: one `SegmentedObject` per detected box (``label`` = the matched
            phrase), most confident first, and ``detect_ms`` / ``encoder_ms`` / ``decoder_ms``.
            Empty (not an error) when nothing passes the thresholds.
        """
        rgb = to_rgb_uint8(image)
        detections, detect_ms = timed(
            lambda: self.detector.detect(rgb, text=text, box_threshold=box_threshold,
                                         text_threshold=text_threshold), self.detector.device)
        return segment_detections(detections, rgb, self.segmenter, detect_ms, self.detector.name,
                                  text, timed)

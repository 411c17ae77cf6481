"""`GroundedSegmenter`: text -> boxes (an open-vocabulary detector) -> masks (a segmenter),
the Grounded-SAM pattern, with all boxes of an image in one batched decoder call."""

from __future__ import annotations

from typing import Any

from samkit.instances import PipelineResult
from samkit.pipelines._core import DetectorSegmenterPipeline

__all__ = ["GroundedSegmenter"]


class GroundedSegmenter(DetectorSegmenterPipeline):
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

    required_kind = "open_vocab"
    needs = "an open-vocabulary (text) detector"
    instead = "Use DetectThenSegment for closed-set detectors."

    def __call__(
        self, image: Any, text: str | list[str], box_threshold: float = 0.35, text_threshold: float = 0.25
    ) -> PipelineResult:
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
        return self._run(image, text, text=text, box_threshold=box_threshold, text_threshold=text_threshold)

"""`DetectThenSegment`: closed-set detector boxes (ultralytics YOLO) -> masks (a segmenter),
the YOLO-boxes-to-SAM-masks pattern, all boxes of an image in one batched decoder call."""

from __future__ import annotations

from typing import Any

from samkit.instances import PipelineResult
from samkit.pipelines._core import DetectorSegmenterPipeline

__all__ = ["DetectThenSegment"]


class DetectThenSegment(DetectorSegmenterPipeline):
    """Class-labelled instance masks: ``DetectThenSegment("yolo11n", "mobile_sam")(image)``.

    Args:
        detector: a closed-set `samkit.detectors.Detector` (``yolo11n`` ... ``yolo11x``) or its
            registered name.
        segmenter: a `samkit.models.Segmenter` with box prompts, or its registered name.
        weights, device, detector_options, segmenter_options: as in `GroundedSegmenter`, for
            components given by name.

    Each call: ``detector.detect(classes=..., box_threshold=conf)`` -> ``segmenter.set_image`` ->
    every box in one ``segmenter.predict_boxes(boxes, multimask_output=False)`` call.
    """

    required_kind = "closed_set"
    needs = "a closed-set (class) detector such as yolo11n"
    instead = "Use GroundedSegmenter for text prompts."

    def __call__(self, image: Any, classes: list[str] | None = None, conf: float | None = None) -> PipelineResult:
        """Masks of the detector's objects in ``image``.

        Args:
            image: HxWx3 uint8 RGB (numpy or PIL).
            classes: class names to keep (default: all of the detector's); an unknown name is a
                `PromptError` suggesting the closest ones.
            conf: minimum detector confidence in ``[0, 1]`` (default: the detector's, 0.25 for YOLO).

        Returns:
            `PipelineResult`: one `SegmentedObject` per box (``class_name`` / ``confidence`` /
            ``box`` / ``mask``), most confident first, and the stage times. Empty (not an error)
            when nothing passes ``conf``.
        """
        return self._run(image, classes, classes=classes, box_threshold=conf)

"""`DetectThenSegment`: closed-set detector boxes (ultralytics YOLO) -> masks (a segmenter),
the YOLO-boxes-to-SAM-masks pattern, all boxes of an image in one batched decoder call."""

from __future__ import annotations

from typing import Any

from samkit.images import to_rgb_uint8
from samkit.metrics.perf import timed
from samkit.pipelines._core import resolve_detector, resolve_segmenter, segment_detections
from samkit.pipelines.records import PipelineResult

__all__ = ["DetectThenSegment"]


class DetectThenSegment:
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

    def __init__(self, detector: Any, segmenter: Any, *, weights: str = "pretrained", device: Any = None,
                 detector_options: dict[str, Any] | None = None,
                 segmenter_options: dict[str, Any] | None = None) -> None:
        self.detector = resolve_detector(detector, weights, device, detector_options)
        if self.detector.kind != "closed_set":
            raise ValueError(f"DetectThenSegment needs a closed-set (class) detector such as "
                             f"yolo11n; {self.detector.name} is {self.detector.kind}. Use "
                             "GroundedSegmenter for text prompts.")
        self.segmenter = resolve_segmenter(segmenter, weights, device, segmenter_options)

    def __repr__(self) -> str:
        return f"DetectThenSegment(detector={self.detector.name!r}, segmenter={self.segmenter.name!r})"

    def __call__(self, image: Any, classes: list[str] | None = None,
                 conf: float | None = None) -> PipelineResult:
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
        rgb = to_rgb_uint8(image)
        detections, detect_ms = timed(
            lambda: self.detector.detect(rgb, classes=classes, box_threshold=conf), self.detector.device)
        return segment_detections(detections, rgb, self.segmenter, detect_ms, self.detector.name,
                                  classes, timed)

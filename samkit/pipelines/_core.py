"""What both pipelines share: resolving a detector / segmenter given by name, and the timed run
detector -> `segment_detections` (one batched ``predict_boxes`` call -> records)."""

from __future__ import annotations

from typing import Any

from samkit.detectors.base import Detector
from samkit.instances import PipelineResult
from samkit.pipelines.segment import detect_and_segment


def resolve_detector(detector: Any, weights: str, device: Any, options: dict[str, Any] | None) -> Detector:
    """``detector`` itself if it is a `Detector`, else ``load_detector(detector, weights, ...)``.

    ``options`` (e.g. ``{"config": "tiny", "seed": 0}``, or ``"weights"`` to override
    ``weights``) are `samkit.detectors.load_detector` keyword arguments, used only when loading.
    """
    from samkit.detectors.base import load_detector

    if isinstance(detector, Detector):
        return detector
    if not isinstance(detector, str):
        raise TypeError(f"detector must be a Detector or a registered detector name, got {type(detector).__name__}")
    kwargs = {"weights": weights, "device": device, **(options or {})}
    return load_detector(detector, **kwargs)


def resolve_segmenter(segmenter: Any, weights: str, device: Any, options: dict[str, Any] | None) -> Any:
    """``segmenter`` itself if it is a `Segmenter`, else ``samkit.load(segmenter, weights, ...)``
    (``options``: `samkit.load` keyword arguments, ``"weights"`` overriding ``weights``)."""
    from samkit.loading import load
    from samkit.models.base import Segmenter

    if isinstance(segmenter, Segmenter):
        seg = segmenter
    elif isinstance(segmenter, str):
        seg = load(segmenter, **{"weights": weights, "device": device, **(options or {})})
    else:
        raise TypeError(f"segmenter must be a Segmenter or a registered model name, got {type(segmenter).__name__}")
    seg.require("box", "box prompts (a detector -> segmenter pipeline prompts with boxes)")
    return seg


class DetectorSegmenterPipeline:
    """What both pipelines share: a detector of ``required_kind`` and a segmenter, given as objects
    or registered names (see `GroundedSegmenter` for the arguments), and one timed run
    detector -> ``set_image`` -> one batched ``predict_boxes`` call."""

    #: the detector kind the pipeline takes (`samkit.detectors.KINDS`)
    required_kind: str = ""
    #: what the wrong-kind error asks for, and where it sends the user instead
    needs: str = ""
    instead: str = ""

    def __init__(
        self,
        detector: Any,
        segmenter: Any,
        *,
        weights: str = "pretrained",
        device: Any = None,
        detector_options: dict[str, Any] | None = None,
        segmenter_options: dict[str, Any] | None = None,
    ) -> None:
        self.detector = resolve_detector(detector, weights, device, detector_options)
        if self.detector.kind != self.required_kind:
            raise ValueError(
                f"{type(self).__name__} needs {self.needs}; {self.detector.name} is "
                f"{self.detector.kind}. {self.instead}"
            )
        self.segmenter = resolve_segmenter(segmenter, weights, device, segmenter_options)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(detector={self.detector.name!r}, segmenter={self.segmenter.name!r})"

    def _run(self, image: Any, prompt: Any, **detect_kwargs: Any) -> PipelineResult:
        """``detector.detect(rgb, **detect_kwargs)`` then `segment_detections`, every stage timed."""
        from samkit.images import to_rgb_uint8

        return detect_and_segment(
            self.detector, self.segmenter, to_rgb_uint8(image), prompt, embed=True, **detect_kwargs
        )

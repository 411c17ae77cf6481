"""Compositions of models with detectors and taggers: `GroundedSegmenter` (text -> boxes -> masks),
`DetectThenSegment` (YOLO classes -> boxes -> masks), `TagThenSegment` (image tagger -> tags as the
text prompt -> `GroundedSegmenter`, a `TaggedResult`), and text on any box model through an
open-vocabulary detector (`attach_text_detector`; `load` is `samkit.load`). They return
`PipelineResult` records. Importing this package imports nothing heavy (torch and the detectors'
packages load with them).
"""

from samkit.instances import PipelineResult, SegmentedObject
from samkit.pipelines.detect_then_segment import DetectThenSegment
from samkit.pipelines.grounded import GroundedSegmenter
from samkit.pipelines.tag_then_segment import TaggedResult, TagThenSegment
from samkit.pipelines.text import DetectorTextPrompter, attach_text_detector, load

__all__ = [
    "DetectThenSegment",
    "GroundedSegmenter",
    "PipelineResult",
    "SegmentedObject",
    "TagThenSegment",
    "TaggedResult",
    "DetectorTextPrompter",
    "attach_text_detector",
    "load",
]

"""Detector -> segmenter pipelines: `GroundedSegmenter` (text -> boxes -> masks) and
`DetectThenSegment` (YOLO classes -> boxes -> masks), returning `PipelineResult` records, and
`TagThenSegment` (image tagger -> tags as the text prompt -> `GroundedSegmenter`, a `TaggedResult`).
Importing this package imports nothing heavy (torch and the detectors' packages load with them).
"""

from samkit.pipelines.detect_then_segment import DetectThenSegment
from samkit.pipelines.grounded import GroundedSegmenter
from samkit.pipelines.records import PipelineResult, SegmentedObject
from samkit.pipelines.tag_then_segment import TaggedResult, TagThenSegment

__all__ = ["DetectThenSegment", "GroundedSegmenter", "PipelineResult", "SegmentedObject",
           "TagThenSegment", "TaggedResult"]

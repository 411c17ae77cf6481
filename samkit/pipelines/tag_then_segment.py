"""`TagThenSegment`: image -> tags (an image tagger) -> boxes (an open-vocabulary detector, the
tags as its text prompt) -> masks (a segmenter): the tag-then-segment (RAM / RAM++ + Grounded-SAM)
pattern, with a prompt-free entry point, every stage timed."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from samkit.instances import PipelineResult, SegmentedObject
from samkit.pipelines.grounded import GroundedSegmenter
from samkit.prompts import check_threshold
from samkit.taggers.base import Tagger, Tags, check_top_k

__all__ = ["TagThenSegment", "TaggedResult", "resolve_tagger"]


def resolve_tagger(tagger: Any, weights: str, device: Any, options: dict[str, Any] | None) -> Tagger:
    """``tagger`` itself if it is a `Tagger`, else ``load_tagger(tagger, weights, ...)``
    (``options``: `samkit.taggers.load_tagger` keyword arguments, ``"weights"`` overriding
    ``weights``; used only when loading)."""
    from samkit.taggers.base import load_tagger

    if isinstance(tagger, Tagger):
        return tagger
    if not isinstance(tagger, str):
        raise TypeError(f"tagger must be a Tagger or a registered tagger name, got {type(tagger).__name__}")
    return load_tagger(tagger, **{"weights": weights, "device": device, **(options or {})})


@dataclass(frozen=True, eq=False)  # holds arrays: compare fields, not records
class TaggedResult:
    """A `PipelineResult` and the tags that prompted it.

    Attributes:
        result: the `PipelineResult` of the grounded stage (``prompt`` = ``tags.as_prompt()``;
            empty, with ``detect_ms`` / ``encoder_ms`` / ``decoder_ms`` NaN, when there were no tags).
        tags: the `Tags` used as the text prompt (best first).
        tag_ms: time of the tagger call, in milliseconds.
        tagger: name of the tagger.

    Reads like its ``result``: ``len``, iteration, indexing, and every other `PipelineResult`
    attribute (``labels``, ``masks``, ``to_dataframe()``, ``to_coco(...)``...) are the result's.
    """

    result: PipelineResult
    tags: Tags
    tag_ms: float
    tagger: str = ""

    def __len__(self) -> int:
        return len(self.result)

    def __iter__(self) -> Iterator[SegmentedObject]:
        return iter(self.result)

    def __getitem__(self, i: int) -> SegmentedObject:
        return self.result[i]

    def __getattr__(self, name: str) -> Any:  # only for names not found on the record itself
        if name.startswith("_") or name == "result":
            raise AttributeError(name)
        return getattr(self.result, name)

    @property
    def total_ms(self) -> float:
        """``tag_ms`` plus the result's ``total_ms`` (the stages that ran)."""
        return self.tag_ms + self.result.total_ms


class TagThenSegment:
    """Prompt-free instance masks:
    ``TagThenSegment("clip_vit_b32", "grounding_dino_tiny", "mobile_sam")(image)``.

    Args:
        tagger: a `samkit.taggers.Tagger` or its registered name (``"clip_vit_b32"``...).
        detector: an open-vocabulary `samkit.detectors.Detector` or its registered name.
        segmenter: a `samkit.models.Segmenter` with box prompts, or its registered name.
        top_k: at most this many tags become the prompt (>= 1).
        tag_threshold: only tags scoring above this (in ``[0, 1]``) become the prompt.
        weights, device: of whatever is loaded by name (as in `GroundedSegmenter`).
        tagger_options / detector_options / segmenter_options: extra keyword arguments of
            `samkit.taggers.load_tagger` / `samkit.detectors.load_detector` / `samkit.load`
            (``"weights"`` overrides ``weights``), used only for a component given by name.

    Each call: ``tagger.tag`` -> the tags as ``"dog. cat."`` -> `GroundedSegmenter` (detector ->
    ``set_image`` -> one batched ``predict_boxes`` call).
    """

    def __init__(
        self,
        tagger: Any,
        detector: Any,
        segmenter: Any,
        *,
        top_k: int = 5,
        tag_threshold: float = 0.0,
        weights: str = "pretrained",
        device: Any = None,
        tagger_options: dict[str, Any] | None = None,
        detector_options: dict[str, Any] | None = None,
        segmenter_options: dict[str, Any] | None = None,
    ) -> None:
        self.top_k = check_top_k(top_k)
        self.tag_threshold = check_threshold("tag_threshold", tag_threshold)
        self.tagger = resolve_tagger(tagger, weights, device, tagger_options)
        self.grounded = GroundedSegmenter(
            detector,
            segmenter,
            weights=weights,
            device=device,
            detector_options=detector_options,
            segmenter_options=segmenter_options,
        )

    @property
    def detector(self) -> Any:
        return self.grounded.detector

    @property
    def segmenter(self) -> Any:
        return self.grounded.segmenter

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(tagger={self.tagger.name!r}, detector={self.detector.name!r}, "
            f"segmenter={self.segmenter.name!r}, top_k={self.top_k}, "
            f"tag_threshold={self.tag_threshold})"
        )

    def __call__(
        self,
        image: Any,
        box_threshold: float = 0.35,
        text_threshold: float = 0.25,
        top_k: int | None = None,
        tag_threshold: float | None = None,
    ) -> TaggedResult:
        """Tags of ``image``, then masks of the objects the tags name.

        Args:
            image: HxWx3 uint8 RGB (numpy or PIL).
            box_threshold, text_threshold: the detector's thresholds (Grounding DINO's defaults).
            top_k, tag_threshold: override the pipeline's for this call.

        Returns:
            `TaggedResult`: the `PipelineResult` (one `SegmentedObject` per box, ``label`` = the
            tag it matched) and the `Tags` used, with ``tag_ms``. No tag above the threshold:
            an empty result (not an error); the detector and the segmenter are then not run.
        """
        from samkit.images import to_rgb_uint8
        from samkit.metrics.perf import timed

        top_k = self.top_k if top_k is None else check_top_k(top_k)
        tag_threshold = self.tag_threshold if tag_threshold is None else check_threshold("tag_threshold", tag_threshold)
        check_threshold("box_threshold", box_threshold)
        check_threshold("text_threshold", text_threshold)
        rgb = to_rgb_uint8(image)
        tags, tag_ms = timed(lambda: self.tagger.tag(rgb, top_k=top_k, threshold=tag_threshold), self.tagger.device)
        if len(tags) == 0:
            result = PipelineResult(
                [],
                (int(rgb.shape[0]), int(rgb.shape[1])),
                math.nan,
                math.nan,
                math.nan,
                self.detector.name,
                self.segmenter.name,
                "",
            )
        else:
            result = self.grounded(rgb, tags.as_prompt(), box_threshold=box_threshold, text_threshold=text_threshold)
        return TaggedResult(result, tags, tag_ms, self.tagger.name)

"""Instances found in one image: one `SegmentedObject` per object (label, score, box, mask), and the
`PipelineResult` of the image (the objects plus the time of each stage).

What every text or detector composition returns (`samkit.pipelines`, SAM 3's native text in its
adapter), kept here at the bottom so that any layer can build or read them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["SegmentedObject", "PipelineResult", "check_category_ids"]


@dataclass(frozen=True, eq=False)  # holds arrays: compare fields, not records
class SegmentedObject:
    """One detected and segmented object.

    Attributes:
        label: the phrase of the text prompt the detector matched (open-vocabulary detectors) or
            its class name (closed-set detectors).
        score: the detector's confidence in ``[0, 1]``.
        box: ``(4,)`` float32 XYXY pixels of the original image (the detector's box, the prompt
            the mask was predicted from).
        mask: ``HxW`` bool mask at the original image's size.
        mask_score: the segmenter's predicted IoU of ``mask``.
        detector_box: ``(4,)`` float32 XYXY, the detector's box as it gave it (it may reach past
            the image; ``box`` is clipped to prompt the segmenter): what COCO box AP scores.
            None: the same as ``box``.
    """

    label: str
    score: float
    box: np.ndarray
    mask: np.ndarray
    mask_score: float
    detector_box: np.ndarray | None = None

    def __post_init__(self) -> None:
        box = np.asarray(self.box, dtype=np.float32).reshape(-1)
        if box.shape != (4,):
            raise ValueError(f"SegmentedObject.box must be one XYXY box of shape (4,), got {box.shape}")
        mask = np.asarray(self.mask)
        if mask.ndim != 2 or mask.dtype != bool:
            raise ValueError(f"SegmentedObject.mask must be an HxW bool array, got {mask.dtype} of shape {mask.shape}")
        object.__setattr__(self, "label", str(self.label))
        object.__setattr__(self, "score", float(self.score))
        object.__setattr__(self, "mask_score", float(self.mask_score))
        object.__setattr__(self, "box", box)
        raw = box if self.detector_box is None else np.asarray(self.detector_box, dtype=np.float32).reshape(-1)
        if raw.shape != (4,):
            raise ValueError(f"SegmentedObject.detector_box must be one XYXY box of shape (4,), got {raw.shape}")
        object.__setattr__(self, "detector_box", raw)
        object.__setattr__(self, "mask", mask)

    # names used by the two pipelines' users
    @property
    def phrase(self) -> str:
        """`label` (the matched text phrase, for `GroundedSegmenter` results)."""
        return self.label

    @property
    def class_name(self) -> str:
        """`label` (the class name, for `DetectThenSegment` results)."""
        return self.label

    @property
    def confidence(self) -> float:
        """`score` (the detector's confidence)."""
        return self.score

    @property
    def area(self) -> int:
        """Number of mask pixels."""
        return int(self.mask.sum())


@dataclass(frozen=True, eq=False)  # holds arrays: compare fields, not records
class PipelineResult:
    """The objects found in one image, most confident detection first, and the stage times.

    Attributes:
        objects: the `SegmentedObject` records (empty when the detector found nothing).
        image_size: ``(H, W)`` pixels of the image.
        detect_ms: time of the detector call, in milliseconds.
        encoder_ms: time of the segmenter's ``set_image`` (image encoder), in milliseconds; NaN
            when nothing was detected (the segmenter is then not run: no time is invented).
        decoder_ms: time of the one batched ``predict_boxes`` call (prompt encoder + mask decoder
            for every box), in milliseconds; NaN when nothing was detected.
        detector: name of the detector; segmenter: name of the segmentation model.
        prompt: the text prompt (`GroundedSegmenter`) or the class filter (`DetectThenSegment`).
        low_res_logits: ``(N, s, s)`` float32 low-res mask logits of the objects (s = 256 for
            SAM-style decoders), or None.
        mask_logits: ``(N, H, W)`` float32 full-size mask logits, where asked for (SAM 3's
            ``predict_text(return_logits=True)``), else None.
    """

    objects: list[SegmentedObject]
    image_size: tuple[int, int]
    detect_ms: float
    encoder_ms: float
    decoder_ms: float
    detector: str = ""
    segmenter: str = ""
    prompt: Any = None
    low_res_logits: np.ndarray | None = None
    mask_logits: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.objects)

    def __iter__(self) -> Iterator[SegmentedObject]:
        return iter(self.objects)

    def __getitem__(self, i: int) -> SegmentedObject:
        return self.objects[i]

    @property
    def total_ms(self) -> float:
        """``detect_ms + encoder_ms + decoder_ms``, over the stages that ran."""
        return sum(t for t in (self.detect_ms, self.encoder_ms, self.decoder_ms) if t == t)

    @property
    def labels(self) -> list[str]:
        return [o.label for o in self.objects]

    @property
    def scores(self) -> np.ndarray:
        """``(N,)`` float32 detector scores."""
        return np.asarray([o.score for o in self.objects], dtype=np.float32)

    @property
    def boxes(self) -> np.ndarray:
        """``(N, 4)`` float32 XYXY pixels."""
        return np.asarray([o.box for o in self.objects], dtype=np.float32).reshape(-1, 4)

    @property
    def masks(self) -> np.ndarray:
        """``(N, H, W)`` bool."""
        if not self.objects:
            return np.zeros((0, *self.image_size), dtype=bool)
        return np.stack([o.mask for o in self.objects])

    @property
    def mask_scores(self) -> np.ndarray:
        """``(N,)`` float32 predicted IoUs of the masks."""
        return np.asarray([o.mask_score for o in self.objects], dtype=np.float32)

    def to_dataframe(self) -> Any:
        """One row per object (no masks): ``label``, ``score``, ``x0``, ``y0``, ``x1``, ``y1``
        (XYXY pixels), ``mask_score``, ``area`` (mask pixels)."""
        import pandas as pd

        boxes = self.boxes
        return pd.DataFrame(
            {
                "label": pd.Series(self.labels, dtype=object),
                "score": self.scores,
                **{k: boxes[:, i] for i, k in enumerate(("x0", "y0", "x1", "y1"))},
                "mask_score": self.mask_scores,
                "area": np.asarray([o.area for o in self.objects], dtype=np.int64),
            }
        )

    def to_coco(self, image_id: int, category_ids: dict[str, int]) -> list[dict[str, Any]]:
        """COCO results-json records, one per object: ``image_id``, ``category_id``,
        ``segmentation`` (COCO RLE of the mask, ``counts`` as str, via pycocotools), ``bbox``
        (the detector's box, XYWH pixels), ``score`` (the detector's score), ``mask_score``.

        ``category_ids`` maps each label to its COCO category id; a label missing from it is a
        ``KeyError`` naming the label and the known ones.
        """
        check_category_ids(self.labels, category_ids)
        if not self.objects:
            return []
        from samkit.masks import encode_rles

        records = []
        for obj, rle in zip(self.objects, encode_rles(self.masks)):
            x0, y0, x1, y1 = (float(v) for v in obj.box)
            records.append(
                {
                    "image_id": int(image_id),
                    "category_id": int(category_ids[obj.label]),
                    "segmentation": rle,
                    "bbox": [x0, y0, x1 - x0, y1 - y0],
                    "score": obj.score,
                    "mask_score": obj.mask_score,
                }
            )
        return records


def check_category_ids(labels: Any, category_ids: dict[str, int]) -> None:
    """``KeyError`` naming the labels that have no COCO category id in ``category_ids``."""
    missing = sorted(set(labels) - set(category_ids))
    if missing:
        raise KeyError(f"to_coco: no category id for label(s) {missing}; category_ids has {sorted(category_ids)[:20]}")

"""`Detections`: the boxes, scores and labels one detector call returns for one image."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from samkit.instances import check_category_ids

__all__ = ["Detections", "center_to_corners"]


@dataclass(frozen=True)
class Detections:
    """Detections of one image, most confident first (as the detector returns them).

    Attributes:
        boxes: ``(N, 4)`` float32, XYXY pixels of the original image, clipped to ``[0, W] x [0, H]``
            (the prompts a segmenter takes).
        raw_boxes: ``(N, 4)`` float32, the same boxes as the detector gave them, which may reach
            past the image (DETR-style detectors do): what `to_coco` writes and COCO box AP scores.
            None (the default) means ``boxes``.
        scores: ``(N,)`` float32 detector confidences in ``[0, 1]``.
        labels: ``(N,)`` str: the matched phrase of the text prompt (open-vocabulary detectors)
            or the class name (closed-set detectors).
        image_size: ``(H, W)`` pixels of the image the boxes refer to.

    ``N = 0`` (nothing found) is a valid, empty result.
    """

    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray
    image_size: tuple[int, int]
    raw_boxes: np.ndarray | None = None

    def __post_init__(self) -> None:
        boxes = np.asarray(self.boxes, dtype=np.float32).reshape(-1, 4)
        raw = boxes if self.raw_boxes is None else np.asarray(self.raw_boxes, dtype=np.float32).reshape(-1, 4)
        if len(raw) != len(boxes):
            raise ValueError(f"Detections: {len(raw)} raw_boxes for {len(boxes)} boxes; they must be as many.")
        scores = np.asarray(self.scores, dtype=np.float32).reshape(-1)
        labels = np.asarray([str(x) for x in np.asarray(self.labels, dtype=object).reshape(-1)], dtype=object)
        if not len(boxes) == len(scores) == len(labels):
            raise ValueError(
                f"Detections: {len(boxes)} boxes, {len(scores)} scores and "
                f"{len(labels)} labels; they must have the same length."
            )
        h, w = (int(v) for v in self.image_size)
        for name, value in (("boxes", boxes), ("raw_boxes", raw), ("scores", scores), ("labels", labels)):
            if isinstance(value, np.ndarray):
                value.setflags(write=False)
            object.__setattr__(self, name, value)
        object.__setattr__(self, "image_size", (h, w))

    def __len__(self) -> int:
        return len(self.scores)

    @classmethod
    def empty(cls, image_size: tuple[int, int]) -> Detections:
        """No detections for an image of ``image_size`` ``(H, W)``."""
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, object), image_size)

    def to_dataframe(self) -> Any:
        """One row per detection: ``label``, ``score``, ``x0``, ``y0``, ``x1``, ``y1`` (XYXY pixels)."""
        import pandas as pd

        return pd.DataFrame(
            {
                "label": pd.Series(list(self.labels), dtype=object),
                "score": self.scores,
                **{k: self.boxes[:, i] for i, k in enumerate(("x0", "y0", "x1", "y1"))},
            }
        )

    def to_coco(self, image_id: int, category_ids: dict[str, int]) -> list[dict[str, Any]]:
        """COCO results-json records: ``image_id``, ``category_id``, ``bbox`` (XYWH pixels of the
        detector's own boxes, ``raw_boxes``: never clipped for scoring), ``score``.

        ``category_ids`` maps each label to its COCO category id; a label missing from it is a
        ``KeyError`` naming the label and the known ones.
        """
        check_category_ids(self.labels, category_ids)
        records = []
        for (x0, y0, x1, y1), score, label in zip(self.raw_boxes.tolist(), self.scores.tolist(), self.labels):
            records.append(
                {
                    "image_id": int(image_id),
                    "category_id": int(category_ids[label]),
                    "bbox": [x0, y0, x1 - x0, y1 - y0],
                    "score": float(score),
                }
            )
        return records


def center_to_corners(boxes: Any) -> Any:
    """``(..., 4)`` torch boxes (cx, cy, w, h) -> (x0, y0, x1, y1), same units."""
    import torch

    cx, cy, w, h = boxes.unbind(-1)
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], -1)

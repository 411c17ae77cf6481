"""SA-Co/VEval prediction entries from tracked masklets (`samkit.video.masklets.Masklets`).

The layout is the one sam3's video evaluators read (``sam3/eval/saco_veval_evaluators.py``:
phrase AP, cgF1, HOTA, TETA) and sam3's own writer produces (``YTVISResultsWriter.prepare`` in
``sam3/eval/ytvis_eval.py``; ``assets/veval/toy_gt_and_pred/toy_saco_veval_sav_test_pred.json``):
a JSON list with one entry per masklet,

``{"video_id": int, "category_id": int, "score": float,
"segmentations": [RLE per frame], "bboxes": [[x, y, w, h] per frame], "areas": [int per frame]}``

- one element per frame of the video (all ``T`` frames, from frame 0), as the evaluators zip the
  lists frame by frame against the ground truth's;
- ``segmentations``: pycocotools compressed RLE, ``{"size": [H, W], "counts": str}``; a frame
  where the object has no pixels holds the empty RLE, as sam3's writer does (the evaluators read
  an area of 0 or an all-zero box as "absent");
- ``bboxes``: sam3's convention, ``torchvision.ops.masks_to_boxes`` then XYWH: ``x = first
  column``, ``y = first row``, ``w = last column - first column``, ``h = last row - first row``
  (pixel indices, so a one-pixel mask has ``w = h = 0``; not COCO's ``toBbox``, which adds 1);
  ``[0, 0, 0, 0]`` where the mask is empty;
- ``areas``: pixels in the mask (0 where empty);
- ``score``: the masklet's score (SAM 3: its detection score; the evaluators keep entries with
  ``score >= 0.5`` for cgF1 and ``> 0.5`` for HOTA);
- ``category_id``: the SA-Co category of the masklet's phrase (the ground truth's
  ``categories``: one id per noun phrase), from the ``category_ids`` mapping given;
- optionally ``per_frame_scores`` (sam3's ``save_per_frame_scores``), the masklet's per-frame
  scores with 0.0 where it has none; the evaluators ignore it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from samkit.atomic import atomic_write_text
from samkit.errors import ParameterError
from samkit.masks import encode_rles

__all__ = ["veval_entries", "write_veval_predictions", "veval_box"]


def veval_box(mask: np.ndarray) -> list[int]:
    """sam3's per-frame box of an ``HxW`` mask: ``[x0, y0, x1 - x0, y1 - y0]`` with ``x1``, ``y1``
    the last column and row (inclusive); ``[0, 0, 0, 0]`` for an empty mask."""
    rows = np.flatnonzero(np.asarray(mask).any(axis=1))
    if not rows.size:
        return [0, 0, 0, 0]
    cols = np.flatnonzero(np.asarray(mask).any(axis=0))
    return [int(cols[0]), int(rows[0]), int(cols[-1] - cols[0]), int(rows[-1] - rows[0])]


def veval_entries(
    masklets: Any,
    video_id: int,
    category_ids: Mapping[str, int],
    *,
    per_frame_scores: bool = False,
) -> list[dict[str, Any]]:
    """One SA-Co/VEval prediction entry per masklet of ``masklets`` (see the module docstring).

    Args:
        masklets: `samkit.video.masklets.Masklets` of one video.
        video_id: the video's ``id`` in the ground truth's ``videos``.
        category_ids: phrase -> SA-Co ``category_id``; every phrase of ``masklets`` must be there.
        per_frame_scores: also write ``per_frame_scores``.
    """
    if isinstance(video_id, bool) or not isinstance(video_id, (int, np.integer)):
        raise ParameterError(f"video_id must be an int (the ground truth's video id), got {video_id!r}")
    missing = [p for p in masklets.phrases if p not in category_ids]
    if missing:
        raise ParameterError(
            f"category_ids has no category for the phrases {missing}; it maps "
            f"{sorted(category_ids)} (give every tracked phrase its SA-Co category_id)."
        )
    size, frames = tuple(masklets.size), range(masklets.num_frames)
    entries = []
    for masklet in masklets:
        stack = np.stack([masklet.mask(t, size) for t in frames]) if frames else np.zeros((0, *size), bool)
        entry: dict[str, Any] = {
            "video_id": int(video_id),
            "category_id": int(category_ids[masklet.phrase]),
            "score": float(masklet.score),
            "segmentations": encode_rles(stack),
            "bboxes": [veval_box(m) for m in stack],
            "areas": [int(m.sum()) for m in stack],
        }
        if per_frame_scores:
            entry["per_frame_scores"] = [float(masklet.frame_scores.get(t, 0.0)) for t in frames]
        entries.append(entry)
    return entries


def write_veval_predictions(path: str | os.PathLike, entries: Iterable[Mapping[str, Any]]) -> Path:
    """Write prediction entries (of one or many videos) as the JSON list the evaluators read,
    atomically; returns the path."""
    return atomic_write_text(Path(path), json.dumps(list(entries)))

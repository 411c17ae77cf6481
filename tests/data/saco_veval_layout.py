"""A tiny SA-Co/VEval set in the official layout, for the loader's and the saco_video protocol's tests.

`write_veval(root)` writes ``root/saco_veval_toy_test.json`` (YT-VIS json: ``videos``,
``annotations`` = masklets, ``categories``, ``video_np_pairs``) and ``root/frames/<video>/00000.jpg``
...: two 48x64 videos (4 and 3 frames). Video 0 has a positive pair ("red square": one masklet that
moves right, absent on the last frame) and a negative pair ("blue circle", ``num_masklets`` 0);
video 1 a positive pair ("red square", two masklets) and a negative ("green bar").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from pycocotools import mask as mask_utils

H, W = 48, 64
#: video id -> (folder name, frames)
VIDEOS = {0: ("toy_000", 4), 1: ("toy_001", 3)}
CATEGORIES = {1: "red square", 2: "blue circle", 3: "green bar"}


@dataclass(frozen=True)
class VEvalLayout:
    root: Path
    gt: Path
    frames: Path


def rect(y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    """HxW bool mask of rows ``y0:y1``, columns ``x0:x1``."""
    mask = np.zeros((H, W), dtype=bool)
    mask[y0:y1, x0:x1] = True
    return mask


#: (annotation id, video id, category id) -> per-frame masks (None: not visible)
MASKLETS: dict[tuple[int, int, int], list[np.ndarray | None]] = {
    (1, 0, 1): [rect(10, 22, 5 + 6 * t, 17 + 6 * t) for t in range(3)] + [None],
    (2, 1, 1): [rect(5, 15, 5, 15), rect(6, 16, 6, 16), rect(7, 17, 7, 17)],
    (3, 1, 1): [None, rect(30, 44, 40, 56), rect(30, 44, 42, 58)],
}


def _rle(mask: np.ndarray) -> dict:
    encoded = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(s) for s in encoded["size"]], "counts": encoded["counts"].decode("ascii")}


def _box(mask: np.ndarray) -> list[int]:
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    return [int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)]


def frame_image(video_id: int, t: int) -> np.ndarray:
    """The HxWx3 uint8 frame: grey noise with the video's masklets painted red."""
    rng = np.random.default_rng(100 * video_id + t)
    image = rng.integers(60, 120, size=(H, W, 3), dtype=np.uint8)
    for (_, vid, _), masks in MASKLETS.items():
        if vid == video_id and masks[t] is not None:
            image[masks[t]] = (220, 30, 30)
    return image


def write_veval(root: Path) -> VEvalLayout:
    """Write the set under ``root`` (see the module docstring)."""
    root = Path(root)
    frames = root / "frames"
    videos = []
    for vid, (name, length) in VIDEOS.items():
        (frames / name).mkdir(parents=True, exist_ok=True)
        names = [f"{name}/{t:05d}.jpg" for t in range(length)]
        for t, file_name in enumerate(names):
            Image.fromarray(frame_image(vid, t)).save(frames / file_name, quality=95)
        videos.append({"id": vid, "video_name": name, "file_names": names, "height": H, "width": W, "length": length})
    annotations = []
    for (ann_id, vid, cid), masks in MASKLETS.items():
        annotations.append(
            {
                "id": ann_id,
                "video_id": vid,
                "category_id": cid,
                "iscrowd": 0,
                "height": H,
                "width": W,
                "noun_phrase": CATEGORIES[cid],
                "segmentations": [None if m is None else _rle(m) for m in masks],
                "bboxes": [None if m is None else _box(m) for m in masks],
                "areas": [None if m is None else int(m.sum()) for m in masks],
            }
        )
    pairs = [(0, 1, 1), (0, 2, 0), (1, 1, 2), (1, 3, 0)]
    gt = {
        "videos": videos,
        "annotations": annotations,
        "categories": [{"id": c, "name": n} for c, n in CATEGORIES.items()],
        "video_np_pairs": [
            {"id": i, "video_id": v, "category_id": c, "noun_phrase": CATEGORIES[c], "num_masklets": k}
            for i, (v, c, k) in enumerate(pairs)
        ],
    }
    path = root / "saco_veval_toy_test.json"
    path.write_text(json.dumps(gt))
    return VEvalLayout(root, path, frames)

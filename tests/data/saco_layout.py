"""A small deterministic SA-Co/Gold and SA-Co/Silver in the official layout, for the loader's tests
(``test_data_saco.py``) and the saco protocol's (``tests/eval/test_saco_protocol.py``).

The layout follows sam3's README (*SA-Co Dataset*), ``scripts/eval/gold/README.md`` (the file
format, with its sample records), ``scripts/eval/gold/eval_sam3.py`` (the Gold file names) and
``sam3/train/configs/silver_image_evals`` (the Silver file names)::

    <root>/annotations/gold_metaclip_merged_{a,b,c}_release_test.json
    <root>/annotations/silver_bdd100k_merged_test.json
    <root>/metaclip_images/1/1001/metaclip_1_1001_<hex>.jpeg      (Gold pairs' file_name)
    <root>/silver_images/<hex>-<hex>.jpg                          (Silver pairs' file_name)

Gold: four 40x56 (HxW) images, one of them missing on disk, with eleven image-phrase pairs listed in
a shuffled order (not grouped by image): single and several objects, negatives, a crowd region
beside an object, annotators who disagree (one says negative), a pair that is not
instance-exhaustive for annotator a (not scored) and one for b (not scored either), the same
object as a compressed RLE (a), a polygon (b) and an uncompressed RLE (c), and annotators who
draw an object slightly differently. Every file lists every pair, as the release does (tests remove
one to see what happens when a file lacks a pair). Silver: two 36x48 images, three pairs (one with a 4-pixel object).
Boxes and areas are normalised by the image size as in the release; images are smooth gradients
(JPEG keeps their size exactly, which is all the loader checks).

`write_saco(root)` writes everything and returns a `Layout` with the paths and what the loader must
read back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from pycocotools import mask as mask_utils

GOLD_HW = (40, 56)
SILVER_HW = (36, 48)
ANNOTATORS = ("a", "b", "c")
BASE_ID = 10000000

GOLD_IMAGES = (
    "1/1001/metaclip_1_1001_0a1b2c3d4e5f60718293a4b5.jpeg",
    "1/1001/metaclip_1_1001_1f2e3d4c5b6a79889706f5e4.jpeg",
    "1/1002/metaclip_1_1002_2a3b4c5d6e7f8091a2b3c4d5.jpeg",
    "1/1002/metaclip_1_1002_3c4d5e6f708192a3b4c5d6e7.jpeg",  # listed, never written: a missing file
)
MISSING = GOLD_IMAGES[3]
SILVER_IMAGES = ("00488a66-6c729bde.jpg", "0a1b2c3d-4e5f6071.jpg")


def rect(y0: int, y1: int, x0: int, x1: int, hw: tuple[int, int] = GOLD_HW) -> np.ndarray:
    """An HxW bool mask of rows ``y0:y1`` and columns ``x0:x1``."""
    mask = np.zeros(hw, dtype=bool)
    mask[y0:y1, x0:x1] = True
    return mask


def disc(cy: float, cx: float, r: float, hw: tuple[int, int] = GOLD_HW) -> np.ndarray:
    """An HxW bool mask of the pixels whose centres lie within ``r`` of ``(cy, cx)``."""
    yy, xx = np.mgrid[0 : hw[0], 0 : hw[1]]
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r


def rle(mask: np.ndarray) -> dict[str, Any]:
    """Compressed RLE ``{"size": [H, W], "counts": str}``."""
    encoded = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(s) for s in encoded["size"]], "counts": encoded["counts"].decode("ascii")}


def uncompressed_rle(mask: np.ndarray) -> dict[str, Any]:
    """COCO's uncompressed RLE (column-major run lengths, starting with a background run)."""
    flat = mask.astype(np.uint8).flatten(order="F")
    changes = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], changes, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat[0]:
        counts = [0, *counts]
    return {"size": list(mask.shape), "counts": [int(c) for c in counts]}


# the kite of pair 8: a rectangle, written as a polygon by annotator b (its pixels are the same)
KITE = rect(8, 28, 20, 40)
KITE_POLYGON = [[20.0, 8.0, 40.0, 8.0, 40.0, 28.0, 20.0, 28.0]]


@dataclass
class Pair:
    """One image-phrase pair as written: ``objects[annotator]`` is a list of ``(mask, iscrowd)``
    (None where that annotator's file lacks the pair), ``exhaustive[annotator]`` its flag."""

    pair_id: int
    file_name: str
    phrase: str
    objects: dict[str, list[tuple[np.ndarray, int]] | None]
    exhaustive: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ANNOTATORS, 1))
    hw: tuple[int, int] = GOLD_HW

    @property
    def positive(self) -> bool:
        """The first annotator has a non-crowd object."""
        return any(not crowd for _, crowd in self.objects["a"] or [])

    @property
    def scored(self) -> bool:
        """What the official evaluator scores: exhaustive for a and not marked otherwise elsewhere."""
        return all(self.exhaustive.values())


def _same(objects: list[tuple[np.ndarray, int]]) -> dict[str, list[tuple[np.ndarray, int]]]:
    return dict.fromkeys(ANNOTATORS, objects)


def gold_pairs() -> list[Pair]:
    """The Gold pairs, by pair index (ids ``BASE_ID + index``)."""
    i0, i1, i2, i3 = GOLD_IMAGES
    cup1, cup2 = rect(4, 14, 4, 16), rect(20, 34, 30, 44)
    return [
        Pair(BASE_ID + 0, i0, "red block", _same([(rect(5, 20, 5, 25), 0)])),
        Pair(BASE_ID + 1, i0, "blue disc", _same([])),  # a negative
        Pair(BASE_ID + 2, i0, "cup", _same([(cup1, 0), (cup2, 0)])),
        Pair(BASE_ID + 3, i1, "car", _same([(rect(0, 16, 0, 56), 1), (rect(24, 36, 5, 25), 0)])),  # crowd + car
        Pair(BASE_ID + 4, i1, "dog", {"a": [(disc(20, 40, 6), 0)], "b": [(disc(20, 40, 6), 0)], "c": []}),
        Pair(BASE_ID + 5, i1, "wheel", _same([(disc(30, 10, 4), 0)]), {"a": 0, "b": 1, "c": 1}),  # not scored
        Pair(BASE_ID + 6, i1, "tree", _same([(rect(0, 30, 44, 56), 0)]), {"a": 1, "b": 0, "c": 1}),  # not scored
        Pair(BASE_ID + 7, i2, "sky", _same([])),  # a negative
        Pair(BASE_ID + 8, i2, "kite", _same([(KITE, 0)])),  # RLE (a), polygon (b), uncompressed RLE (c)
        Pair(  # annotator b draws the string a pixel wider
            BASE_ID + 9,
            i2,
            "string",
            {"a": [(rect(28, 38, 28, 30), 0)], "b": [(rect(28, 38, 28, 31), 0)], "c": [(rect(28, 38, 28, 30), 0)]},
        ),
        Pair(BASE_ID + 10, i3, "boat", _same([(rect(10, 30, 10, 40), 0)])),  # its image is missing
    ]


def silver_pairs() -> list[Pair]:
    """The Silver pairs (one annotator), by pair index."""
    one = lambda objects: {"a": objects}  # noqa: E731
    s0, s1 = SILVER_IMAGES
    return [
        Pair(BASE_ID + 0, s0, "a silver car", one([(rect(10, 30, 5, 30, SILVER_HW), 0)]), {"a": 1}, SILVER_HW),
        Pair(BASE_ID + 1, s0, "a traffic light", one([(rect(2, 4, 40, 42, SILVER_HW), 0)]), {"a": 1}, SILVER_HW),
        Pair(BASE_ID + 2, s1, "a bicycle", one([]), {"a": 1}, SILVER_HW),
    ]


#: the order the Gold pairs are listed in (by index): shuffled, images interleaved
GOLD_ORDER = (3, 0, 7, 1, 4, 8, 2, 10, 5, 9, 6)


def _segmentation(pair: Pair, annotator: str, mask: np.ndarray, crowd: int) -> Any:
    if pair.phrase == "kite" and annotator == "b":
        return KITE_POLYGON
    if pair.phrase == "kite" and annotator == "c":
        return uncompressed_rle(mask)
    return rle(mask)


def gt_json(pairs: list[Pair], order: tuple[int, ...], annotator: str, description: str) -> dict[str, Any]:
    """One annotator's ground-truth file, in the release's format."""
    images, annotations = [], []
    for index in order:
        pair = pairs[index]
        objects = pair.objects[annotator]
        if objects is None:
            continue
        h, w = pair.hw
        images.append(
            {
                "id": pair.pair_id,
                "file_name": pair.file_name,
                "text_input": pair.phrase,
                "width": w,
                "height": h,
                "queried_category": str(index),
                "is_instance_exhaustive": pair.exhaustive[annotator],
                "is_pixel_exhaustive": pair.exhaustive[annotator],
            }
        )
        for mask, crowd in objects:
            x, y, bw, bh = (
                float(v) for v in mask_utils.toBbox(mask_utils.encode(np.asfortranarray(mask.astype(np.uint8))))
            )
            annotations.append(
                {
                    "area": float(mask.sum()) / (h * w),
                    "id": len(annotations) + 1,
                    "image_id": pair.pair_id,
                    "source": "manual",
                    "bbox": [x / w, y / h, bw / w, bh / h],
                    "segmentation": _segmentation(pair, annotator, mask, crowd),
                    "category_id": 1,
                    "iscrowd": crowd,
                }
            )
    return {
        "info": {"version": "v1", "date": "2025-10-03T00:00:00", "description": description},
        "images": images,
        "annotations": annotations,
        "categories": [{"supercategory": "object", "id": 1, "name": "object"}],
        "licenses": [],
    }


def image(index: int, hw: tuple[int, int]) -> np.ndarray:
    """Image ``index`` as HxWx3 uint8: a smooth gradient."""
    yy, xx = np.mgrid[: hw[0], : hw[1]]
    return np.stack([yy * 5, xx * 4, np.full(hw, 40 * index % 256)], axis=2).astype(np.uint8)


@dataclass
class Layout:
    """What `write_saco` wrote: the folders, the files and the pairs."""

    root: Path
    annotations: Path
    gold_gt: list[Path]
    silver_gt: list[Path]
    gold_images: Path
    silver_images: Path
    gold: list[Pair]
    silver: list[Pair]

    def gold_pair(self, phrase: str) -> Pair:
        """The Gold pair of ``phrase``."""
        return next(p for p in self.gold if p.phrase == phrase)


def _write_image(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(path, quality=95)


def write_saco(root: str | Path) -> Layout:
    """Write the Gold subset ``metaclip`` and the Silver subset ``bdd100k`` under ``root``."""
    root = Path(root)
    annotations = root / "annotations"
    annotations.mkdir(parents=True, exist_ok=True)
    gold, silver = gold_pairs(), silver_pairs()
    gold_gt = []
    for k in ANNOTATORS:
        path = annotations / f"gold_metaclip_merged_{k}_release_test.json"
        path.write_text(json.dumps(gt_json(gold, GOLD_ORDER, k, f"SA-Co/Gold-MetaCLIP-{k.upper()} (samkit toy)")))
        gold_gt.append(path)
    silver_path = annotations / "silver_bdd100k_merged_test.json"
    silver_path.write_text(json.dumps(gt_json(silver, (0, 1, 2), "a", "SA-Co/Silver-BDD100k (samkit toy)")))
    gold_images, silver_images = root / "metaclip_images", root / "silver_images"
    for i, name in enumerate(GOLD_IMAGES):
        if name != MISSING:
            _write_image(gold_images / name, image(i, GOLD_HW))
    for i, name in enumerate(SILVER_IMAGES):
        _write_image(silver_images / name, image(10 + i, SILVER_HW))
    return Layout(root, annotations, gold_gt, [silver_path], gold_images, silver_images, gold, silver)

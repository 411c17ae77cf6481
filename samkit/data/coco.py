"""COCO-format instance segmentation: `CocoDataset` (one json for many images: COCO, LVIS) and
`Sa1bDataset` (SA-1B's folder of ``<stem>.jpg`` + ``<stem>.json`` per image).

Segmentations may be polygons, uncompressed RLE (``counts`` a list, as COCO's crowd annotations)
or compressed RLE (``counts`` a string, as SA-1B); pycocotools decodes all three. Polygon parts with
fewer than 3 points have no area and are ignored (pycocotools would read a 4-number part as a box).

What happens to bad input:

- malformed json (syntax, missing ``images`` / ``annotations`` / ``id`` / ``height`` / ``width``
  / ``segmentation``, unknown ``image_id``, duplicated ids, unsupported segmentation): ValueError
  naming the file and the entry, at construction (`Sa1bDataset`: when that image is loaded);
- a ``bbox`` that is not 4 finite numbers: ValueError naming the file and the annotation;
- an image whose ``file_name`` (or ``coco_url`` name) leads outside ``images_dir`` (``..``, an
  absolute path, a symlink; SA-1B: a listed file that is a symlink leading out of the folder):
  `samkit.errors.DatasetError` (a ValueError) naming the image id, the path and the root, at
  construction; nothing outside the root is ever opened;
- an image file whose size differs from its entry's height/width: ValueError naming the image id
  and both sizes;
- a missing image file: left out at construction, recorded in ``skipped_images`` with reason
  ``"missing file"`` and one warning;
- an annotation that contradicts its image's size is skipped, never used: ``"negative bbox"``
  (width or height < 0), ``"bbox outside image"`` and ``"polygon outside image"`` (beyond a
  tolerance of 1 pixel: ground truth touches the border and polygon points may lie a fraction of a
  pixel outside), ``"RLE size mismatch"`` (RLE ``size`` is not the image's [height, width]); the
  skipped record's ``detail`` gives the numbers;
- crowd annotations (``iscrowd`` 1; absent means 0, as in LVIS and SA-1B): skipped as ``"crowd"``
  when ``skip_crowd`` (default); empty masks skipped as ``"empty"``; masks under ``min_area`` pixels
  as ``"tiny"``; all recorded in `Sample.skipped`;
- an image with no annotations left: a Sample with N = 0 (its ``skipped`` says why).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from samkit.data._base import IdDataset
from samkit.data._io import read_image, resolve_inside
from samkit.data._subsample import check_options, id_sort_key, select_objects, subsample
from samkit.data.sample import Sample
from samkit.masks import decode_rles, to_pycoco_rle

__all__ = ["CocoDataset", "Sa1bDataset"]

_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".JPG", ".JPEG", ".PNG")
#: how far (pixels) a bbox or polygon point may lie outside the image before the annotation is skipped
_TOLERANCE = 1.0


class CocoDataset(IdDataset):
    """Images and instance masks from one COCO-format json (COCO, LVIS, or an SA-1B per-image json).

    Args:
        annotations: the json file. A COCO/LVIS file has ``images`` and ``annotations`` lists; an
            SA-1B file (``image`` dict + ``annotations``) is read as a one-image dataset.
        images_dir: folder the images' ``file_name`` is relative to (LVIS entries without
            ``file_name`` use the last part of ``coco_url``); a ``file_name`` that leads outside
            it, symlinks followed, is a `samkit.errors.DatasetError`.
        max_images: keep this many images (seeded draw after sorting by id); None keeps all.
        max_objects: keep at most this many objects per image (seeded by ``seed`` and the image id).
        seed: seed of both draws.
        min_area: skip objects with fewer pixels (recorded as ``"tiny"``).
        skip_crowd: skip ``iscrowd`` annotations (recorded as ``"crowd"``).
        name: the dataset name in samples; default ``"coco:<json stem>"``.

    Iterating yields `Sample` objects in sorted image-id order, reading each image only then.
    ``image_id`` is ``str(image["id"])`` and object ids ``str(annotation["id"])``, objects in
    sorted-id order.
    ``meta["objects"]`` holds each annotation's fields except the segmentation, with ``area`` the
    decoded pixel count (the json's own ``area`` kept as ``coco_area``), ``iscrowd`` as 0/1 and
    ``category`` the category name when the file has categories.
    """

    def __init__(
        self,
        annotations: str | Path,
        images_dir: str | Path,
        *,
        max_images: int | None = None,
        max_objects: int | None = None,
        seed: int = 0,
        min_area: int = 0,
        skip_crowd: bool = True,
        name: str | None = None,
    ) -> None:
        from pycocotools.coco import COCO

        check_options(max_images, max_objects, min_area)
        self.annotations_file = Path(annotations)
        self.images_dir = Path(images_dir)
        if not self.images_dir.is_dir():
            raise FileNotFoundError(f"Images folder not found: {self.images_dir}")
        self.name = name or f"coco:{self.annotations_file.stem}"
        self.max_objects, self.seed = max_objects, seed
        self.min_area, self.skip_crowd = min_area, skip_crowd

        data = _as_coco(_read_json(self.annotations_file), self.annotations_file)
        _validate(data, self.annotations_file)
        self.coco = COCO()
        self.coco.dataset = data
        with contextlib.redirect_stdout(io.StringIO()):  # createIndex prints progress
            self.coco.createIndex()

        self.skipped_images: list[dict] = []
        available: list[str] = []
        self._by_id: dict[str, Any] = {}
        self._paths: dict[str, Path] = {}
        for image in data["images"]:
            image_id = str(image["id"])
            path = _image_path(self.images_dir, image, self.annotations_file)
            self._by_id[image_id] = image["id"]
            self._paths[image_id] = path
            if path.is_file():
                available.append(image_id)
            else:
                self.skipped_images.append({"image_id": image_id, "reason": "missing file", "path": str(path)})
        _warn_missing(self.skipped_images, self.name)
        self.image_ids: list[str] = subsample(available, max_images, seed, "images")

    def __repr__(self) -> str:
        return f"CocoDataset(name={self.name!r}, images={len(self)}, skipped_images={len(self.skipped_images)})"

    def _load(self, image_id: str) -> Sample:
        source_id = self._by_id[image_id]
        image = self.coco.imgs[source_id]
        return _build_sample(
            image,
            self.coco.imgToAnns.get(source_id, []),
            self._paths[image_id],
            image_id=image_id,
            dataset=self.name,
            categories=self.coco.cats,
            where=str(self.annotations_file),
            max_objects=self.max_objects,
            seed=self.seed,
            min_area=self.min_area,
            skip_crowd=self.skip_crowd,
        )


class Sa1bDataset(IdDataset):
    """SA-1B layout: a folder of ``<stem>.jpg`` images, each with ``<stem>.json`` holding
    ``{"image": {...}, "annotations": [...]}`` (compressed RLE masks).

    ``image_id`` is the json stem (e.g. ``"sa_1"``), so that listing and subsampling need no json
    read; each json is read when its Sample is produced, and a malformed one raises ValueError
    naming the file then. The image is ``<stem>.jpg`` (or ``.jpeg`` / ``.png``); a json without one
    is recorded in ``skipped_images`` as ``"missing file"``; a json or image that is a symlink
    leading out of ``folder`` is a `samkit.errors.DatasetError`. The json's own ``file_name`` is not
    used. Options as `CocoDataset`; SA-1B has no
    crowd annotations, but an ``iscrowd`` field is honoured like COCO's. Default name:
    ``"sa1b:<folder name>"``.
    """

    def __init__(
        self,
        folder: str | Path,
        *,
        max_images: int | None = None,
        max_objects: int | None = None,
        seed: int = 0,
        min_area: int = 0,
        skip_crowd: bool = True,
        name: str | None = None,
    ) -> None:
        check_options(max_images, max_objects, min_area)
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise FileNotFoundError(f"SA-1B folder not found: {self.folder}")
        self.name = name or f"sa1b:{self.folder.name}"
        self.max_objects, self.seed = max_objects, seed
        self.min_area, self.skip_crowd = min_area, skip_crowd
        jsons = sorted(self.folder.glob("*.json"), key=lambda p: id_sort_key(p.stem))
        if not jsons:
            raise FileNotFoundError(f"No *.json annotation files in {self.folder}")
        self.skipped_images: list[dict] = []
        self._images: dict[str, Path] = {}
        for path in jsons:
            resolve_inside(self.folder, path.name, what=f"{self.name}: annotation file of image {path.stem!r}")
            image_path = next((p for s in _IMAGE_SUFFIXES if (p := path.with_suffix(s)).is_file()), None)
            if image_path is not None:
                resolve_inside(self.folder, image_path.name, what=f"{self.name}: image {path.stem!r}")
            if image_path is None:
                self.skipped_images.append(
                    {"image_id": path.stem, "reason": "missing file", "path": str(path.with_suffix(".jpg"))}
                )
            else:
                self._images[path.stem] = image_path
        _warn_missing(self.skipped_images, self.name)
        self.image_ids: list[str] = subsample(list(self._images), max_images, seed, "images")

    def __repr__(self) -> str:
        return f"Sa1bDataset(name={self.name!r}, images={len(self)}, skipped_images={len(self.skipped_images)})"

    def _load(self, image_id: str) -> Sample:
        path = self.folder / f"{image_id}.json"
        data = _as_coco(_read_json(path), path)
        if len(data["images"]) != 1:
            raise ValueError(f"{path}: expected one image per SA-1B json, got {len(data['images'])}")
        if isinstance(data["images"][0], dict):
            data["images"][0].setdefault("file_name", self._images[image_id].name)
        _validate(data, path)
        return _build_sample(
            data["images"][0],
            data["annotations"],
            self._images[image_id],
            image_id=image_id,
            dataset=self.name,
            categories={},
            where=str(path),
            max_objects=self.max_objects,
            seed=self.seed,
            min_area=self.min_area,
            skip_crowd=self.skip_crowd,
        )


# --------------------------------------------------------------------------------------------
# json reading and validation
# --------------------------------------------------------------------------------------------


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise FileNotFoundError(f"Annotation file not found: {path}")
    try:
        return json.loads(path.read_bytes())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: malformed JSON: {e.msg} at line {e.lineno} column {e.colno}") from e
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: malformed JSON: not UTF-8 text ({e.reason})") from e


def _as_coco(data: Any, path: Path) -> dict:
    """COCO-shaped dict; an SA-1B per-image dict becomes a one-image COCO dict."""
    if not isinstance(data, dict):
        raise ValueError(
            f"{path}: expected a JSON object with 'images' and 'annotations', got a JSON {type(data).__name__}"
        )
    if "images" not in data and isinstance(data.get("image"), dict):
        image = dict(data["image"])
        if "id" not in image and "image_id" in image:
            image["id"] = image["image_id"]
        anns = data.get("annotations")
        if not isinstance(anns, list):
            raise ValueError(f"{path}: 'annotations' must be a list, got {type(anns).__name__}")
        anns = [{**a, "image_id": image.get("id")} if isinstance(a, dict) else a for a in anns]
        return {"images": [image], "annotations": anns}
    for key in ("images", "annotations"):
        if key not in data:
            raise ValueError(
                f"{path}: no {key!r} list (COCO format needs 'images' and "
                f"'annotations'; SA-1B format 'image' and 'annotations')"
            )
        if not isinstance(data[key], list):
            raise ValueError(f"{path}: {key!r} must be a list, got {type(data[key]).__name__}")
    return data


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _validate(data: dict, path: Path) -> None:
    """ValueError naming ``path`` and the entry for anything the loader cannot use as given."""
    images: dict[Any, dict] = {}
    seen_images: set[str] = set()
    for i, image in enumerate(data["images"]):
        where = f"{path}: images[{i}]"
        if not isinstance(image, dict):
            raise ValueError(f"{where} is not an object")
        if not (_is_int(image.get("id")) or isinstance(image.get("id"), str)):
            raise ValueError(f"{where} has no int or str 'id'")
        for key in ("height", "width"):
            if not _is_int(image.get(key)) or image[key] <= 0:
                raise ValueError(f"{where} (id {image['id']}) has no positive int {key!r}")
        if not any(isinstance(image.get(k), str) for k in ("file_name", "coco_url")):
            raise ValueError(f"{where} (id {image['id']}) has no 'file_name' (or 'coco_url')")
        if str(image["id"]) in seen_images:
            raise ValueError(f"{path}: image id {image['id']} appears more than once")
        seen_images.add(str(image["id"]))
        images[image["id"]] = image
    categories = data.get("categories")
    category_ids: set | None = None
    if categories is not None:
        if not isinstance(categories, list) or not all(isinstance(c, dict) and "id" in c for c in categories):
            raise ValueError(f"{path}: 'categories' must be a list of objects with an 'id'")
        category_ids = {c["id"] for c in categories}
    seen: set[str] = set()
    for i, ann in enumerate(data["annotations"]):
        # messages are built only on failure: this loop runs once per annotation (~1e6 for COCO)
        if not isinstance(ann, dict):
            raise ValueError(f"{path}: annotations[{i}] is not an object")
        ann_id = ann.get("id")
        if not (_is_int(ann_id) or isinstance(ann_id, str)):
            raise ValueError(f"{path}: annotations[{i}] has no int or str 'id'")
        key = str(ann_id)
        if key in seen:
            raise ValueError(f"{path}: annotation id {ann_id} appears more than once")
        seen.add(key)
        image = images.get(ann.get("image_id"))
        if image is None:
            raise ValueError(
                f"{path}: annotation {ann_id} refers to image_id {ann.get('image_id')!r}, which is not in 'images'"
            )
        if category_ids is not None and ann.get("category_id") not in category_ids:
            raise ValueError(
                f"{path}: annotation {ann_id} has category_id {ann.get('category_id')!r}, which is not in 'categories'"
            )
        if ann.get("iscrowd", 0) not in (0, 1):
            raise ValueError(f"{path}: annotation {ann_id} has iscrowd {ann['iscrowd']!r}; expected 0 or 1")
        bbox = ann.get("bbox")
        if bbox is not None and not _is_box(bbox):
            raise ValueError(
                f"{path}: annotation {ann_id} has bbox {bbox!r}; expected [x, y, width, height], 4 finite numbers"
            )
        seg = ann.get("segmentation")
        if type(seg) is list and all(type(part) is list and not len(part) % 2 for part in seg):
            continue  # the common case: well-formed polygons
        _check_segmentation(seg, f"{path}: annotation {ann_id}")


def _is_box(bbox: Any) -> bool:
    """Whether ``bbox`` is a list of 4 finite numbers (bools excluded)."""
    return type(bbox) is list and len(bbox) == 4 and all(type(v) in (int, float) and math.isfinite(v) for v in bbox)


def _check_segmentation(seg: Any, where: str) -> None:
    """ValueError unless ``seg`` is polygons or a well-formed RLE (an RLE of another size than the
    image is well-formed: `_geometry_problem` skips it when the image is loaded)."""
    if seg is None:
        raise ValueError(f"{where} has no 'segmentation' (a detection-only file?)")
    if isinstance(seg, list):
        for part in seg:
            if not isinstance(part, list) or len(part) % 2:
                raise ValueError(
                    f"{where}: a polygon segmentation must be a list of "
                    "[x1, y1, x2, y2, ...] lists with an even number of values"
                )
        return
    if not isinstance(seg, dict) or "counts" not in seg or "size" not in seg:
        raise ValueError(f"{where}: segmentation must be polygons (a list) or RLE (an object with 'size' and 'counts')")
    size = seg["size"]
    if not (isinstance(size, list) and len(size) == 2 and all(_is_int(s) for s in size)):
        raise ValueError(f"{where}: RLE 'size' must be [height, width], got {size!r}")
    counts = seg["counts"]
    if isinstance(counts, list):
        if not all(_is_int(c) and c >= 0 for c in counts) or sum(counts) != size[0] * size[1]:
            raise ValueError(
                f"{where}: uncompressed RLE counts must be ints >= 0 summing to height*width = {size[0] * size[1]}"
            )
    elif not isinstance(counts, str):
        raise ValueError(
            f"{where}: RLE 'counts' must be a string (compressed) or a list of ints "
            f"(uncompressed), got {type(counts).__name__}"
        )


def _file_name(image: dict) -> str:
    if isinstance(image.get("file_name"), str):
        return image["file_name"]
    return image["coco_url"].rsplit("/", 1)[-1]


def _image_path(images_dir: Path, image: dict, annotations_file: Path) -> Path:
    """The image entry's file under ``images_dir``; `DatasetError` if it leads outside it."""
    key = "file_name" if isinstance(image.get("file_name"), str) else "coco_url"
    what = f"{annotations_file}: image {image['id']!r} ({key} {image[key]!r})"
    return resolve_inside(images_dir, _file_name(image), what=what)


def _warn_missing(skipped: list[dict], name: str) -> None:
    if skipped:
        warnings.warn(
            f"{name}: {len(skipped)} image(s) skipped because the image file is missing "
            f"(first: {skipped[0]['path']}); see the dataset's skipped_images",
            UserWarning,
            stacklevel=3,
        )


# --------------------------------------------------------------------------------------------
# one image
# --------------------------------------------------------------------------------------------


def _geometry_problem(ann: dict, h: int, w: int) -> tuple[str, str] | None:
    """``(reason, detail)`` when a validated annotation's bbox or segmentation contradicts an
    ``h x w`` image (pixels, beyond `_TOLERANCE`), else None."""
    if (bbox := ann.get("bbox")) is not None:
        x, y, bw, bh = bbox
        if bw < 0 or bh < 0:
            return "negative bbox", f"bbox {bbox} (x, y, width, height) has a negative width or height"
        if x < -_TOLERANCE or y < -_TOLERANCE or x + bw > w + _TOLERANCE or y + bh > h + _TOLERANCE:
            return "bbox outside image", (
                f"bbox {bbox} (x, y, width, height) leaves the {w}x{h} (WxH) image by more than {_TOLERANCE:g} pixel"
            )
    seg = ann["segmentation"]
    if isinstance(seg, dict):
        rle_h, rle_w = seg["size"]
        if (rle_h, rle_w) != (h, w):
            return "RLE size mismatch", f"the RLE mask is {rle_h}x{rle_w} (HxW) but the image is {h}x{w}"
        return None
    return _polygon_problem(seg, h, w)


def _polygon_problem(polygons: list, h: int, w: int) -> tuple[str, str] | None:
    """``("polygon outside image", detail)`` when a point of a polygon (of >= 3 points: smaller
    parts are ignored) lies more than `_TOLERANCE` pixels outside ``[0, w] x [0, h]``."""
    parts = [part for part in polygons if len(part) >= 6]
    if not parts:
        return None
    try:
        xy = np.concatenate([np.asarray(part, dtype=np.float64) for part in parts]).reshape(-1, 2)
    except (TypeError, ValueError):
        return None  # not numbers: _to_rle names the annotation
    if not np.isfinite(xy).all():
        return "polygon outside image", "the polygon has non-finite coordinates"
    (x0, y0), (x1, y1) = xy.min(axis=0), xy.max(axis=0)
    if x0 < -_TOLERANCE or y0 < -_TOLERANCE or x1 > w + _TOLERANCE or y1 > h + _TOLERANCE:
        return "polygon outside image", (
            f"polygon points span x {x0:g}..{x1:g}, y {y0:g}..{y1:g}, beyond the {w}x{h} (WxH) image "
            f"by more than {_TOLERANCE:g} pixel"
        )
    return None


def _geometry_skips(anns: list[dict], h: int, w: int) -> tuple[list[dict], list[dict]]:
    """``(usable annotations, skipped records)``: annotations that contradict the ``h x w`` image
    become ``{"object_id", "reason", "detail"}`` records."""
    usable, skipped = [], []
    for ann in anns:
        problem = _geometry_problem(ann, h, w)
        if problem is None:
            usable.append(ann)
        else:
            skipped.append({"object_id": str(ann["id"]), "reason": problem[0], "detail": problem[1]})
    return usable, skipped


def _to_rle(seg: Any, h: int, w: int, where: str) -> dict:
    """Compressed RLE (counts bytes) of a validated segmentation."""
    try:
        return to_pycoco_rle(seg, h, w)
    except (TypeError, ValueError, UnicodeEncodeError) as e:
        raise ValueError(f"{where}: unreadable segmentation ({e})") from e


def _build_sample(
    image_entry: dict,
    anns: list[dict],
    image_path: Path,
    *,
    image_id: str,
    dataset: str,
    categories: dict,
    where: str,
    max_objects: int | None,
    seed: int,
    min_area: int,
    skip_crowd: bool,
) -> Sample:
    import pycocotools.mask as mask_utils

    h, w = image_entry["height"], image_entry["width"]
    image, mode = read_image(image_path)
    if image.shape[:2] != (h, w):
        raise ValueError(
            f"{dataset}: image {image_id} ({image_path}) is {image.shape[0]}x"
            f"{image.shape[1]} (HxW) but {where} says {h}x{w}"
        )
    anns, bad = _geometry_skips(anns, h, w)
    rles = [_to_rle(a["segmentation"], h, w, f"{where}: annotation {a['id']}") for a in anns]
    areas = [int(a) for a in mask_utils.area(rles)] if rles else []
    keep, skipped, eligible = select_objects(
        [str(a["id"]) for a in anns],
        areas,
        [bool(a.get("iscrowd", 0)) for a in anns],
        image_id=image_id,
        min_area=min_area,
        max_objects=max_objects,
        seed=seed,
        skip_crowd=skip_crowd,
    )
    skipped = sorted(bad + skipped, key=lambda record: id_sort_key(record["object_id"]))
    if keep:
        masks = decode_rles([rles[i] for i in keep], h, w)
    else:
        masks = np.zeros((0, h, w), dtype=bool)
    objects = []
    for i in keep:
        ann = anns[i]
        obj = {k: v for k, v in ann.items() if k != "segmentation"}
        obj["coco_area"] = ann.get("area")
        obj["area"] = areas[i]
        obj["iscrowd"] = int(ann.get("iscrowd", 0))
        if ann.get("category_id") in categories:
            obj["category"] = categories[ann["category_id"]].get("name")
        objects.append(obj)
    meta = {
        "file": str(image_path),
        "source_image_id": image_entry["id"],
        "image_mode": mode,
        "objects": objects,
        "num_eligible_objects": eligible,
    }
    return Sample(
        image=image,
        masks=masks,
        object_ids=[str(anns[i]["id"]) for i in keep],
        image_id=image_id,
        dataset=dataset,
        meta=meta,
        skipped=skipped,
    )

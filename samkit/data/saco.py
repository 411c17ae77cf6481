"""SA-Co/Gold and SA-Co/Silver, SAM 3's image benchmarks of promptable concept segmentation, in
their official layout: `SacoDataset`, one `Sample` per image with its image-phrase pairs.

The layout (sam3's README, section *SA-Co Dataset*; ``scripts/eval/gold/README.md`` and
``scripts/eval/silver/README.md``; the folders ``sam3/train/configs/eval_base.yaml`` asks for; the
annotations from Hugging Face ``facebook/SACo-Gold`` / ``facebook/SACo-Silver`` or Roboflow)::

    <annotations folder>/
        gold_<subset>_merged_a_release_test.json    SA-Co/Gold: three annotators per subset,
        gold_<subset>_merged_b_release_test.json    subsets metaclip, sa1b, attributes, crowded,
        gold_<subset>_merged_c_release_test.json    wiki_common, fg_food, fg_sports_equipment
        silver_<subset>_merged_test.json            SA-Co/Silver: one annotator (fathomnet:
                                                    silver_fathomnet_test.json)
    <images folder>/                                one per image source: MetaCLIP (six Gold
        1/1001/metaclip_1_1001_<hash>.jpeg          subsets), SA-1B (Gold sa1b), each Silver
        ...                                         domain; ``file_name`` is relative to it

Each ground-truth file is COCO json whose ``images`` are image-phrase pairs (``id``,
``file_name``, ``text_input``, ``height``, ``width``, ``is_instance_exhaustive``,
``is_pixel_exhaustive``, ``queried_category``); ``annotations`` are the pairs' instance masks
(``segmentation`` RLE or polygons, ``bbox`` and ``area`` normalised by the image size,
``category_id`` 1, ``iscrowd``); a pair without annotations is a negative (the phrase is absent).
`saco_gt_files` names a subset's files; `samkit.metrics.scoring.saco.score_saco` scores predictions
against them and the ``saco`` protocol (`samkit.eval.saco`) runs a model over the pairs.

One `Sample` per image, not per pair: an image is embedded once and queried with each of its
phrases. ``meta["pairs"]`` lists the image's pairs (negatives included) in the first file's order;
the masks are the first annotator's objects of all those pairs, each naming its pair and phrase in
``meta["objects"]``. `SacoDataset.pair_ground_truth` gives a pair's records in every annotator's
file, as the scorer reads them.

What happens to bad input (as `samkit.data.CocoDataset`, whose checks these files pass first):

- malformed json or records (COCO checks; a pair without a str ``text_input``, a str
  ``file_name`` or a 0/1 ``is_instance_exhaustive``; pairs of one image with different sizes; a
  pair id that two annotator files give different images or phrases): ValueError naming the file
  and the record, at construction;
- a ``file_name`` that leads outside ``images_dir`` (``..``, an absolute path, a symlink), in any
  annotator's file: `samkit.errors.DatasetError` at construction; nothing outside is opened;
- a missing image file: the image and its pairs are left out, recorded in ``skipped_images``
  (reason ``"missing file"``) with one warning;
- an image file whose size differs from its pairs' height/width: ValueError when it is loaded;
- objects: as COCO (``"crowd"`` when ``skip_crowd``, ``"empty"``, ``"tiny"``, ``"RLE size
  mismatch"``, ``"polygon outside image"``) in `Sample.skipped`; the ``bbox`` is not checked
  against the image (SA-Co's are normalised). Skipping changes the sample's masks only, never the
  ground truth that `pair_ground_truth` gives the scorer.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from samkit.data._base import IdDataset
from samkit.data._io import read_image, resolve_inside
from samkit.data._subsample import check_options, id_sort_key, select_objects, subsample
from samkit.data.coco import _as_coco, _geometry_problem, _read_json, _to_rle, _validate, _warn_missing
from samkit.data.sample import Sample
from samkit.masks import decode_rles

__all__ = ["SacoDataset", "saco_gt_files", "SACO_GOLD_SUBSETS", "SACO_SILVER_SUBSETS"]

#: the seven SA-Co/Gold subsets, as their files name them (``gold_<subset>_merged_{a,b,c}_release_test.json``)
SACO_GOLD_SUBSETS = ("metaclip", "sa1b", "attributes", "crowded", "wiki_common", "fg_food", "fg_sports_equipment")

#: the ten SA-Co/Silver subsets, as their files name them (``silver_<subset>_merged_test.json``)
SACO_SILVER_SUBSETS = (
    "bdd100k",
    "droid",
    "ego4d",
    "food_rec",
    "geode",
    "inaturalist",
    "nga_art",
    "sav",
    "yt1b",
    "fathomnet",
)

_ANNOTATORS = ("a", "b", "c")


def saco_gt_files(folder: str | os.PathLike, subset: str) -> list[Path]:
    """The ground-truth files of one SA-Co subset in ``folder``, in annotator order.

    ``subset``: a Gold subset (``"metaclip"`` or ``"gold_metaclip"``, ...: the three files
    ``gold_<subset>_merged_{a,b,c}_release_test.json``) or a Silver one (``"bdd100k"`` or
    ``"silver_bdd100k"``: ``silver_<subset>_merged_test.json``, FathomNet's
    ``silver_fathomnet_test.json``), named as in `SACO_GOLD_SUBSETS` / `SACO_SILVER_SUBSETS`.
    An unknown subset is a ValueError listing them; a missing file a FileNotFoundError.
    """
    name = str(subset)
    for prefix in ("gold_", "silver_"):
        if name.startswith(prefix) and name[len(prefix) :] in SACO_GOLD_SUBSETS + SACO_SILVER_SUBSETS:
            name = name[len(prefix) :]
    if name in SACO_GOLD_SUBSETS:
        names = [f"gold_{name}_merged_{k}_release_test.json" for k in _ANNOTATORS]
    elif name in SACO_SILVER_SUBSETS:
        names = ["silver_fathomnet_test.json" if name == "fathomnet" else f"silver_{name}_merged_test.json"]
    else:
        raise ValueError(
            f"unknown SA-Co subset {subset!r}; Gold: {', '.join(SACO_GOLD_SUBSETS)}; "
            f"Silver: {', '.join(SACO_SILVER_SUBSETS)}"
        )
    paths = [Path(folder) / n for n in names]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"SA-Co subset {subset!r}: ground-truth file(s) not found: {', '.join(missing)}")
    return paths


def _is_flag(value: Any) -> bool:
    return isinstance(value, bool) or (isinstance(value, (int, float)) and value in (0, 1))


def _check_pairs(data: dict, path: Path) -> None:
    """ValueError naming ``path`` and the pair for what SA-Co needs beyond COCO's checks."""
    for i, pair in enumerate(data["images"]):
        where = f"{path}: images[{i}] (id {pair['id']!r})"
        if not isinstance(pair.get("file_name"), str):
            raise ValueError(f"{where} has no str 'file_name' (an SA-Co image-phrase pair names its image file)")
        if not isinstance(pair.get("text_input"), str):
            raise ValueError(f"{where} has no str 'text_input' (the pair's noun phrase)")
        if not _is_flag(pair.get("is_instance_exhaustive")):
            raise ValueError(f"{where}: 'is_instance_exhaustive' must be 0/1 or a boolean")


class SacoDataset(IdDataset):
    """SA-Co/Gold or SA-Co/Silver: images with their image-phrase pairs, negatives included.

    Args:
        gt_json: one ground-truth file, or a subset's files in annotator order (Gold's
            ``gold_<subset>_merged_{a,b,c}_release_test.json``; `saco_gt_files` lists them). The
            first file's pairs are the dataset's, in its order, as the official evaluator scores
            them; the other files give the other annotators' versions of the same pairs.
        images_dir: the folder the pairs' ``file_name`` is relative to (the MetaCLIP, SA-1B or
            Silver domain's images); a ``file_name`` leading outside it, symlinks followed, is a
            `samkit.errors.DatasetError`.
        max_images: keep this many images, each with all its pairs (seeded draw after sorting by
            id); None keeps all.
        max_objects: keep at most this many objects per image in the sample's masks (seeded by
            ``seed`` and the image id); the scored ground truth is never subsampled.
        seed: seed of both draws.
        min_area: leave objects with fewer pixels out of the masks (recorded as ``"tiny"``).
        skip_crowd: leave ``iscrowd`` objects out of the masks (recorded as ``"crowd"``).
        name: the dataset name in samples; default ``"saco:<first file's stem>"``.

    Iterating yields one `Sample` per image, in sorted image-id order, reading each image only
    then. ``image_id`` is the pairs' ``file_name`` (e.g. ``"1/1001/metaclip_1_1001_<hash>.jpeg"``);
    object ids are ``str(annotation["id"])`` of the first file. ``meta``:

    - ``"pairs"``: the image's pairs in the first file's order, each ``{"pair_id": str id,
      "source_pair_id": the json id, "index": position in the first file, "text_input",
      "positive": the first annotator has a non-crowd object, "object_ids": the str ids of its
      annotations in the first file (crowd included), "is_instance_exhaustive",
      "is_pixel_exhaustive", "queried_category", "scored"}``; ``scored`` is False for a pair that
      the official evaluator ignores (not instance-exhaustive in the first file, or marked
      non-exhaustive in another);
    - ``"objects"``: per mask the annotation's fields except the segmentation, with ``pair_id``,
      ``category`` (the pair's phrase, so that the text protocol can prompt with it), ``area``
      in pixels (the json's normalised ``area`` kept as ``saco_area``) and ``iscrowd`` 0/1;
    - ``"file"``, ``"file_name"``, ``"image_mode"``, ``"num_eligible_objects"``, ``"annotators"``.

    Attributes: ``gt_files``, ``annotators`` (the number of files), ``categories`` (the first
    file's), ``image_ids``, ``skipped_images``, ``num_pairs`` (pairs of the kept images).
    """

    def __init__(
        self,
        gt_json: str | os.PathLike | Sequence[str | os.PathLike],
        images_dir: str | os.PathLike,
        *,
        max_images: int | None = None,
        max_objects: int | None = None,
        seed: int = 0,
        min_area: int = 0,
        skip_crowd: bool = True,
        name: str | None = None,
    ) -> None:
        check_options(max_images, max_objects, min_area)
        if isinstance(gt_json, (str, os.PathLike)):
            files = [Path(gt_json)]
        else:
            files = [Path(p) for p in gt_json]
        if not files:
            raise ValueError("gt_json must name at least one SA-Co ground-truth file")
        self.gt_files = files
        self.annotators = len(files)
        self.images_dir = Path(images_dir)
        if not self.images_dir.is_dir():
            raise FileNotFoundError(f"Images folder not found: {self.images_dir}")
        self.name = name or f"saco:{files[0].stem}"
        self.max_objects, self.seed = max_objects, seed
        self.min_area, self.skip_crowd = min_area, skip_crowd

        datas = []
        for path in files:
            data = _as_coco(_read_json(path), path)
            _validate(data, path)
            _check_pairs(data, path)
            datas.append(data)
        self.categories: list[dict] = list(datas[0].get("categories") or [])
        #: per annotator: {json pair id: pair record}, {json pair id: [annotations, file order]}
        self._records: list[dict[Any, dict]] = [{p["id"]: p for p in d["images"]} for d in datas]
        self._anns: list[dict[Any, list[dict]]] = []
        for data in datas:
            by_pair: dict[Any, list[dict]] = defaultdict(list)
            for ann in data["annotations"]:
                by_pair[ann["image_id"]].append(ann)
            self._anns.append(dict(by_pair))
        self._check_annotators()

        excluded = {p["id"] for d in datas[1:] for p in d["images"] if not p["is_instance_exhaustive"]}
        self._source: dict[str, Any] = {}
        self._pairs: dict[str, list[dict]] = defaultdict(list)
        self._size: dict[str, tuple[int, int]] = {}
        first = files[0]
        for index, pair in enumerate(datas[0]["images"]):
            file_name, pair_id = pair["file_name"], str(pair["id"])
            size = (pair["height"], pair["width"])
            if self._size.setdefault(file_name, size) != size:
                h, w = self._size[file_name]
                raise ValueError(
                    f"{first}: pair {pair['id']!r} says {file_name!r} is {size[0]}x{size[1]} (HxW), "
                    f"an earlier pair of the same image {h}x{w}"
                )
            if pair_id in self._source:
                raise ValueError(f"{first}: pair ids {self._source[pair_id]!r} and {pair['id']!r} are the same as str")
            self._source[pair_id] = pair["id"]
            anns = self._anns[0].get(pair["id"], [])
            self._pairs[file_name].append(
                {
                    "pair_id": pair_id,
                    "source_pair_id": pair["id"],
                    "index": index,
                    "text_input": pair["text_input"],
                    "positive": any(not a.get("iscrowd", 0) for a in anns),
                    "object_ids": [str(a["id"]) for a in anns],
                    "is_instance_exhaustive": int(pair["is_instance_exhaustive"]),
                    "is_pixel_exhaustive": pair.get("is_pixel_exhaustive"),
                    "queried_category": pair.get("queried_category"),
                    "scored": bool(pair["is_instance_exhaustive"]) and pair["id"] not in excluded,
                }
            )

        checked: dict[str, Path] = {}
        for path, data in zip(files, datas):
            for pair in data["images"]:
                if pair["file_name"] not in checked:
                    what = f"{path}: pair {pair['id']!r} (file_name {pair['file_name']!r})"
                    checked[pair["file_name"]] = resolve_inside(self.images_dir, pair["file_name"], what=what)
        self._paths = {file_name: checked[file_name] for file_name in self._pairs}
        self.skipped_images: list[dict] = []
        available = []
        for file_name, image_path in self._paths.items():
            if image_path.is_file():
                available.append(file_name)
            else:
                self.skipped_images.append({"image_id": file_name, "reason": "missing file", "path": str(image_path)})
        _warn_missing(self.skipped_images, self.name)
        self.image_ids: list[str] = subsample(available, max_images, seed, "images")
        self.num_pairs = sum(len(self._pairs[i]) for i in self.image_ids)

    def _check_annotators(self) -> None:
        """ValueError when an annotator's file gives a pair of the first another image or phrase."""
        first = self._records[0]
        for path, records in zip(self.gt_files[1:], self._records[1:]):
            for pair_id, record in records.items():
                ref = first.get(pair_id)
                if ref is None:
                    continue
                for key in ("file_name", "text_input", "height", "width"):
                    if record.get(key) != ref.get(key):
                        raise ValueError(
                            f"{path}: pair {pair_id!r} has {key} {record.get(key)!r} but {self.gt_files[0]} "
                            f"gives {ref.get(key)!r}: the annotator files disagree on what the pair is"
                        )

    def __repr__(self) -> str:
        return (
            f"SacoDataset(name={self.name!r}, images={len(self)}, pairs={self.num_pairs}, "
            f"annotators={self.annotators}, skipped_images={len(self.skipped_images)})"
        )

    def pair_ground_truth(self, pair_id: str) -> list[dict[str, Any] | None]:
        """Pair ``pair_id`` (the str id of ``meta["pairs"]``) in every annotator's file, in order:
        ``{"pair": its images record, "annotations": its annotations in file order}`` exactly as
        the file holds them (segmentations as written, crowd included), or None where that file
        lacks the pair (the official evaluator then counts it as a negative). A KeyError for a
        pair the first file does not have."""
        source = self._source[str(pair_id)]
        out: list[dict[str, Any] | None] = []
        for records, anns in zip(self._records, self._anns):
            record = records.get(source)
            out.append(None if record is None else {"pair": record, "annotations": list(anns.get(source, []))})
        return out

    def _load(self, image_id: str) -> Sample:
        import pycocotools.mask as mask_utils

        h, w = self._size[image_id]
        path = self._paths[image_id]
        image, mode = read_image(path)
        if image.shape[:2] != (h, w):
            raise ValueError(
                f"{self.name}: image {image_id} ({path}) is {image.shape[0]}x{image.shape[1]} (HxW) "
                f"but {self.gt_files[0]} says {h}x{w}"
            )
        pairs = [dict(p, object_ids=list(p["object_ids"])) for p in self._pairs[image_id]]
        anns, owner, bad = [], [], []
        for pair in pairs:
            for ann in self._anns[0].get(pair["source_pair_id"], []):
                # SA-Co boxes are normalised: only the segmentation is checked against the image
                problem = _geometry_problem({k: v for k, v in ann.items() if k != "bbox"}, h, w)
                if problem is None:
                    anns.append(ann)
                    owner.append(pair)
                else:
                    bad.append({"object_id": str(ann["id"]), "reason": problem[0], "detail": problem[1]})
        where = str(self.gt_files[0])
        rles = [_to_rle(a["segmentation"], h, w, f"{where}: annotation {a['id']}") for a in anns]
        areas = [int(a) for a in mask_utils.area(rles)] if rles else []
        keep, skipped, eligible = select_objects(
            [str(a["id"]) for a in anns],
            areas,
            [bool(a.get("iscrowd", 0)) for a in anns],
            image_id=image_id,
            min_area=self.min_area,
            max_objects=self.max_objects,
            seed=self.seed,
            skip_crowd=self.skip_crowd,
        )
        skipped = sorted(bad + skipped, key=lambda record: id_sort_key(record["object_id"]))
        masks = decode_rles([rles[i] for i in keep], h, w) if keep else np.zeros((0, h, w), dtype=bool)
        objects = []
        for i in keep:
            ann = anns[i]
            obj = {k: v for k, v in ann.items() if k != "segmentation"}
            obj.update(
                pair_id=owner[i]["pair_id"],
                category=owner[i]["text_input"],
                saco_area=ann.get("area"),
                area=areas[i],
                iscrowd=int(ann.get("iscrowd", 0)),
            )
            objects.append(obj)
        meta = {
            "file": str(path),
            "file_name": image_id,
            "image_mode": mode,
            "pairs": pairs,
            "objects": objects,
            "num_eligible_objects": eligible,
            "annotators": self.annotators,
        }
        return Sample(
            image=image,
            masks=masks,
            object_ids=[str(anns[i]["id"]) for i in keep],
            image_id=image_id,
            dataset=self.name,
            meta=meta,
            skipped=skipped,
        )

"""SA-Co/VEval, SAM 3's video benchmark of promptable concept segmentation, in its official layout:
`SacoVEvalDataset`, one `SacoVideo` per video with its video-phrase pairs.

The layout (sam3's ``scripts/eval/veval/README.md``; annotations from Hugging Face
``facebook/SACo-VEval``)::

    saco_veval_<domain>_<split>.json        ground truth, YT-VIS json (domains sav, yt1b,
                                            smartglasses; splits val, test)
    <frames folder>/<video>/00000.jpg ...   the frames; each video's ``file_names`` are
                                            relative to this folder

The ground truth: ``videos`` (``id``, ``file_names`` one per frame, ``height``, ``width``,
``length``), ``annotations`` = masklets (``id``, ``video_id``, ``category_id``, ``iscrowd``, per
frame ``segmentations`` RLE / ``bboxes`` pixel ``[x, y, w, h]`` / ``areas``, ``null`` where the
object is not visible), ``categories`` (``id``, ``name``: one per noun phrase) and
``video_np_pairs`` (``video_id``, ``category_id``, ``noun_phrase``, ``num_masklets``; 0 marks a
*negative* phrase, absent from the video). `samkit.metrics.scoring.saco.score_saco` with
``kind="video"`` scores predictions against it; the ``saco_video`` protocol
(`samkit.eval.saco_video`) runs a model over the pairs.

What happens to bad input:

- malformed json or records (not a YT-VIS object; a video without an int ``id``, a non-empty
  list of str ``file_names`` whose length is ``length``, positive int ``height`` / ``width``; an
  annotation without int ``id`` / ``video_id`` of a listed video / ``category_id``, or per-frame
  lists of another length; duplicate ids; a pair of an unlisted video):
  `samkit.errors.DatasetError` naming the file and the record, at construction;
- a ``file_name`` that leads outside ``frames_dir`` (``..``, an absolute path, a symlink):
  `samkit.errors.DatasetError` at construction; nothing outside is opened;
- a video with a missing frame file: left out with its pairs, recorded in ``skipped_images``
  (reason ``"missing file"``) with one warning;
- a frame whose size differs from the video's: `samkit.errors.VideoError` when it is read.
"""

from __future__ import annotations

import json
import os
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from samkit.data._base import IdDataset
from samkit.data._io import resolve_inside
from samkit.data._subsample import check_options, subsample
from samkit.errors import DatasetError

__all__ = ["SacoVEvalDataset", "SacoVideo"]


@dataclass(eq=False, repr=False)
class SacoVideo:
    """One SA-Co/VEval video with its video-phrase pairs; frames are read on demand.

    Attributes:
        video_id: the ground truth's int video id.
        sequence: ``str(video_id)`` (the dataset's id of the video, as rows name it).
        name: the video's folder name (``video_name`` in the json, else the first frame's folder).
        frame_paths: T frame files, in the json's order.
        height, width: the frames' size in pixels.
        pairs: the video's pairs, negatives included, in the json's order: ``{"pair_id":
            "<video_id>:<category_id>", "video_id", "category_id", "phrase", "num_masklets",
            "positive", "masklet_ids"}``.
        video: the json's video record, as written.
        dataset: the dataset's name.
        meta: ``{"frames_dir": the dataset's frames folder}``.
    """

    video_id: int
    name: str
    frame_paths: list[Path]
    height: int
    width: int
    pairs: list[dict[str, Any]]
    video: dict[str, Any]
    dataset: str
    annotations: dict[int, dict[str, Any]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def sequence(self) -> str:
        """``str(video_id)``."""
        return str(self.video_id)

    @property
    def num_frames(self) -> int:
        """T."""
        return len(self.frame_paths)

    @property
    def frame_names(self) -> list[str]:
        """T frame names (file stems)."""
        return [p.stem for p in self.frame_paths]

    def __repr__(self) -> str:
        negatives = sum(not p["positive"] for p in self.pairs)
        return (
            f"SacoVideo(video_id={self.video_id}, name={self.name!r}, frames={self.num_frames}, "
            f"size={self.height}x{self.width}, pairs={len(self.pairs)} ({negatives} negative))"
        )

    def frames(self) -> Any:
        """The frames as lazy `samkit.video_io.VideoFrames` (HxWx3 uint8 RGB, one file read per
        access, in the json's order); what ``model.video`` takes."""
        from samkit.video_io import VideoFrames, _FolderBackend

        backend = _FolderBackend(self.frame_paths[0].parent, self.frame_paths, (self.height, self.width))
        return VideoFrames(backend, self.frame_names)

    def pair(self, pair_id: str) -> dict[str, Any]:
        """The pair ``pair_id`` of this video (KeyError naming the video's pairs otherwise)."""
        for p in self.pairs:
            if p["pair_id"] == pair_id:
                return p
        raise KeyError(f"video {self.video_id} has no pair {pair_id!r}; it has {[p['pair_id'] for p in self.pairs]}")

    def masklet_records(self, pair_id: str) -> list[dict[str, Any]]:
        """The ground-truth annotations (masklets) of a pair, as the json holds them."""
        return [self.annotations[i] for i in self.pair(pair_id)["masklet_ids"]]

    def masklets(self, pair_id: str) -> np.ndarray:
        """The pair's ground-truth masklets as (K, T, H, W) bool (empty where ``null``; crowd
        ones included)."""
        from pycocotools import mask as mask_utils

        records = self.masklet_records(pair_id)
        out = np.zeros((len(records), self.num_frames, self.height, self.width), dtype=bool)
        for k, record in enumerate(records):
            for t, rle in enumerate(record["segmentations"]):
                if rle is None:
                    continue
                if isinstance(rle.get("counts"), list):
                    rle = mask_utils.frPyObjects(rle, self.height, self.width)
                out[k, t] = mask_utils.decode(rle).astype(bool)
        return out


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _records(data: dict, key: str, path: Path) -> list:
    value = data.get(key)
    if not isinstance(value, list):
        raise DatasetError(f"{path}: SA-Co/VEval ground truth needs a list {key!r} (YT-VIS layout)")
    return value


class SacoVEvalDataset(IdDataset):
    """SA-Co/VEval: videos with their video-phrase pairs, negatives included.

    Args:
        gt_json: the ground-truth file (``saco_veval_<domain>_<split>.json``).
        frames_dir: the folder the videos' ``file_names`` are relative to; a name leading outside
            it, symlinks followed, is a `samkit.errors.DatasetError`.
        max_images: keep this many videos (seeded draw after sorting by id), each with all its
            pairs; None keeps all.
        seed: seed of that draw.
        name: the dataset name in rows; default ``"saco_veval:<file stem>"``.

    Iterating yields one `SacoVideo` per video, in sorted video-id order; its frames are read only
    when asked for (`SacoVideo.frames`). Pairs come from ``video_np_pairs`` (negatives with
    ``num_masklets`` 0); without that list, from the annotations' (video, category) pairs
    (positives only; ``has_np_pairs`` is then False and the official scorer gives no cgF1).

    Attributes: ``gt_file``, ``categories`` (``{id: name}``), ``image_ids`` (the kept videos' ids as
    str, so that shards split videos), ``skipped_images``, ``num_pairs`` (pairs of the kept
    videos), ``has_np_pairs``.
    """

    def __init__(
        self,
        gt_json: str | os.PathLike,
        frames_dir: str | os.PathLike,
        *,
        max_images: int | None = None,
        seed: int = 0,
        name: str | None = None,
    ) -> None:
        check_options(max_images, None, 0)
        path = Path(gt_json)
        self.gt_file = path
        self.frames_dir = Path(frames_dir)
        if not self.frames_dir.is_dir():
            raise FileNotFoundError(f"Frames folder not found: {self.frames_dir}")
        self.name = name or f"saco_veval:{path.stem}"
        self.seed = seed
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as e:
            raise DatasetError(f"{path}: not valid JSON ({e})") from None
        if not isinstance(data, dict):
            raise DatasetError(f"{path}: the top level must be a JSON object (YT-VIS layout)")
        self.categories: dict[int, str] = {}
        for i, cat in enumerate(_records(data, "categories", path)):
            if not isinstance(cat, dict) or not _is_int(cat.get("id")) or not isinstance(cat.get("name"), str):
                raise DatasetError(f"{path}: categories[{i}] needs an int 'id' and a str 'name'")
            self.categories[int(cat["id"])] = cat["name"]
        self._videos: dict[int, dict] = {}
        self._paths: dict[int, list[Path]] = {}
        for i, video in enumerate(_records(data, "videos", path)):
            self._check_video(video, i, path)
        self._anns: dict[int, dict] = {}
        by_pair: dict[tuple[int, int], list[int]] = defaultdict(list)
        for i, ann in enumerate(_records(data, "annotations", path)):
            self._check_annotation(ann, i, path)
            self._anns[int(ann["id"])] = ann
            by_pair[(int(ann["video_id"]), int(ann["category_id"]))].append(int(ann["id"]))
        self.has_np_pairs = isinstance(data.get("video_np_pairs"), list)
        np_pairs = _records(data, "video_np_pairs", path) if self.has_np_pairs else None
        if np_pairs is None:
            np_pairs = [{"video_id": v, "category_id": c} for v, c in sorted(by_pair)]
        self._pairs: dict[int, list[dict]] = defaultdict(list)
        for i, record in enumerate(np_pairs):
            where = f"{path}: video_np_pairs[{i}]"
            if not isinstance(record, dict) or not all(_is_int(record.get(k)) for k in ("video_id", "category_id")):
                raise DatasetError(f"{where} needs int 'video_id' and 'category_id'")
            vid, cid = int(record["video_id"]), int(record["category_id"])
            if vid not in self._videos:
                raise DatasetError(f"{where}: video_id {vid} is not in 'videos'")
            phrase = record.get("noun_phrase", self.categories.get(cid))
            if not isinstance(phrase, str):
                raise DatasetError(f"{where}: no str 'noun_phrase' and category {cid} is not in 'categories'")
            ids = by_pair.get((vid, cid), [])
            self._pairs[vid].append(
                {
                    "pair_id": f"{vid}:{cid}",
                    "video_id": vid,
                    "category_id": cid,
                    "phrase": phrase,
                    "num_masklets": int(record.get("num_masklets", len(ids))),
                    "positive": any(not self._anns[a].get("iscrowd", 0) for a in ids),
                    "masklet_ids": list(ids),
                    "np_pair": record if self.has_np_pairs else None,
                }
            )
        self.skipped_images: list[dict] = []
        available = []
        for vid, paths in self._paths.items():
            missing = next((p for p in paths if not p.is_file()), None)
            if missing is not None:
                self.skipped_images.append({"image_id": str(vid), "reason": "missing file", "path": str(missing)})
            else:
                available.append(str(vid))
        if self.skipped_images:
            first = self.skipped_images[0]
            warnings.warn(
                f"{self.name}: {len(self.skipped_images)} video(s) skipped (first: {first['image_id']}, "
                f"{first['reason']}: {first['path']}); see skipped_images",
                UserWarning,
                stacklevel=2,
            )
        self.image_ids: list[str] = subsample(available, max_images, seed, "images")
        self.num_pairs = sum(len(self._pairs[int(v)]) for v in self.image_ids)

    def _check_video(self, video: Any, i: int, path: Path) -> None:
        where = f"{path}: videos[{i}]"
        if not isinstance(video, dict) or not _is_int(video.get("id")):
            raise DatasetError(f"{where}: a video needs an int 'id'")
        vid = int(video["id"])
        where += f" (id {vid})"
        if vid in self._videos:
            raise DatasetError(f"{where}: duplicate video id")
        names = video.get("file_names")
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise DatasetError(f"{where}: 'file_names' must be a non-empty list of str, one per frame")
        for key in ("height", "width"):
            if not _is_int(video.get(key)) or video[key] <= 0:
                raise DatasetError(f"{where}: {key!r} must be a positive int, got {video.get(key)!r}")
        if "length" in video and video["length"] != len(names):
            raise DatasetError(f"{where}: 'length' is {video['length']!r} but 'file_names' has {len(names)} frames")
        self._videos[vid] = video
        self._paths[vid] = [resolve_inside(self.frames_dir, n, what=f"{where} file_name {n!r}") for n in names]

    def _check_annotation(self, ann: Any, i: int, path: Path) -> None:
        where = f"{path}: annotations[{i}]"
        if not isinstance(ann, dict) or not all(_is_int(ann.get(k)) for k in ("id", "video_id", "category_id")):
            raise DatasetError(f"{where}: an annotation needs int 'id', 'video_id' and 'category_id'")
        where += f" (id {ann['id']})"
        if int(ann["id"]) in self._anns:
            raise DatasetError(f"{where}: duplicate annotation id")
        video = self._videos.get(int(ann["video_id"]))
        if video is None:
            raise DatasetError(f"{where}: video_id {ann['video_id']} is not in 'videos'")
        frames = len(video["file_names"])
        for key in ("segmentations", "bboxes", "areas"):
            if not isinstance(ann.get(key), list) or len(ann[key]) != frames:
                raise DatasetError(f"{where}: {key!r} must be a list with one entry per frame ({frames})")

    def __repr__(self) -> str:
        return (
            f"SacoVEvalDataset(name={self.name!r}, videos={len(self)}, pairs={self.num_pairs}, "
            f"skipped_images={len(self.skipped_images)})"
        )

    def item_sizes(self) -> dict[str, float]:
        """Frames x pairs per video (the work of the saco_video protocol), to balance shards."""
        return {v: float(len(self._paths[int(v)]) * max(len(self._pairs[int(v)]), 1)) for v in self.image_ids}

    def _load(self, image_id: str) -> SacoVideo:
        vid = int(image_id)
        video = self._videos[vid]
        paths = self._paths[vid]
        pairs = [dict(p, masklet_ids=list(p["masklet_ids"])) for p in self._pairs.get(vid, [])]
        ids = {a for p in pairs for a in p["masklet_ids"]}
        return SacoVideo(
            video_id=vid,
            name=str(video.get("video_name") or Path(video["file_names"][0]).parent.name or vid),
            frame_paths=paths,
            height=int(video["height"]),
            width=int(video["width"]),
            pairs=pairs,
            video=video,
            dataset=self.name,
            annotations={a: self._anns[a] for a in sorted(ids)},
            meta={"frames_dir": str(self.frames_dir)},
        )

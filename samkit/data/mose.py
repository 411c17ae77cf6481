"""`MoseDataset` (MOSE v1) and `Mosev2Dataset` (MOSEv2): one `VideoSample` per video.

Layout (both versions, as the MOSE-api README gives it; the archives ``train.tar.gz`` /
``valid.tar.gz`` each unpack to one split folder)::

    root/<split>/JPEGImages/<video>/<frame>.jpg      frames, five-digit names (00000.jpg, ...)
    root/<split>/Annotations/<video>/<frame>.png     palette PNG: 0 background, k object k;
                                                      train: every frame (MOSEv2: at least 5 fps),
                                                      valid: the first frame only
    root/meta_<split>.json                           MOSEv2 only, optional (its Hugging Face
                                                      release): {"videos": {<video>: {...}}}

MOSEv2's ``meta_<split>.json`` (also looked for as ``root/<split>/meta_<split>.json`` and as
``root/<split>/meta.json``, where the MOSEv2 scorer reads it) gives the official list of
videos; its per-video entry is kept as ``meta["meta_json"]`` and nothing else is
read from it (the MOSEv2 tools read ``length``, ``height``, ``width`` and ``objects`` from a file of
that shape on the evaluation server; the released file's fields are not documented).

What happens to bad input:

- a video listed (``sequences``, the MOSEv2 meta json or the listing of ``JPEGImages``) without its
  frames folder: recorded in ``skipped_images`` (``"missing file"``) with one warning; without its
  annotation folder: ``"missing annotations"``;
- frames without an annotation PNG: kept, ``annotated[t]`` False and empty masks there (valid
  annotates only the first frame);
- an annotation PNG without a frame, frames or annotations of different sizes, an RGB annotation
  PNG: ValueError naming the video, the file and the sizes;
- objects with fewer than ``min_area`` pixels over all frames: skipped as ``"tiny"``
  (`VideoSample.skipped`);
- a video name, frame or annotation PNG that leads outside ``JPEGImages`` or ``Annotations``
  (``..``, an absolute path, a symlink): `samkit.errors.DatasetError` naming the video, the file and
  the root (video names at construction, files when the video is loaded).

The loaders of the other VOS benchmarks (`samkit.data.sav`, `samkit.data.youtube_vos`,
`samkit.data.lvos`) build on the two private base classes here: MOSE is the plain layout they extend.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from samkit.data._base import IdDataset
from samkit.data._io import image_size, read_label_png, resolve_inside
from samkit.data._subsample import check_options, id_sort_key, select_objects, subsample
from samkit.data.sample import VideoSample

__all__ = ["MoseDataset", "Mosev2Dataset"]

_FRAME_SUFFIXES = (".jpg", ".jpeg", ".png")


class _VideoFolders(IdDataset):
    """What the VOS loaders share: videos as folders of ``frames_dir`` and ``annotations_dir``,
    checked, skipped and subsampled at construction; frames listed and objects chosen per video.

    Subclasses set ``frames_dir``, ``annotations_dir``, ``name``, ``max_objects``, ``seed`` and
    ``min_area``, call `_select_sequences`, and implement ``_load`` with `_list_frames` and
    `_sample`.
    """

    frames_dir: Path
    annotations_dir: Path
    name: str
    max_objects: int | None
    seed: int
    min_area: int

    def _select_sequences(
        self,
        sequences: Sequence[str],
        source: str,
        max_images: int | None,
        unusable: Callable[[str], dict | None] | None = None,
    ) -> None:
        """Check every name stays inside both folders, record those without a folder (or for
        which ``unusable`` gives a skip record) in ``skipped_images`` with one warning, and keep
        ``max_images`` of the rest as ``sequences``."""
        if isinstance(sequences, str):
            raise ValueError(f"sequences must be a list of names, got the string {sequences!r}")
        for seq in sequences:
            for folder in (self.frames_dir, self.annotations_dir):
                resolve_inside(folder, seq, what=f"{self.name}: video {seq!r} (from {source})")
        self.skipped_images: list[dict] = []
        available = []
        for seq in sequences:
            if unusable is not None and (record := unusable(seq)) is not None:
                self.skipped_images.append(record)
            elif not (self.frames_dir / seq).is_dir():
                self.skipped_images.append(
                    {"image_id": seq, "reason": "missing file", "path": str(self.frames_dir / seq)}
                )
            elif not (self.annotations_dir / seq).is_dir():
                self.skipped_images.append(
                    {"image_id": seq, "reason": "missing annotations", "path": str(self.annotations_dir / seq)}
                )
            else:
                available.append(seq)
        if self.skipped_images:
            first = self.skipped_images[0]
            warnings.warn(
                f"{self.name}: {len(self.skipped_images)} video(s) skipped (first: {first['image_id']!r}, "
                f"{first['reason']}: {first['path']}); see skipped_images",
                UserWarning,
                stacklevel=3,
            )
        self.sequences: list[str] = subsample(available, max_images, self.seed, "images")

    @property
    def image_ids(self) -> list[str]:
        """The video names (as ``sequences``; named as the image datasets' attribute)."""
        return self.sequences

    def keep_ids(self, ids: list[str]) -> None:
        """Keep only the videos ``ids`` (a shard; see `samkit.data.shard`)."""
        self.sequences = list(ids)

    def item_sizes(self) -> dict[str, float]:
        """Frames per video (files in its frames folder), to balance shards by length."""
        return {seq: float(sum(1 for _ in (self.frames_dir / seq).iterdir())) for seq in self.sequences}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, sequences={len(self)}, skipped={len(self.skipped_images)})"

    def _list_frames(self, seq: str) -> tuple[list[Path], list[str], tuple[int, int]]:
        """The video's frame files (natural order of their names), their stems and their (H, W);
        ValueError when there are none or their sizes differ."""
        folder = self.frames_dir / seq
        paths = sorted(
            (p for p in folder.iterdir() if p.suffix.lower() in _FRAME_SUFFIXES), key=lambda p: id_sort_key(p.name)
        )
        for p in paths:
            resolve_inside(self.frames_dir, f"{seq}/{p.name}", what=f"{self.name}: video {seq!r} frame {p.name!r}")
        if not paths:
            raise ValueError(f"Video {seq!r}: no frames in {folder}")
        size = image_size(paths[0])
        for p in paths[1:]:
            if (other := image_size(p)) != size:
                raise ValueError(
                    f"Video {seq!r}: frame {p} is {other[0]}x{other[1]} (HxW) but {paths[0].name} is "
                    f"{size[0]}x{size[1]}"
                )
        return paths, [p.stem for p in paths], size

    def _frame_of(self, seq: str, png: Path, index: dict[str, int]) -> int:
        """The frame index of annotation ``png`` (ValueError when no frame has its stem)."""
        if png.stem not in index:
            raise ValueError(f"Video {seq!r}: annotation {png} has no frame {png.stem}.jpg in {self.frames_dir / seq}")
        return index[png.stem]

    def _sample(
        self,
        seq: str,
        frame_paths: list[Path],
        names: list[str],
        *,
        ids: list[str],
        areas: list[int],
        masks_of: Callable[[list[int]], np.ndarray],
        annotated: np.ndarray,
        object_frames: list[list[int]] | None,
        void: np.ndarray | None = None,
        meta: dict | None = None,
        skipped: Sequence[dict] = (),
    ) -> VideoSample:
        """The `VideoSample` of the objects ``select_objects`` keeps among ``ids``.

        ``masks_of(indices)`` gives their (K, T, H, W) masks; ``object_frames[i]`` the frames whose
        annotation covers object ``i`` (None: the frames where it has pixels); ``skipped``: records
        added after the skip rules'.
        """
        keep, skipped_objects, eligible = select_objects(
            ids, areas, None, image_id=seq, min_area=self.min_area, max_objects=self.max_objects, seed=self.seed
        )
        masks = masks_of(keep)
        objects = []
        for i, m in zip(keep, masks):
            present = np.flatnonzero(m.any(axis=(1, 2))).tolist()
            frames = present if object_frames is None else object_frames[i]
            objects.append({"area": int(areas[i]), "first_frame": present[0], "annotated_frames": frames})
        return VideoSample(
            sequence=seq,
            frame_paths=frame_paths,
            frame_names=names,
            masks=masks,
            object_ids=[ids[i] for i in keep],
            annotated=annotated,
            void=void if void is not None and void.any() else None,
            dataset=self.name,
            meta={
                "frames_dir": str(self.frames_dir / seq),
                "annotations_dir": str(self.annotations_dir / seq),
                **(meta or {}),
                "objects": objects,
                "num_eligible_objects": eligible,
            },
            skipped=skipped_objects + list(skipped),
        )


class _LabelVideoFolders(_VideoFolders):
    """Videos annotated with one palette (label) PNG per annotated frame, as DAVIS: value k is
    object k, 0 background, ``void_label`` (if set) "ignore" pixels."""

    void_label: int | None = None

    def _load_labels(
        self,
        seq: str,
        *,
        listed: dict[str, Any] | None = None,
        listed_in: str = "",
        complete: bool = True,
        meta: dict | None = None,
    ) -> VideoSample:
        """Read one video's label PNGs into a `VideoSample`.

        ``listed``: the object ids a meta json gives for the video (keys are the label values as
        str), or None to take every label found; labels found but not listed are skipped as
        ``"not in <listed_in>"``. ``complete``: every annotation PNG annotates every object (an
        object absent from it is not visible); otherwise a PNG annotates only the objects it
        contains (first-appearance annotation, as YouTube-VOS valid), which is what
        ``meta["objects"][i]["annotated_frames"]`` then lists.
        """
        paths, names, size = self._list_frames(seq)
        index = {n: t for t, n in enumerate(names)}
        read: dict[int, np.ndarray] = {}
        for png in sorted((self.annotations_dir / seq).glob("*.png"), key=lambda p: id_sort_key(p.name)):
            resolve_inside(self.annotations_dir, f"{seq}/{png.name}", what=f"{self.name}: video {seq!r} annotation")
            t = self._frame_of(seq, png, index)
            label = read_label_png(png)
            if label.shape != size:
                raise ValueError(
                    f"Video {seq!r}: annotation {png} is {label.shape[0]}x{label.shape[1]} (HxW) but the frames "
                    f"are {size[0]}x{size[1]}"
                )
            read[t] = label
        dtype = np.result_type(np.uint8, *(a.dtype for a in read.values()))
        labels = np.zeros((len(paths), *size), dtype=dtype)
        annotated = np.zeros(len(paths), dtype=bool)
        for t, label in read.items():
            labels[t] = label
            annotated[t] = True

        counts = np.bincount(labels.ravel())
        found = [v for v in np.flatnonzero(counts).tolist() if v != 0 and v != self.void_label]
        skipped: list[dict] = []
        if listed is None:
            ids, values = [str(v) for v in found], found
        else:
            ids = list(listed)
            values = [_label_value(i, f"{self.name}: {listed_in}: video {seq!r} object") for i in ids]
            unlisted = sorted(set(found) - set(values))
            skipped = [{"object_id": str(v), "reason": f"not in {listed_in}"} for v in unlisted]
        areas = [int(counts[v]) if 0 <= v < len(counts) else 0 for v in values]
        every = np.flatnonzero(annotated).tolist()
        return self._sample(
            seq,
            paths,
            names,
            ids=ids,
            areas=areas,
            masks_of=lambda keep: (
                labels[None] == np.asarray([values[i] for i in keep], dtype=dtype)[:, None, None, None]
            ),
            annotated=annotated,
            object_frames=[list(every) for _ in ids] if complete else None,
            void=labels == self.void_label if self.void_label is not None else None,
            meta={**(meta or {}), "complete_annotation": complete},
            skipped=skipped,
        )


def _label_value(object_id: str, what: str) -> int:
    """The label value an object id of a meta json names (ValueError unless a non-negative int)."""
    try:
        value = int(object_id)
    except ValueError:
        value = -1
    if value < 0:
        raise ValueError(f"{what} {object_id!r}: an object id must be the object's label value (an int >= 0)")
    return value


def _read_videos_json(path: Path, *, objects: bool) -> dict[str, dict]:
    """``json["videos"]`` of a YouTube-VOS-style meta json: video name -> entry (ValueError naming
    the file and the entry when it is malformed; with ``objects``, every entry needs an
    ``"objects"`` dict)."""
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: not a json file ({e})") from None
    videos = data.get("videos") if isinstance(data, dict) else None
    if not isinstance(videos, dict):
        raise ValueError(f"{path}: expected {{'videos': {{<video>: {{...}}}}}} at the top level")
    for video, entry in videos.items():
        if not isinstance(entry, dict):
            raise ValueError(f"{path}: video {video!r}: expected a dict, got {type(entry).__name__}")
        if objects and not isinstance(entry.get("objects"), dict):
            raise ValueError(f"{path}: video {video!r}: expected an 'objects' dict")
    return videos


class MoseDataset(_LabelVideoFolders):
    """MOSE (v1) videos with their object mask tracks (masks read per video, frames lazily).

    Args:
        root: the folder holding the split folders (``train``, ``valid``).
        split: the split folder's name.
        sequences: video names to use; default: every folder in ``<split>/JPEGImages``.
        max_images: keep this many *videos* (seeded draw after sorting by name).
        max_objects: keep at most this many objects per video (seeded by ``seed`` and the name).
        seed: seed of both draws.
        min_area: skip objects with fewer pixels summed over all frames (``"tiny"``).
        name: default ``"mose:<split>"``.

    Object ids are the label values as str (``"1"``, ``"2"``, ...), in numeric order. Each object's
    ``meta["objects"]`` entry has its ``area``, ``first_frame`` (first frame with pixels) and
    ``annotated_frames``.
    """

    _title = "MOSE"
    _prefix = "mose"

    def __init__(
        self,
        root: str | Path,
        split: str = "valid",
        sequences: Sequence[str] | None = None,
        *,
        max_images: int | None = None,
        max_objects: int | None = None,
        seed: int = 0,
        min_area: int = 0,
        name: str | None = None,
    ) -> None:
        check_options(max_images, max_objects, min_area)
        self.root, self.split = Path(root), split
        self.frames_dir = self.root / split / "JPEGImages"
        self.annotations_dir = self.root / split / "Annotations"
        if not self.frames_dir.is_dir():
            raise FileNotFoundError(f"No {self._title} frames folder: {self.frames_dir}")
        self.name = name or f"{self._prefix}:{split}"
        self.max_objects, self.seed, self.min_area = max_objects, seed, min_area
        #: the meta json's "videos" (MOSEv2), or None
        self.meta_json: dict[str, dict] | None = None
        source = "sequences"
        meta_path = self._meta_path()
        if meta_path is not None:
            self.meta_json = _read_videos_json(meta_path, objects=False)
        if sequences is None and self.meta_json is not None:
            sequences, source = list(self.meta_json), str(meta_path)
        elif sequences is None:
            sequences = [p.name for p in self.frames_dir.iterdir() if p.is_dir()]
            source = f"the listing of {self.frames_dir}"
        self._select_sequences(sequences, source, max_images)

    def _meta_path(self) -> Path | None:
        return None

    def _load(self, seq: str) -> VideoSample:
        meta: dict[str, Any] = {"split": self.split}
        if self.meta_json is not None and seq in self.meta_json:
            meta["meta_json"] = self.meta_json[seq]
        return self._load_labels(seq, meta=meta)


class Mosev2Dataset(MoseDataset):
    """MOSEv2 videos: `MoseDataset`'s layout, and the official video list from
    ``meta_<split>.json`` when it is there (see the module doc). Default name ``"mosev2:<split>"``."""

    _title = "MOSEv2"
    _prefix = "mosev2"

    def _meta_path(self) -> Path | None:
        split_dir = self.root / self.split
        for path in (
            self.root / f"meta_{self.split}.json",
            split_dir / f"meta_{self.split}.json",
            split_dir / "meta.json",
        ):
            if path.is_file():
                return path
        return None

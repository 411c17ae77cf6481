"""`YouTubeVOSDataset`: YouTube-VOS 2018 / 2019 (semi-supervised VOS), one `VideoSample` per video.

Layout (the YouTube-VOS releases; ``root`` is the year's folder, the archives unpack to one folder
per split)::

    root/<split>/JPEGImages/<video>/<frame>.jpg      every 5th frame of the 30 fps video, named by
                                                      its index in the video (00000, 00005, ...)
    root/<split>/Annotations/<video>/<frame>.png     palette PNG: 0 background, k object k;
                                                      train: every frame of JPEGImages;
                                                      valid / test: each object's first frame only,
                                                      holding only the objects that appear there
    root/<split>/meta.json                           {"videos": {<video>: {"objects": {<k>:
                                                      {"category": str, "frames": [<frame>, ...]}}}}}
    root/<split>_all_frames/JPEGImages/<video>/<frame>.jpg
                                                      every frame at 30 fps (valid / test; separate
                                                      archives), read with ``all_frames=True``

Objects appear after the first frame: each object's ``meta["objects"]`` entry gives its
``first_frame`` (the first frame with pixels: where a semi-supervised method is given its mask, as
sam2's ``vos_inference.py --track_object_appearing_later_in_video`` and XMem do), its
``category``, ``frames`` (meta.json's frames as frame indices: the frames the benchmark scores),
``annotated_frames`` (train: every annotated frame; valid / test: the frames whose PNG contains it,
i.e. its first frame) and ``area``. ``meta["meta_frames"]`` is the union of the objects' ``frames``:
with ``all_frames`` the frames at 30 fps whose predictions are submitted (the 5-frame steps).

What happens to bad input:

- a video listed (``sequences`` or meta.json) without its frames folder (with ``all_frames``: in
  ``<split>_all_frames``): recorded in ``skipped_images`` (``"missing file"``) with one warning;
  without its annotation folder: ``"missing annotations"``; a name in ``sequences`` that meta.json
  does not list: ``"not in meta.json"``;
- an object of meta.json without pixels in any annotation: skipped as ``"empty"``; with fewer than
  ``min_area`` pixels over all frames: ``"tiny"``; a label value in the PNGs that meta.json does
  not list: ``"not in meta.json"`` (`VideoSample.skipped`);
- a malformed meta.json (no ``videos`` dict, a video without ``objects``, an object id that is not
  a label value, a frame it lists that has no JPEG), an annotation PNG without a frame, frames or
  annotations of different sizes, an RGB annotation PNG: ValueError naming the file, the video and
  the entry;
- a video name, frame or annotation PNG that leads outside ``JPEGImages`` or ``Annotations``
  (``..``, an absolute path, a symlink): `samkit.errors.DatasetError` naming the video, the file and
  the root (video names at construction, files when the video is loaded).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from samkit.data._subsample import check_options
from samkit.data.mose import _LabelVideoFolders, _read_videos_json
from samkit.data.sample import VideoSample

__all__ = ["YouTubeVOSDataset"]


class YouTubeVOSDataset(_LabelVideoFolders):
    """YouTube-VOS videos with their object mask tracks (masks read per video, frames lazily).

    Args:
        root: the release's folder (holding ``train``, ``valid``, ``test``, ``valid_all_frames``).
        split: the split folder's name (``"train"``, ``"valid"``, ``"test"``).
        sequences: video names to use; default: those of ``<split>/meta.json``.
        all_frames: read the frames from ``<split>_all_frames/JPEGImages`` (every frame at 30 fps)
            rather than ``<split>/JPEGImages`` (every 5th); annotations stay where they are, so
            ``annotated`` marks the annotated 5-frame steps.
        max_images: keep this many *videos* (seeded draw after sorting by name).
        max_objects: keep at most this many objects per video (seeded by ``seed`` and the name).
        seed: seed of both draws.
        min_area: skip objects with fewer pixels summed over all frames (``"tiny"``).
        name: default ``"youtube_vos:<split>"`` (``"youtube_vos:<split>_all_frames"`` with
            ``all_frames``); name the year yourself, e.g. ``"youtube_vos2019:valid"``.

    Object ids are meta.json's (the label values as str), in numeric order.
    """

    def __init__(
        self,
        root: str | Path,
        split: str = "valid",
        sequences: Sequence[str] | None = None,
        *,
        all_frames: bool = False,
        max_images: int | None = None,
        max_objects: int | None = None,
        seed: int = 0,
        min_area: int = 0,
        name: str | None = None,
    ) -> None:
        check_options(max_images, max_objects, min_area)
        self.root, self.split, self.all_frames = Path(root), split, all_frames
        self.frames_dir = self.root / (f"{split}_all_frames" if all_frames else split) / "JPEGImages"
        self.annotations_dir = self.root / split / "Annotations"
        if not self.frames_dir.is_dir():
            raise FileNotFoundError(f"No YouTube-VOS frames folder: {self.frames_dir}")
        self.meta_path = self.root / split / "meta.json"
        if not self.meta_path.is_file():
            raise FileNotFoundError(f"No YouTube-VOS meta.json: {self.meta_path}")
        self.meta_json = _read_videos_json(self.meta_path, objects=True)
        self.name = name or f"youtube_vos:{split}{'_all_frames' if all_frames else ''}"
        self.max_objects, self.seed, self.min_area = max_objects, seed, min_area
        source = "sequences"
        if sequences is None:
            sequences, source = list(self.meta_json), str(self.meta_path)
        self._select_sequences(
            sequences,
            source,
            max_images,
            unusable=lambda seq: (
                None
                if seq in self.meta_json
                else {"image_id": seq, "reason": "not in meta.json", "path": str(self.meta_path)}
            ),
        )

    def _load(self, seq: str) -> VideoSample:
        listed: dict[str, Any] = self.meta_json[seq]["objects"]
        sample = self._load_labels(
            seq,
            listed=listed,
            listed_in="meta.json",
            complete=self.split == "train",
            meta={"split": self.split, "all_frames": self.all_frames},
        )
        index = {n: t for t, n in enumerate(sample.frame_names)}
        frames_of: dict[str, list[int]] = {}
        for object_id, entry in listed.items():
            frames = entry.get("frames", []) if isinstance(entry, dict) else None
            if not isinstance(frames, list) or not all(isinstance(f, str) for f in frames):
                raise ValueError(
                    f"{self.meta_path}: video {seq!r} object {object_id!r}: expected "
                    "{'category': str, 'frames': [<frame name>, ...]}"
                )
            missing = [f for f in frames if f not in index]
            if missing:
                raise ValueError(
                    f"{self.meta_path}: video {seq!r} object {object_id!r} lists frame {missing[0]!r}, which is not "
                    f"in {self.frames_dir / seq}"
                )
            frames_of[object_id] = sorted(index[f] for f in frames)
        for object_id, entry in zip(sample.object_ids, sample.meta["objects"]):
            entry["category"] = listed[object_id].get("category")
            entry["frames"] = frames_of[object_id]
        sample.meta["meta_frames"] = sorted(set().union(*frames_of.values()))
        return sample

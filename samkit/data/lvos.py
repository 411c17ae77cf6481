"""`LvosDataset`: LVOS v2 (long-term video object segmentation), one `VideoSample` per video.

Layout (the LVOS README; LVOS v1 has the same; the meta jsons are a separate download put into
their split folders)::

    root/<split>/JPEGImages/<video>/<frame>.jpg      frames at 6 fps, named by their index in the
                                                      30 fps video, eight digits (00000001, 00000006,
                                                      ...; not necessarily from 0)
    root/<split>/Annotations/<video>/<frame>.png     palette PNG: 0 background, k object k, 255 void;
                                                      train / val: every frame; test: each object's
                                                      first frame only
    root/<split>/<split>_meta.json                   {"videos": {<video>: {"objects": {<k>:
                                                      {"frame_range": {"start": <frame>, "end":
                                                      <frame>, "frame_nums": <int>}}}}}} (optional;
                                                      for val, valid_meta.json is read first, as
                                                      the official evaluator names it)

Splits: ``train``, ``val``, ``test``. Objects appear late and leave early (the videos run for
minutes): each object's ``meta["objects"]`` entry gives its ``first_frame`` (first frame with
pixels), ``annotated_frames`` (train / val: every annotated frame; test: the frames whose PNG
contains it), ``area`` and, with the meta json, its ``frame_range`` as the file gives it (frame
names as ints; the LVOS evaluation scores an object from ``start`` to ``end`` but the first and last
of these frames).

What happens to bad input:

- a video listed (``sequences``, the meta json or the listing of ``JPEGImages``) without its frames
  folder: recorded in ``skipped_images`` (``"missing file"``) with one warning; without its
  annotation folder: ``"missing annotations"``;
- an object of the meta json without pixels in any annotation: skipped as ``"empty"``; with fewer
  than ``min_area`` pixels over all frames: ``"tiny"``; a label value in the PNGs that the meta json
  does not list: ``"not in <split>_meta.json"`` (`VideoSample.skipped`);
- a malformed meta json (no ``videos`` dict, a video without ``objects``, an object id that is not a
  label value, a ``frame_range`` without int ``start`` / ``end`` / ``frame_nums``), an annotation PNG
  without a frame, frames or annotations of different sizes, an RGB annotation PNG: ValueError
  naming the file, the video and the entry;
- a video name, frame or annotation PNG that leads outside ``JPEGImages`` or ``Annotations``
  (``..``, an absolute path, a symlink): `samkit.errors.DatasetError` naming the video, the file and
  the root (video names at construction, files when the video is loaded).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from samkit.data._subsample import check_options
from samkit.data.mose import _LabelVideoFolders, _read_videos_json
from samkit.data.sample import VideoSample

__all__ = ["LvosDataset"]

#: the label value of "ignore" pixels (as the LVOS evaluation reads them)
VOID = 255


class LvosDataset(_LabelVideoFolders):
    """LVOS videos with their object mask tracks (masks read per video, frames lazily).

    Args:
        root: the folder holding the split folders (``train``, ``val``, ``test``).
        split: the split folder's name.
        sequences: video names to use; default: those of ``<split>/<split>_meta.json``, else every
            folder in ``<split>/JPEGImages``.
        max_images: keep this many *videos* (seeded draw after sorting by name).
        max_objects: keep at most this many objects per video (seeded by ``seed`` and the name).
        seed: seed of both draws.
        min_area: skip objects with fewer pixels summed over all frames (``"tiny"``).
        name: default ``"lvos:<split>"``.

    Object ids are the label values as str (``"1"``, ``"2"``, ...), in numeric order: the meta
    json's objects when it lists the video, else every label found. Label 255 is void (`VideoSample.void`).
    Long videos make large mask arrays: (objects x frames x H x W) bools per video.
    """

    void_label = VOID

    def __init__(
        self,
        root: str | Path,
        split: str = "val",
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
            raise FileNotFoundError(f"No LVOS frames folder: {self.frames_dir}")
        self.name = name or f"lvos:{split}"
        self.max_objects, self.seed, self.min_area = max_objects, seed, min_area
        # the official evaluator (lvos-evaluation) reads valid_meta.json for the val folder; the
        # LVOS README names <split>_meta.json: take the first that exists
        candidates = [
            self.root / split / f"{name}_meta.json"
            for name in dict.fromkeys(("valid" if split == "val" else split, split))
        ]
        self.meta_path = next((p for p in candidates if p.is_file()), candidates[-1])
        #: the meta json's "videos", or None without the file
        self.meta_json = _read_videos_json(self.meta_path, objects=True) if self.meta_path.is_file() else None
        source = "sequences"
        if sequences is None and self.meta_json is not None:
            sequences, source = list(self.meta_json), str(self.meta_path)
        elif sequences is None:
            sequences = [p.name for p in self.frames_dir.iterdir() if p.is_dir()]
            source = f"the listing of {self.frames_dir}"
        self._select_sequences(sequences, source, max_images)

    def _load(self, seq: str) -> VideoSample:
        listed = self.meta_json[seq]["objects"] if self.meta_json is not None and seq in self.meta_json else None
        sample = self._load_labels(
            seq,
            listed=listed,
            listed_in=self.meta_path.name,
            complete=self.split != "test",
            meta={"split": self.split},
        )
        if listed is not None:
            for object_id, entry in zip(sample.object_ids, sample.meta["objects"]):
                entry["frame_range"] = self._frame_range(seq, object_id, listed[object_id])
        return sample

    def _frame_range(self, seq: str, object_id: str, entry: object) -> dict[str, int]:
        """``{"start", "end", "frame_nums"}`` of a meta json object as ints (ValueError if malformed)."""
        frame_range = entry.get("frame_range") if isinstance(entry, dict) else None
        try:
            return {key: int(frame_range[key]) for key in ("start", "end", "frame_nums")}
        except (TypeError, KeyError, ValueError):
            raise ValueError(
                f"{self.meta_path}: video {seq!r} object {object_id!r}: expected "
                "{'frame_range': {'start': <frame>, 'end': <frame>, 'frame_nums': <int>}}"
            ) from None

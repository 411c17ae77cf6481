"""`SavDataset`: SA-V val / test (Segment Anything Video), one `VideoSample` per video.

Layout (sam2's ``sav_dataset/README.md``; ``root`` is the ``sav_val`` or ``sav_test`` folder)::

    root/sav_val.txt | sav_test.txt                    the split's video ids, one a line (optional)
    root/JPEGImages_24fps/<video>/<frame:05d>.jpg      every frame, extracted at 24 fps
    root/Annotations_6fps/<video>/<obj:03d>/<frame:05d>.png
                                                       one binary PNG per object and annotated
                                                       frame (nonzero = the object), every 4th
                                                       frame (6 fps): 00000, 00004, 00008, ...

Objects may overlap (a person and their hand are two objects), so each has its own PNGs; the
masks are not a label map. ``annotated[t]`` is True for the frames with at least one object PNG;
each object's ``meta["objects"]`` entry lists its own ``annotated_frames`` (the frames with its
PNG), ``first_frame`` (the first with pixels) and ``area``. Object ids are the object folders'
names (``"000"``, ``"001"``, ...), as the SA-V evaluator expects them back. The official evaluation
(sam2's ``sav_evaluator.py``) scores each object on its annotated frames but the first and the last.

What happens to bad input:

- a video listed (``sequences``, the split file or the listing of ``JPEGImages_24fps``) without its
  frames folder: recorded in ``skipped_images`` (``"missing file"``) with one warning; without its
  annotation folder: ``"missing annotations"``;
- an object folder whose PNGs are all empty (or that has none): skipped as ``"empty"``; fewer than
  ``min_area`` pixels over all frames: ``"tiny"`` (`VideoSample.skipped`);
- an object PNG without a frame, frames or masks of different sizes: ValueError naming the video,
  the file and the sizes; a PNG directly in a video's annotation folder (the DAVIS-style layout
  SA-V's evaluator also reads): ValueError, since SA-V's objects are folders;
- a video name, frame, object folder or mask PNG that leads outside ``JPEGImages_24fps`` or
  ``Annotations_6fps`` (``..``, an absolute path, a symlink): `samkit.errors.DatasetError` naming
  the video, the entry and the root (video names at construction, the rest when the video is
  loaded).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from samkit.data._io import read_binary_png, resolve_inside
from samkit.data._subsample import check_options, id_sort_key
from samkit.data.mose import _VideoFolders
from samkit.data.sample import VideoSample

__all__ = ["SavDataset"]


class SavDataset(_VideoFolders):
    """SA-V val or test videos with their (possibly overlapping) object mask tracks.

    Args:
        root: the split folder (``sav_val`` or ``sav_test``).
        sequences: video ids to use; default: those of the split file, else every folder in
            ``JPEGImages_24fps``.
        split: ``"val"`` or ``"test"``: read the video ids from ``root/sav_<split>.txt`` (which must
            exist). Default: the one ``sav_*.txt`` in ``root`` if there is exactly one.
        max_images: keep this many *videos* (seeded draw after sorting by id).
        max_objects: keep at most this many objects per video (seeded by ``seed`` and the id).
        seed: seed of both draws.
        min_area: skip objects with fewer pixels summed over all frames (``"tiny"``).
        name: default ``"sav:<split>"`` (``"sav"`` when the split is not known).

    Masks are read per video; frames only when asked (`VideoSample.load_frame`).
    """

    def __init__(
        self,
        root: str | Path,
        sequences: Sequence[str] | None = None,
        *,
        split: str | None = None,
        max_images: int | None = None,
        max_objects: int | None = None,
        seed: int = 0,
        min_area: int = 0,
        name: str | None = None,
    ) -> None:
        check_options(max_images, max_objects, min_area)
        self.root = Path(root)
        self.frames_dir = self.root / "JPEGImages_24fps"
        self.annotations_dir = self.root / "Annotations_6fps"
        if not self.frames_dir.is_dir():
            raise FileNotFoundError(f"No SA-V frames folder: {self.frames_dir}")
        if sequences is not None and split is not None:
            raise ValueError("Pass either sequences or split, not both")
        split_file = None
        if split is not None:
            split_file = self.root / f"sav_{split}.txt"
            if not split_file.is_file():
                raise FileNotFoundError(f"No SA-V split file: {split_file}")
        elif sequences is None:
            lists = sorted(self.root.glob("sav_*.txt"))
            if len(lists) == 1:
                split_file, split = lists[0], lists[0].stem.removeprefix("sav_")
        self.split = split
        self.name = name or (f"sav:{split}" if split else "sav")
        self.max_objects, self.seed, self.min_area = max_objects, seed, min_area
        source = "sequences"
        if split_file is not None:
            sequences = [line.strip() for line in split_file.read_text().splitlines() if line.strip()]
            source = str(split_file)
        elif sequences is None:
            sequences = [p.name for p in self.frames_dir.iterdir() if p.is_dir()]
            source = f"the listing of {self.frames_dir}"
        self._select_sequences(sequences, source, max_images)

    def _load(self, seq: str) -> VideoSample:
        paths, names, size = self._list_frames(seq)
        index = {n: t for t, n in enumerate(names)}
        folder = self.annotations_dir / seq
        entries = sorted(folder.iterdir(), key=lambda p: id_sort_key(p.name))
        stray = [p for p in entries if p.suffix.lower() == ".png" and not p.is_dir()]
        if stray:
            raise ValueError(
                f"Video {seq!r}: {stray[0]} lies directly in the video's annotation folder; SA-V annotations "
                "are one folder per object (<video>/<object>/<frame>.png)"
            )
        object_dirs = []
        for p in entries:
            what = f"{self.name}: video {seq!r} object folder {p.name!r}"
            resolve_inside(self.annotations_dir, f"{seq}/{p.name}", what=what)
            if p.is_dir():
                object_dirs.append(p)
        masks = np.zeros((len(object_dirs), len(paths), *size), dtype=bool)
        object_frames: list[list[int]] = []
        for k, obj in enumerate(object_dirs):
            frames = []
            for png in sorted(obj.glob("*.png"), key=lambda p: id_sort_key(p.name)):
                what = f"{self.name}: video {seq!r} object {obj.name!r} mask {png.name!r}"
                resolve_inside(self.annotations_dir, f"{seq}/{obj.name}/{png.name}", what=what)
                t = self._frame_of(seq, png, index)
                mask = read_binary_png(png)
                if mask.shape != size:
                    raise ValueError(
                        f"Video {seq!r}: mask {png} is {mask.shape[0]}x{mask.shape[1]} (HxW) but the frames are "
                        f"{size[0]}x{size[1]}"
                    )
                masks[k, t] = mask
                frames.append(t)
            object_frames.append(frames)
        annotated = np.zeros(len(paths), dtype=bool)
        for frames in object_frames:
            annotated[frames] = True
        return self._sample(
            seq,
            paths,
            names,
            ids=[p.name for p in object_dirs],
            areas=masks.sum(axis=(1, 2, 3)).tolist(),
            masks_of=lambda keep: masks[keep],
            annotated=annotated,
            object_frames=object_frames,
            meta={"split": self.split},
        )

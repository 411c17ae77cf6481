"""`DavisDataset`: DAVIS 2017 layout, one `VideoSample` per sequence.

Layout::

    root/JPEGImages/<resolution>/<sequence>/<frame>.jpg
    root/Annotations/<resolution>/<sequence>/<frame>.png   palette PNG: 0 background, k object k,
                                                            255 void
    root/ImageSets/2017/<split>.txt                         optional sequence lists (train, val)

What happens to bad input:

- a sequence listed (``sequences`` or the split file) without its JPEG folder: recorded in
  ``skipped_images`` (``"missing file"``), with one warning; without its annotation folder:
  recorded as ``"missing annotations"``;
- frames without an annotation PNG: kept, with ``annotated[t]`` False and empty masks there (DAVIS
  test-dev annotates only the first frame);
- an annotation PNG without a frame, or frames/annotations of different sizes: ValueError naming the
  sequence, the file and the sizes; RGB annotation PNGs: ValueError;
- a sequence name (from the split file, the folder listing or ``sequences``), a frame or an
  annotation PNG that leads outside ``JPEGImages/<resolution>`` or ``Annotations/<resolution>``
  (``..``, an absolute path, a symlink): `samkit.errors.DatasetError` (a ValueError) naming the
  sequence, the file and the root; sequences at construction, frames when the sequence is loaded.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from samkit.data._base import IdDataset
from samkit.data._io import image_size, read_label_png, resolve_inside
from samkit.data._subsample import check_options, select_objects, subsample
from samkit.data.sample import VideoSample

__all__ = ["DavisDataset"]

VOID = 255


class DavisDataset(IdDataset):
    """DAVIS 2017 sequences with their object mask tracks (masks read per sequence, frames lazily).

    Args:
        root: the DAVIS folder (holding ``JPEGImages`` and ``Annotations``).
        resolution: ``"480p"`` or ``"Full-Resolution"`` (the sub-folder name).
        sequences: sequence names to use; default: those of ``split``, else every folder in
            ``JPEGImages/<resolution>``.
        split: read the sequence names from ``root/ImageSets/2017/<split>.txt``.
        max_images: keep this many *sequences* (seeded draw after sorting by name).
        max_objects: keep at most this many objects per sequence (seeded by ``seed`` and the name).
        seed: seed of both draws.
        min_area: skip objects with fewer pixels summed over all frames (``"tiny"``).
        name: default ``"davis:<resolution>"``.

    Object ids are the label values as str (``"1"``, ``"2"``, ...), in numeric order.
    """

    def __init__(
        self,
        root: str | Path,
        resolution: str = "480p",
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
        self.root, self.resolution = Path(root), resolution
        self.frames_dir = self.root / "JPEGImages" / resolution
        self.annotations_dir = self.root / "Annotations" / resolution
        if not self.frames_dir.is_dir():
            raise FileNotFoundError(f"No DAVIS frames folder: {self.frames_dir}")
        self.name = name or f"davis:{resolution}"
        self.max_objects, self.seed, self.min_area = max_objects, seed, min_area

        if sequences is not None and split is not None:
            raise ValueError("Pass either sequences or split, not both")
        if isinstance(sequences, str):
            raise ValueError(f"sequences must be a list of names, got the string {sequences!r}")
        source = "sequences"
        if split is not None:
            split_file = self.root / "ImageSets" / "2017" / f"{split}.txt"
            if not split_file.is_file():
                raise FileNotFoundError(f"No DAVIS split file: {split_file}")
            sequences = [line.strip() for line in split_file.read_text().splitlines() if line.strip()]
            source = str(split_file)
        if sequences is None:
            sequences = [p.name for p in self.frames_dir.iterdir() if p.is_dir()]
            source = f"the listing of {self.frames_dir}"
        for seq in sequences:
            for folder in (self.frames_dir, self.annotations_dir):
                resolve_inside(folder, seq, what=f"{self.name}: sequence {seq!r} (from {source})")

        self.skipped_images: list[dict] = []
        available = []
        for seq in sequences:
            if not (self.frames_dir / seq).is_dir():
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
                f"{self.name}: {len(self.skipped_images)} sequence(s) skipped (first: "
                f"{first['image_id']!r}, {first['reason']}: {first['path']}); see "
                "skipped_images",
                UserWarning,
                stacklevel=2,
            )
        self.sequences: list[str] = subsample(available, max_images, seed, "images")

    @property
    def image_ids(self) -> list[str]:
        """The sequence names (as ``sequences``; named as the image datasets' attribute)."""
        return self.sequences

    def keep_ids(self, ids: list[str]) -> None:
        """Keep only the videos ``ids`` (a shard; see `samkit.data.shard`)."""
        self.sequences = list(ids)

    def item_sizes(self) -> dict[str, float]:
        """Frames per video (files in its frames folder), to balance shards by length."""
        return {seq: float(sum(1 for _ in (self.frames_dir / seq).iterdir())) for seq in self.sequences}

    def __repr__(self) -> str:
        return f"DavisDataset(name={self.name!r}, sequences={len(self)}, skipped={len(self.skipped_images)})"

    def _load(self, seq: str) -> VideoSample:
        frame_paths = sorted(
            p for p in (self.frames_dir / seq).iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")
        )
        for p in frame_paths:
            resolve_inside(self.frames_dir, f"{seq}/{p.name}", what=f"{self.name}: sequence {seq!r} frame {p.name!r}")
        if not frame_paths:
            raise ValueError(f"Sequence {seq!r}: no frames in {self.frames_dir / seq}")
        names = [p.stem for p in frame_paths]
        index = {n: t for t, n in enumerate(names)}
        size = image_size(frame_paths[0])
        for p in frame_paths[1:]:
            if (other := image_size(p)) != size:
                raise ValueError(
                    f"Sequence {seq!r}: frame {p} is {other[0]}x{other[1]} (HxW) but "
                    f"{frame_paths[0].name} is {size[0]}x{size[1]}"
                )
        read: dict[int, np.ndarray] = {}
        for png in sorted((self.annotations_dir / seq).glob("*.png")):
            what = f"{self.name}: sequence {seq!r} annotation {png.name!r}"
            resolve_inside(self.annotations_dir, f"{seq}/{png.name}", what=what)
            if png.stem not in index:
                raise ValueError(
                    f"Sequence {seq!r}: annotation {png} has no frame {png.stem}.jpg in {self.frames_dir / seq}"
                )
            label = read_label_png(png)
            if label.shape != size:
                raise ValueError(
                    f"Sequence {seq!r}: annotation {png} is {label.shape[0]}x"
                    f"{label.shape[1]} (HxW) but the frames are {size[0]}x{size[1]}"
                )
            read[index[png.stem]] = label
        dtype = np.result_type(np.uint8, *(a.dtype for a in read.values()))
        labels = np.zeros((len(frame_paths), *size), dtype=dtype)
        annotated = np.zeros(len(frame_paths), dtype=bool)
        for t, label in read.items():
            labels[t] = label
            annotated[t] = True

        void = labels == VOID
        counts = np.bincount(labels.ravel())
        values = [v for v in np.flatnonzero(counts).tolist() if v not in (0, VOID)]
        ids = [str(v) for v in values]
        areas = [int(counts[v]) for v in values]
        keep, skipped, eligible = select_objects(
            ids, areas, None, image_id=seq, min_area=self.min_area, max_objects=self.max_objects, seed=self.seed
        )
        masks = labels[None] == np.asarray([values[i] for i in keep], dtype=dtype)[:, None, None, None]
        objects = [
            {"area": areas[i], "first_frame": int(np.flatnonzero(m.any(axis=(1, 2)))[0])} for i, m in zip(keep, masks)
        ]
        meta = {
            "resolution": self.resolution,
            "frames_dir": str(self.frames_dir / seq),
            "annotations_dir": str(self.annotations_dir / seq),
            "objects": objects,
            "num_eligible_objects": eligible,
        }
        return VideoSample(
            sequence=seq,
            frame_paths=frame_paths,
            frame_names=names,
            masks=masks,
            object_ids=[ids[i] for i in keep],
            annotated=annotated,
            void=void if void.any() else None,
            dataset=self.name,
            meta=meta,
            skipped=skipped,
        )

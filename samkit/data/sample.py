"""`Sample` (one image with its instance masks) and `VideoSample` (one video with mask tracks)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from samkit.masks import encode_rles, mask_box

__all__ = ["Sample", "VideoSample"]


@dataclass(eq=False, repr=False)
class Sample:
    """One image and its ground-truth instance masks.

    Attributes:
        image: HxWx3 uint8 RGB.
        masks: (N, H, W) bool, one instance mask per object; N may be 0 (no ground truth).
            Masks may overlap (COCO-format data) or not (label PNGs, synthetic data).
        object_ids: N str ids, unique within the image, in the order of ``masks``.
        image_id: str id, unique within the dataset.
        dataset: the dataset's name, e.g. ``"coco:instances_val2017"``, ``"synthetic"``,
            ``"folder:<name>"``.
        meta: anything else (source file, original ids, ...). By convention ``meta["objects"]``,
            when present, is a list of N per-object dicts (e.g. ``category_id``, ``iscrowd``,
            ``area`` in pixels) kept aligned with ``masks`` by `select`.
        skipped: objects left out while loading, ``{"object_id": str, "reason": str}`` with reason
            e.g. ``"crowd"``, ``"tiny"`` (fewer than ``min_area`` pixels), ``"empty"`` (0 pixels),
            ``"occluded"`` (synthetic shapes fully covered by later ones), or for annotations that
            contradict the image's size ``"negative bbox"``, ``"bbox outside image"``,
            ``"polygon outside image"``, ``"RLE size mismatch"`` (these also carry ``"detail"``,
            the numbers).

    Raises ValueError at construction when the image is not HxWx3 uint8, the masks not (N, H, W)
    bool of the image's H and W, or the ids not N unique str.
    """

    image: np.ndarray
    masks: np.ndarray
    object_ids: list[str]
    image_id: str
    dataset: str
    meta: dict = field(default_factory=dict)
    skipped: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        image, masks = self.image, self.masks
        if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            shape = getattr(image, "shape", None)
            dtype = getattr(image, "dtype", type(image).__name__)
            raise ValueError(
                f"Sample {self.image_id!r}: image must be an HxWx3 uint8 RGB array, got shape {shape} dtype {dtype}"
            )
        if not isinstance(masks, np.ndarray) or masks.dtype != np.bool_:
            dtype = getattr(masks, "dtype", type(masks).__name__)
            raise ValueError(f"Sample {self.image_id!r}: masks must be a bool (N, H, W) array, got dtype {dtype}")
        if masks.ndim != 3 or masks.shape[1:] != image.shape[:2]:
            raise ValueError(
                f"Sample {self.image_id!r}: masks must have shape (N, H, W) with the image's H "
                f"and W; got masks shape {masks.shape} and image shape {image.shape}"
            )
        self.object_ids = list(self.object_ids)
        if len(self.object_ids) != masks.shape[0]:
            raise ValueError(f"Sample {self.image_id!r}: {len(self.object_ids)} object_ids for {masks.shape[0]} masks")
        if not all(isinstance(i, str) for i in self.object_ids):
            raise ValueError(
                f"Sample {self.image_id!r}: object_ids must be str, got "
                f"{[type(i).__name__ for i in self.object_ids][:5]}"
            )
        if len(set(self.object_ids)) != len(self.object_ids):
            raise ValueError(f"Sample {self.image_id!r}: object_ids are not unique: {self.object_ids}")
        objects = self.meta.get("objects")
        if objects is not None and len(objects) != masks.shape[0]:
            raise ValueError(
                f"Sample {self.image_id!r}: meta['objects'] has {len(objects)} entries for {masks.shape[0]} masks"
            )

    def __repr__(self) -> str:
        return (
            f"Sample(image_id={self.image_id!r}, dataset={self.dataset!r}, "
            f"image={self.height}x{self.width}, objects={self.num_objects}, "
            f"skipped={len(self.skipped)})"
        )

    @property
    def height(self) -> int:
        """Image height in pixels."""
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        """Image width in pixels."""
        return int(self.image.shape[1])

    @property
    def num_objects(self) -> int:
        """N, the number of masks."""
        return int(self.masks.shape[0])

    @property
    def areas(self) -> np.ndarray:
        """(N,) int64 pixel count of each mask."""
        return self.masks.sum(axis=(1, 2), dtype=np.int64)

    @property
    def boxes(self) -> np.ndarray:
        """(N, 4) float64 XYXY pixel boxes enclosing each mask's pixels.

        The box covers whole pixels: ``x0 = min col``, ``y0 = min row``, ``x1 = max col + 1``,
        ``y1 = max row + 1``, so a single pixel at (row r, col c) has box (c, r, c + 1, r + 1) and
        width/height equal the extent in pixels. An empty mask gets a row of NaN.
        """
        return np.array([mask_box(m) for m in self.masks]).reshape(self.num_objects, 4)

    def to_coco_rle(self) -> list[dict]:
        """Compressed COCO RLE of each mask (pycocotools), ``{"size": [H, W], "counts": str}``."""
        return encode_rles(self.masks)

    def select(self, indices: Sequence[int] | np.ndarray) -> Sample:
        """A new Sample with only the objects at ``indices`` (ints, or an (N,) bool array), in that
        order. ``meta["objects"]`` is subset alongside; ``skipped`` is copied unchanged."""
        idx = np.asarray(indices)
        if idx.dtype == np.bool_:
            if idx.shape != (self.num_objects,):
                raise ValueError(f"A bool selection must have shape ({self.num_objects},), got {idx.shape}")
            idx = np.flatnonzero(idx)
        elif idx.size == 0:
            idx = idx.astype(np.intp)
        elif idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
            raise ValueError(f"indices must be a 1-D sequence of ints or an (N,) bool array, got {indices!r}")
        meta = dict(self.meta)
        if "objects" in meta:
            meta["objects"] = [meta["objects"][i] for i in idx]
        return Sample(
            image=self.image,
            masks=self.masks[idx],
            object_ids=[self.object_ids[i] for i in idx],
            image_id=self.image_id,
            dataset=self.dataset,
            meta=meta,
            skipped=list(self.skipped),
        )


@dataclass(eq=False, repr=False)
class VideoSample:
    """One video with per-object masks over its frames; frames are read on demand.

    Attributes:
        sequence: the video's name, unique within the dataset.
        frame_paths: T image files, in frame order.
        frame_names: T frame names (file stems, e.g. ``"00000"``).
        masks: (K, T, H, W) bool, one mask track per object (False in frames without annotation).
        object_ids: K str ids, unique (e.g. DAVIS label values ``"1"``, ``"2"``).
        annotated: (T,) bool, True for frames that have ground truth (DAVIS test sets annotate only
            the first frame; metrics must use only annotated frames).
        void: (T, H, W) bool "ignore" pixels (DAVIS value 255), or None when there are none.
        dataset: the dataset's name.
        meta: anything else; ``meta["objects"]`` as in `Sample`.
        skipped: objects left out while loading, ``{"object_id", "reason"}``.
    """

    sequence: str
    frame_paths: list[Path]
    frame_names: list[str]
    masks: np.ndarray
    object_ids: list[str]
    annotated: np.ndarray
    void: np.ndarray | None
    dataset: str
    meta: dict = field(default_factory=dict)
    skipped: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        where = f"VideoSample {self.sequence!r}"
        self.frame_paths = [Path(p) for p in self.frame_paths]
        self.object_ids = list(self.object_ids)
        t = len(self.frame_paths)
        if len(self.frame_names) != t:
            raise ValueError(f"{where}: {len(self.frame_names)} frame names for {t} frames")
        masks = self.masks
        if not isinstance(masks, np.ndarray) or masks.dtype != np.bool_ or masks.ndim != 4 or masks.shape[1] != t:
            raise ValueError(
                f"{where}: masks must be (K, T, H, W) bool with T = {t}, got "
                f"shape {getattr(masks, 'shape', None)} dtype "
                f"{getattr(masks, 'dtype', None)}"
            )
        if len(self.object_ids) != masks.shape[0] or len(set(self.object_ids)) != masks.shape[0]:
            raise ValueError(f"{where}: need {masks.shape[0]} unique object_ids, got {self.object_ids}")
        if (
            not isinstance(self.annotated, np.ndarray)
            or self.annotated.dtype != np.bool_
            or self.annotated.shape != (t,)
        ):
            raise ValueError(f"{where}: annotated must be a ({t},) bool array")
        if self.void is not None and (self.void.dtype != np.bool_ or self.void.shape != (t, *masks.shape[2:])):
            raise ValueError(
                f"{where}: void must be (T, H, W) = {(t, *masks.shape[2:])} bool, got "
                f"shape {self.void.shape} dtype {self.void.dtype}"
            )

    def __repr__(self) -> str:
        return (
            f"VideoSample(sequence={self.sequence!r}, dataset={self.dataset!r}, "
            f"frames={self.num_frames}, size={self.height}x{self.width}, "
            f"objects={len(self.object_ids)})"
        )

    @property
    def num_frames(self) -> int:
        """T."""
        return len(self.frame_paths)

    @property
    def height(self) -> int:
        """Frame height in pixels."""
        return int(self.masks.shape[2])

    @property
    def width(self) -> int:
        """Frame width in pixels."""
        return int(self.masks.shape[3])

    def load_frame(self, t: int) -> np.ndarray:
        """Frame ``t`` as HxWx3 uint8 RGB (ValueError if its size differs from the masks')."""
        from samkit.data._io import read_image

        frame, _ = read_image(self.frame_paths[t])
        if frame.shape[:2] != (self.height, self.width):
            raise ValueError(
                f"{self.frame_paths[t]} is {frame.shape[0]}x{frame.shape[1]} (HxW) "
                f"but the masks of {self.sequence!r} are {self.height}x{self.width}"
            )
        return frame

    def load_frames(self) -> np.ndarray:
        """All frames as (T, H, W, 3) uint8 RGB."""
        frames = np.empty((self.num_frames, self.height, self.width, 3), dtype=np.uint8)
        for t in range(self.num_frames):
            frames[t] = self.load_frame(t)
        return frames

"""`FolderDataset`: a folder of images and mask PNGs.

Layout::

    root/images/<stem>.jpg|.jpeg|.png
    root/masks/<stem>.png              an instance-label PNG: 0 background, each other value one
                                       object (8-bit grayscale or palette as DAVIS, or 16-bit), or
    root/masks/<stem>/<object>.png     one PNG per object, nonzero = foreground

What happens to bad input:

- an image without a mask file or folder: a Sample with N = 0 (``meta["has_masks"]`` False),
  listed in ``images_without_masks`` with one warning at construction;
- a mask file or folder without an image: recorded in ``skipped_images`` (``"missing file"``) with
  one warning;
- two images with one stem, or a stem with both a label PNG and a mask folder: ValueError;
- a mask whose size differs from its image: ValueError naming the image id, files and sizes;
- RGB label PNGs: ValueError (colours are not guessed into ids); empty per-object masks: skipped as
  ``"empty"``; masks under ``min_area`` pixels: skipped as ``"tiny"`` (in `Sample.skipped`);
- an image, mask file or mask folder entry that is a symlink leading outside ``root/images`` or
  ``root/masks``: `samkit.errors.DatasetError` (a ValueError) naming the entry and the folder
  (images and masks at construction, per-object files when the image is loaded).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from samkit.data._base import IdDataset
from samkit.data._io import check_mask_size, read_binary_png, read_image, read_label_png, resolve_inside
from samkit.data._subsample import check_options, id_sort_key, select_objects, subsample
from samkit.data.sample import Sample

__all__ = ["FolderDataset"]

_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}


class FolderDataset(IdDataset):
    """Images from ``root/images`` with instance masks from ``root/masks`` (see the module doc).

    Args:
        root: the dataset folder.
        max_images, max_objects, seed, min_area: as every loader (seeded draws after sorting by id).
        void_value: a label value that marks "ignore" pixels rather than an object (e.g. 255 in
            DAVIS-style palette PNGs); its pixels are given as ``meta["void"]`` (H, W) bool.
            Default None: every nonzero value is an object.
        name: default ``"folder:<root folder name>"``.

    ``image_id`` is the image's file stem; object ids are the label values (``"1"``, ``"2"``, ...)
    or the per-object file stems. Objects come in sorted-id order.
    """

    def __init__(
        self,
        root: str | Path,
        *,
        max_images: int | None = None,
        max_objects: int | None = None,
        seed: int = 0,
        min_area: int = 0,
        void_value: int | None = None,
        name: str | None = None,
    ) -> None:
        check_options(max_images, max_objects, min_area)
        self.root = Path(root)
        images_dir, masks_dir = self.root / "images", self.root / "masks"
        if not images_dir.is_dir():
            raise FileNotFoundError(f"No images folder: {images_dir} (expected root/images and root/masks)")
        self.name = name or f"folder:{self.root.name}"
        self.max_objects, self.seed, self.min_area = max_objects, seed, min_area
        self.void_value = void_value

        self._images: dict[str, Path] = {}
        for path in sorted(images_dir.iterdir()):
            if path.is_file() and path.suffix.lower() in _IMAGE_SUFFIXES:
                resolve_inside(images_dir, path.name, what=f"{self.name}: image {path.name!r}")
                if path.stem in self._images:
                    raise ValueError(f"Two images with the stem {path.stem!r}: {self._images[path.stem]} and {path}")
                self._images[path.stem] = path
        self._masks_dir = masks_dir
        self._masks: dict[str, Path] = {}
        if masks_dir.is_dir():
            for path in sorted(masks_dir.iterdir()):
                if not (path.is_dir() or path.suffix.lower() == ".png"):
                    continue
                stem = path.name if path.is_dir() else path.stem
                resolve_inside(masks_dir, path.name, what=f"{self.name}: masks of image {stem!r}")
                if stem in self._masks:
                    raise ValueError(f"Both a label PNG and a mask folder for {stem!r}: {self._masks[stem]} and {path}")
                self._masks[stem] = path

        self.skipped_images: list[dict] = [
            {
                "image_id": stem,
                "reason": "missing file",
                "path": str(images_dir / f"{stem}.<jpg|jpeg|png>"),
                "masks": str(path),
            }
            for stem, path in sorted(self._masks.items(), key=lambda kv: id_sort_key(kv[0]))
            if stem not in self._images
        ]
        if self.skipped_images:
            warnings.warn(
                f"{self.name}: {len(self.skipped_images)} mask file(s) have no image "
                f"(first: {self.skipped_images[0]['masks']}); see skipped_images",
                UserWarning,
                stacklevel=2,
            )
        self.images_without_masks: list[str] = sorted(
            (s for s in self._images if s not in self._masks), key=id_sort_key
        )
        if self.images_without_masks:
            warnings.warn(
                f"{self.name}: {len(self.images_without_masks)} of {len(self._images)} "
                f"image(s) have no masks in {masks_dir} (first: "
                f"{self.images_without_masks[0]!r}); they give samples with no objects",
                UserWarning,
                stacklevel=2,
            )
        self.image_ids: list[str] = subsample(list(self._images), max_images, seed, "images")

    def __repr__(self) -> str:
        return f"FolderDataset(name={self.name!r}, images={len(self)}, skipped_images={len(self.skipped_images)})"

    def _load(self, image_id: str) -> Sample:
        image_path = self._images[image_id]
        image, mode = read_image(image_path)
        h, w = image.shape[:2]
        mask_path = self._masks.get(image_id)
        meta: dict = {
            "file": str(image_path),
            "image_mode": mode,
            "has_masks": mask_path is not None,
            "mask_file": str(mask_path) if mask_path else None,
        }

        if mask_path is None:
            ids, masks = [], np.zeros((0, h, w), dtype=bool)
        elif mask_path.is_dir():
            files = sorted(mask_path.glob("*.png"))
            ids = [f.stem for f in files]
            masks = np.zeros((len(files), h, w), dtype=bool)
            for i, f in enumerate(files):
                what = f"{self.name}: image {image_id!r} mask {f.name!r}"
                resolve_inside(self._masks_dir, f"{mask_path.name}/{f.name}", what=what)
                mask = read_binary_png(f)
                check_mask_size(image_id, image_path, image, f, mask)
                masks[i] = mask
        else:
            label = read_label_png(mask_path)
            check_mask_size(image_id, image_path, image, mask_path, label)
            if self.void_value is not None:
                meta["void"] = label == self.void_value
            values = [int(v) for v in np.unique(label) if v != 0 and v != self.void_value]
            ids = [str(v) for v in values]
            masks = label[None] == np.asarray(values, dtype=label.dtype)[:, None, None]

        areas = [int(a) for a in masks.sum(axis=(1, 2))]
        keep, skipped, eligible = select_objects(
            ids, areas, None, image_id=image_id, min_area=self.min_area, max_objects=self.max_objects, seed=self.seed
        )
        meta["objects"] = [{"area": areas[i]} for i in keep]
        meta["num_eligible_objects"] = eligible
        return Sample(
            image=image,
            masks=masks[keep],
            object_ids=[ids[i] for i in keep],
            image_id=image_id,
            dataset=self.name,
            meta=meta,
            skipped=skipped,
        )

"""`ClickBenchmark`: the interactive-segmentation (click) benchmarks in the layouts RITM distributes
and reads them (GrabCut, Berkeley, DAVIS-345, COCO-MVal, SBD, PascalVOC).

Each benchmark is read as RITM's loader (``isegm/data/datasets/*.py`` of
SamsungLabs/ritm_interactive_segmentation, chosen by ``get_dataset`` in ``isegm/inference/utils.py``)
reads it; `CLICK_BENCHMARKS` holds the layouts::

    grabcut    root/data_GT/<name>.jpg|.bmp  root/boundary_GT/<name>.bmp   GrabCutDataset
    berkeley   root/images/<name>.jpg        root/masks/<name>.png         BerkeleyDataset
    davis345   root/img/<name>.jpg           root/gt/<name>.png            DavisDataset ("DAVIS")
    coco_mval  root/img/<name>.jpg           root/gt/<name>.png            DavisDataset ("COCO_MVal")
    sbd        root/img/<name>.jpg  root/inst/<name>.mat  root/<split>.txt SBDEvaluationDataset
    pascalvoc  root/JPEGImages/<id>.jpg  root/SegmentationObject/<id>.png
               root/ImageSets/Segmentation/<split>.txt                     PascalVocDataset

How the masks are read (RITM reads every file with OpenCV in colour; samkit with PIL converted to
RGB, which gives the same values for the 8-bit grayscale, palette and RGB files these sets hold):

- GrabCut, Berkeley: one object per image. The mask's blue channel (OpenCV's channel 0): 128 is an
  "ignore" region (RITM's ignore label -1, GrabCut's unknown band along the boundary), values above
  128 the object, and, as RITM keeps it, a value of exactly 1 the object too; other values are
  background.
- DAVIS-345, COCO-MVal: one object per image: any channel above 0. No ignore region.
- SBD: ``GTinst.Segmentation`` of the ``.mat`` file (``scipy.io.loadmat``), 0 background, each
  other value one instance (RITM's evaluation set makes one sample per (image, instance); samkit one
  Sample per image with all its instances, the same objects). ``GTinst.Categories`` gives each
  object's ``category_id``. No ignore region.
- PascalVOC: the palette indices of ``SegmentationObject``: 0 background, 255 void (the "ignore"
  region), each other index one instance. RITM converts the PNG to a gray level with OpenCV
  (void becomes 220) and takes gray levels as instance ids; the VOC palette maps some indices to
  one gray level (1 and 16, 3 and 18, 6 and 21, 9 and 24), so RITM merges those instances in the
  few images with 16 or more; samkit keeps every palette index apart.

Ignore ("void") pixels are given as ``meta["void"]``, an (H, W) bool array (the convention of
`samkit.data.FolderDataset`; `Sample` has no field for them), on the benchmarks that have them
(GrabCut, Berkeley, PascalVOC: present on every sample, possibly all False); they belong to no
object. Object ids are ``"1"`` on the one-object sets, the label values on SBD and PascalVOC.

Image ids: the image's name up to its first dot on the folder-pair sets (RITM finds the mask by
``image_name.split('.')[0]``; masks are found by their stem), the list file's names on SBD and
PascalVOC. Not read: RITM's cached ``<split>_images_and_ids_list.pkl`` (SBD) and its PascalVOC
``test.pickle`` (pickles are programs, and both are derived from the files read here; PascalVOC
``split="val"`` is the set RITM's evaluation names, as ClickSEG reads it).

What happens to bad input:

- an image without its mask (or, on SBD and PascalVOC, a listed name without its ``.mat`` / PNG):
  recorded in ``skipped_images`` (``"missing annotations"``), with one warning; a mask without its
  image, a listed name without its image: ``"missing file"``;
- two images with one id, two masks with one stem, a name listed twice: ValueError;
- a mask whose size differs from its image, an unreadable ``.mat`` (or one without
  ``GTinst.Segmentation``), an RGB PascalVOC PNG: ValueError naming the files;
- objects without pixels are skipped as ``"empty"``, those under ``min_area`` pixels as
  ``"tiny"`` (in `Sample.skipped`);
- an image or mask listed in a folder, or a name of a list file, that leads outside its folder
  (``root/<images>``, ``root/<masks>``; ``..``, an absolute path, a symlink):
  `samkit.errors.DatasetError` (a ValueError) naming the record and the root, at construction.
  Hidden files (``.name``) and files that are not images are not listed.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from samkit.data._base import IdDataset
from samkit.data._io import check_mask_size, read_image, read_label_png, resolve_inside
from samkit.data._subsample import check_options, id_sort_key, select_objects, subsample
from samkit.data.sample import Sample

__all__ = ["ClickBenchmark", "ClickLayout", "CLICK_BENCHMARKS"]

#: file suffixes listed as images or masks in the folder-pair layouts (compared in lower case)
_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")


@dataclass(frozen=True)
class ClickLayout:
    """How one click benchmark is laid out and read (an entry of `CLICK_BENCHMARKS`).

    Attributes:
        key: samkit's name of the benchmark (``"grabcut"``, ...).
        title: its usual name (``"GrabCut"``, ``"DAVIS-345"``, ...).
        ritm_name: the name RITM's ``get_dataset`` takes (``"GrabCut"``, ``"DAVIS"``, ...).
        reader: ``"pair"`` (an images folder and a masks folder, matched by name), ``"sbd"`` or
            ``"voc"`` (a list file of names).
        images: the images folder, relative to the root.
        masks: the masks folder, relative to the root.
        mask_rule: how ``"pair"`` masks are read: ``"grabcut"`` (blue channel: 128 ignore, above
            128 or exactly 1 the object) or ``"davis"`` (any channel above 0).
        splits: the list files' splits, the default first (``()`` for the folder-pair sets).
        split_file: the list file, relative to the root, with ``{split}``.
        source: the RITM file whose reading this reproduces.
    """

    key: str
    title: str
    ritm_name: str
    reader: str
    images: str
    masks: str
    mask_rule: str | None = None
    splits: tuple[str, ...] = ()
    split_file: str = ""
    source: str = ""


#: the click benchmarks, by samkit name (`ClickBenchmark` also takes RITM's names, e.g. "DAVIS")
CLICK_BENCHMARKS: dict[str, ClickLayout] = {
    layout.key: layout
    for layout in (
        ClickLayout(
            key="grabcut",
            title="GrabCut",
            ritm_name="GrabCut",
            reader="pair",
            images="data_GT",
            masks="boundary_GT",
            mask_rule="grabcut",
            source="isegm/data/datasets/grabcut.py (GrabCutDataset)",
        ),
        ClickLayout(
            key="berkeley",
            title="Berkeley",
            ritm_name="Berkeley",
            reader="pair",
            images="images",
            masks="masks",
            mask_rule="grabcut",
            source="isegm/data/datasets/berkeley.py (BerkeleyDataset: GrabCutDataset's reading)",
        ),
        ClickLayout(
            key="davis345",
            title="DAVIS-345",
            ritm_name="DAVIS",
            reader="pair",
            images="img",
            masks="gt",
            mask_rule="davis",
            source="isegm/data/datasets/davis.py (DavisDataset)",
        ),
        ClickLayout(
            key="coco_mval",
            title="COCO-MVal",
            ritm_name="COCO_MVal",
            reader="pair",
            images="img",
            masks="gt",
            mask_rule="davis",
            source="isegm/inference/utils.py get_dataset: DavisDataset(COCO_MVAL_PATH)",
        ),
        ClickLayout(
            key="sbd",
            title="SBD",
            ritm_name="SBD",
            reader="sbd",
            images="img",
            masks="inst",
            splits=("val", "train"),
            split_file="{split}.txt",
            source="isegm/data/datasets/sbd.py (SBDEvaluationDataset)",
        ),
        ClickLayout(
            key="pascalvoc",
            title="PascalVOC",
            ritm_name="PascalVOC",
            reader="voc",
            images="JPEGImages",
            masks="SegmentationObject",
            splits=("val", "train", "trainval"),
            split_file="ImageSets/Segmentation/{split}.txt",
            source="isegm/data/datasets/pascalvoc.py (PascalVocDataset)",
        ),
    )
}

#: PascalVOC's void index (RITM: gray level 220 after OpenCV's conversion)
VOC_VOID = 255


def _fold(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "")


def _layout(benchmark: str) -> ClickLayout:
    if not isinstance(benchmark, str):
        raise TypeError(f"benchmark must be a str, one of {sorted(CLICK_BENCHMARKS)}; got {benchmark!r}")
    wanted = _fold(benchmark)
    for layout in CLICK_BENCHMARKS.values():
        if wanted in (_fold(layout.key), _fold(layout.ritm_name)):
            return layout
    hint = " (RITM's SBD_Train is benchmark 'sbd' with split='train')" if wanted == "sbdtrain" else ""
    raise ValueError(
        f"Unknown click benchmark {benchmark!r}{hint}; known: {', '.join(CLICK_BENCHMARKS)} "
        f"(or RITM's names {', '.join(layout.ritm_name for layout in CLICK_BENCHMARKS.values())})"
    )


class ClickBenchmark(IdDataset):
    """One click benchmark in RITM's layout (see the module doc and `CLICK_BENCHMARKS`).

    Args:
        benchmark: ``"grabcut"``, ``"berkeley"``, ``"davis345"``, ``"coco_mval"``, ``"sbd"`` or
            ``"pascalvoc"``; RITM's names (``"GrabCut"``, ``"DAVIS"``, ``"COCO_MVal"``,
            ``"PascalVOC"``, ...) work too, in any case.
        root: the benchmark's folder (what RITM's ``config.yml`` points ``*_PATH`` at).
        split: SBD ``"val"`` (default, RITM's evaluation) or ``"train"``; PascalVOC ``"val"``
            (default), ``"train"`` or ``"trainval"``; None for the others.
        max_images, max_objects, seed, min_area: as every loader (seeded draws after sorting by id).
        name: default the benchmark's key, with ``":<split>"`` for SBD and PascalVOC
            (``"grabcut"``, ``"sbd:val"``).

    Attributes: ``layout`` (its `ClickLayout`), ``root``, ``split``, ``name``, ``image_ids``,
    ``skipped_images``. Each Sample's ``meta`` has ``file``, ``mask_file``, ``objects``
    (``area``; SBD also ``category_id``), ``num_eligible_objects`` and, where the benchmark has an
    ignore region, ``void`` ((H, W) bool).
    """

    def __init__(
        self,
        benchmark: str,
        root: str | Path,
        *,
        split: str | None = None,
        max_images: int | None = None,
        max_objects: int | None = None,
        seed: int = 0,
        min_area: int = 0,
        name: str | None = None,
    ) -> None:
        check_options(max_images, max_objects, min_area)
        self.layout = layout = _layout(benchmark)
        if layout.splits:
            split = layout.splits[0] if split is None else split
            if split not in layout.splits:
                raise ValueError(f"{layout.title}: split must be one of {list(layout.splits)}, got {split!r}")
        elif split is not None:
            raise ValueError(f"{layout.title} has no splits (its folders are the test set); got split={split!r}")
        self.split = split
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"{layout.title} folder not found: {self.root}")
        self.images_dir, self.masks_dir = self.root / layout.images, self.root / layout.masks
        for folder in (self.images_dir, self.masks_dir):
            if not folder.is_dir():
                raise FileNotFoundError(
                    f"No {layout.title} folder {folder} (RITM's layout: root/{layout.images} and root/{layout.masks})"
                )
        self.name = name or (f"{layout.key}:{split}" if split else layout.key)
        self.max_objects, self.seed, self.min_area = max_objects, seed, min_area
        self.skipped_images: list[dict] = []
        self._files: dict[str, tuple[Path, Path]] = {}
        if layout.reader == "pair":
            self._list_pairs()
        else:
            self._list_split()
        missing = [s for s in self.skipped_images if s["reason"] == "missing annotations"]
        orphans = [s for s in self.skipped_images if s["reason"] == "missing file"]
        for records, what in ((missing, "image(s) have no mask"), (orphans, "mask(s) or listed name(s) have no image")):
            if records:
                warnings.warn(
                    f"{self.name}: {len(records)} {what} (first: {records[0]['image_id']!r}, {records[0]['path']}); "
                    "see skipped_images",
                    UserWarning,
                    stacklevel=2,
                )
        self.image_ids: list[str] = subsample(list(self._files), max_images, seed, "images")

    def __repr__(self) -> str:
        return (
            f"ClickBenchmark({self.layout.key!r}, name={self.name!r}, images={len(self)}, "
            f"skipped_images={len(self.skipped_images)})"
        )

    # ------------------------------------------------------------------------------ listing

    def _listing(self, folder: Path, what: str) -> list[Path]:
        """The image files of ``folder`` (sorted), each checked to stay inside it."""
        out = []
        for path in sorted(folder.iterdir()):
            if path.name.startswith(".") or path.suffix.lower() not in _SUFFIXES or not path.is_file():
                continue
            resolve_inside(folder, path.name, what=f"{self.name}: {what} {path.name!r}")
            out.append(path)
        return out

    def _list_pairs(self) -> None:
        images: dict[str, Path] = {}
        for path in self._listing(self.images_dir, "image"):
            image_id = path.name.split(".")[0]  # RITM: image_name.split('.')[0]
            if image_id in images:
                raise ValueError(f"{self.name}: two images with the id {image_id!r}: {images[image_id]} and {path}")
            images[image_id] = path
        masks: dict[str, Path] = {}
        for path in self._listing(self.masks_dir, "mask"):
            if path.stem in masks:
                raise ValueError(f"{self.name}: two masks with the stem {path.stem!r}: {masks[path.stem]} and {path}")
            masks[path.stem] = path
        for image_id in sorted(set(images) | set(masks), key=id_sort_key):
            if image_id not in masks:
                self.skipped_images.append(
                    {
                        "image_id": image_id,
                        "reason": "missing annotations",
                        "path": str(self.masks_dir / f"{image_id}.<png|bmp|jpg>"),
                        "image": str(images[image_id]),
                    }
                )
            elif image_id not in images:
                self.skipped_images.append(
                    {
                        "image_id": image_id,
                        "reason": "missing file",
                        "path": str(self.images_dir / f"{image_id}.<jpg|png|bmp>"),
                        "masks": str(masks[image_id]),
                    }
                )
            else:
                self._files[image_id] = (images[image_id], masks[image_id])

    def _list_split(self) -> None:
        layout = self.layout
        list_file = self.root / layout.split_file.format(split=self.split)
        if not list_file.is_file():
            raise FileNotFoundError(f"{self.name}: no list file {list_file}")
        mask_suffix = ".mat" if layout.reader == "sbd" else ".png"
        seen: dict[str, int] = {}
        for number, line in enumerate(list_file.read_text().splitlines(), 1):
            image_id = line.strip()  # RITM: [x.strip() for x in f.readlines()]
            if not image_id:
                continue
            if image_id in seen:
                raise ValueError(f"{list_file}: {image_id!r} is listed twice (lines {seen[image_id]} and {number})")
            seen[image_id] = number
            what = f"{list_file.name} line {number} ({image_id!r})"
            image = resolve_inside(self.images_dir, f"{image_id}.jpg", what=f"{what}: image")
            mask = resolve_inside(self.masks_dir, f"{image_id}{mask_suffix}", what=f"{what}: mask")
            if not image.is_file():
                self.skipped_images.append({"image_id": image_id, "reason": "missing file", "path": str(image)})
            elif not mask.is_file():
                self.skipped_images.append({"image_id": image_id, "reason": "missing annotations", "path": str(mask)})
            else:
                self._files[image_id] = (image, mask)

    # ------------------------------------------------------------------------------ one image

    def _load(self, image_id: str) -> Sample:
        image_path, mask_path = self._files[image_id]
        image, mode = read_image(image_path)
        meta: dict = {"file": str(image_path), "mask_file": str(mask_path), "image_mode": mode}
        if self.split is not None:
            meta["split"] = self.split
        categories: dict[int, int] = {}
        reader = self.layout.reader
        if reader == "pair":
            rgb, meta["mask_mode"] = read_image(mask_path)  # RITM: cv2.imread in colour
            check_mask_size(image_id, image_path, image, mask_path, rgb)
            if self.layout.mask_rule == "grabcut":
                blue = rgb[..., 2]  # OpenCV's channel 0 (BGR)
                meta["void"] = blue == 128
                label = ((blue > 128) | (blue == 1)).astype(np.uint8)
            else:
                label = (rgb.max(axis=2) > 0).astype(np.uint8)
            ids, values = ["1"], [1]
        elif reader == "sbd":
            label, categories = _read_sbd_mat(mask_path)
            check_mask_size(image_id, image_path, image, mask_path, label)
            values = [int(v) for v in np.unique(label) if v != 0]
            ids = [str(v) for v in values]
        else:
            label = read_label_png(mask_path)
            check_mask_size(image_id, image_path, image, mask_path, label)
            meta["void"] = label == VOC_VOID
            values = [int(v) for v in np.unique(label) if v != 0 and v != VOC_VOID]
            ids = [str(v) for v in values]
        masks = label[None] == np.asarray(values, dtype=label.dtype)[:, None, None]
        areas = [int(a) for a in masks.sum(axis=(1, 2))]
        keep, skipped, eligible = select_objects(
            ids, areas, None, image_id=image_id, min_area=self.min_area, max_objects=self.max_objects, seed=self.seed
        )
        objects = []
        for i in keep:
            entry: dict = {"area": areas[i]}
            if values[i] in categories:
                entry["category_id"] = categories[values[i]]
            objects.append(entry)
        meta["objects"] = objects
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


def _read_sbd_mat(path: Path) -> tuple[np.ndarray, dict[int, int]]:
    """``GTinst.Segmentation`` of an SBD ``inst/*.mat`` as (H, W) int64, and ``{label: category}``
    from ``GTinst.Categories`` (empty when the file has none)."""
    from scipy.io import loadmat

    try:
        data = loadmat(str(path))
    except Exception as e:  # scipy raises ValueError, TypeError, MatReadError ... on a bad file
        raise ValueError(f"{path}: cannot read the .mat file ({type(e).__name__}: {e})") from e
    gt = data.get("GTinst")
    names = getattr(getattr(gt, "dtype", None), "names", None) or ()
    if gt is None or "Segmentation" not in names or gt.size != 1:
        raise ValueError(
            f"{path}: expected a GTinst struct with a Segmentation field (SBD's inst/*.mat); "
            f"got {'no GTinst' if gt is None else f'fields {list(names)}'}"
        )
    seg = np.asarray(gt["Segmentation"].flat[0])
    numeric = seg.dtype != np.bool_ and np.issubdtype(seg.dtype, np.number)
    if seg.ndim != 2 or not numeric or (seg.size and (seg.min() < 0 or not np.all(seg == np.round(seg)))):
        raise ValueError(
            f"{path}: GTinst.Segmentation must be an (H, W) array of integer labels >= 0, "
            f"got shape {seg.shape} dtype {seg.dtype}"
        )
    categories: dict[int, int] = {}
    if "Categories" in names:
        cats = np.asarray(gt["Categories"].flat[0]).ravel()
        if np.issubdtype(cats.dtype, np.number):
            categories = {k + 1: int(c) for k, c in enumerate(cats)}
    return seg.astype(np.int64), categories

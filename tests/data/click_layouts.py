"""Small deterministic click benchmarks in the layouts RITM distributes them, for the loader's tests
(``test_data_click_benchmarks.py``).

Each ``write_*`` function writes one benchmark under ``root`` exactly as its archive lays it out
(the folders RITM's ``isegm/data/datasets/*.py`` read) and returns what `ClickBenchmark` must read
back: ``{image_id: Expected}`` for the images it yields, plus the images it must skip. Nothing is
random: masks are rectangles and bands, images smooth gradients (JPEG keeps them close); all images
are 24x32 (HxW).

- `write_grabcut`: ``data_GT`` (.jpg and .bmp images) + ``boundary_GT`` (.bmp masks: 0 background,
  128 the ignore band, 255 the object; a 64 pixel (background), a 1 pixel and a 200 pixel (object,
  as RITM reads them); one RGB mask whose red-only pixels are background (RITM reads the blue
  channel)), an image without a mask, a mask without an image, an all-background mask, a hidden
  file and a text file.
- `write_berkeley`: ``images`` + ``masks`` (grayscale PNG with a 128 band, a 1-bit PNG).
- `write_davis345` / `write_coco_mval`: ``img`` + ``gt`` (grayscale 0/255 PNG, a palette PNG
  whose index 3 is black (background: RITM takes any channel above 0), an RGB PNG with green-only
  object pixels, an image named ``<id>.<x>.jpg`` whose mask is ``<id>.png``).
- `write_sbd`: ``img`` + ``inst/*.mat`` (``GTinst`` with ``Segmentation``, ``Boundaries``,
  ``Categories``) + ``val.txt`` / ``train.txt``: two instances, three with a 2-pixel one, a listed
  name without its .mat, one without its image, a blank line.
- `write_pascalvoc`: ``JPEGImages`` + ``SegmentationObject`` (VOC palette PNGs, 255 void bands) +
  ``ImageSets/Segmentation/{train,val,trainval}.txt``: two instances, and 17 instances (indices 1
  and 16 share RITM's gray level 38).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from samkit.data.synthetic_video import davis_palette

H, W = 24, 32


@dataclass
class Expected:
    """What the loader must read back for one image.

    ``masks``: object id -> (H, W) bool, in the loader's order; ``void``: (H, W) bool or None when
    the benchmark has no ignore region; ``image``: the exact pixels for lossless files, None for
    JPEG (compared with the decoded file); ``skipped``: `Sample.skipped`; ``categories``: object
    id -> SBD category.
    """

    masks: dict[str, np.ndarray]
    void: np.ndarray | None
    image_file: str
    mask_file: str
    image: np.ndarray | None = None
    skipped: list[dict] = field(default_factory=list)
    categories: dict[str, int] = field(default_factory=dict)


@dataclass
class Written:
    """One written benchmark: the images the loader yields and the ones it must skip."""

    expected: dict[str, Expected]
    skipped_images: list[dict]


def image(i: int) -> np.ndarray:
    """Image ``i`` as HxWx3 uint8: smooth, so that JPEG keeps it close."""
    yy, xx = np.mgrid[:H, :W]
    return np.stack([yy * 9 + i, xx * 7, np.full((H, W), (40 * i) % 256)], axis=2).astype(np.uint8)


def rect(y0: int, x0: int, h: int, w: int) -> np.ndarray:
    """An (H, W) bool rectangle."""
    m = np.zeros((H, W), bool)
    m[y0 : y0 + h, x0 : x0 + w] = True
    return m


def ring(mask: np.ndarray) -> np.ndarray:
    """The one-pixel band just outside ``mask`` (4-neighbours), a boundary "ignore" band."""
    grown = mask.copy()
    grown[1:] |= mask[:-1]
    grown[:-1] |= mask[1:]
    grown[:, 1:] |= mask[:, :-1]
    grown[:, :-1] |= mask[:, 1:]
    return grown & ~mask


def _palette(black: tuple[int, ...] = ()) -> list[int]:
    """The VOC / DAVIS palette (`davis_palette`) with the indices in ``black`` made black."""
    out = davis_palette()
    for i in black:
        out[3 * i : 3 * i + 3] = [0, 0, 0]
    return out


PALETTE = _palette()


def _save(array: np.ndarray, path: Path, palette: list[int] | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if palette is not None:
        img = Image.fromarray(array.astype(np.uint8)).convert("P")  # keeps the values as indices
        img.putpalette(palette)
    else:
        img = Image.fromarray(array)
    img.save(path)


def _jpeg(i: int, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image(i)).save(path, quality=95)


# ---------------------------------------------------------------------------------- folder pairs


def write_grabcut(root: Path) -> Written:
    """GrabCut: ``data_GT`` + ``boundary_GT`` (see the module doc)."""
    images, masks = root / "data_GT", root / "boundary_GT"
    expected: dict[str, Expected] = {}

    # flower.jpg: object 255 with a 128 band; a 64 pixel is background, a 1 and a 200 pixel object
    obj = rect(5, 6, 10, 12)
    band = ring(obj)
    gray = np.zeros((H, W), np.uint8)
    gray[obj] = 255
    gray[band] = 128
    gray[20, 2], gray[20, 4], gray[20, 6] = 64, 1, 200
    _jpeg(1, images / "flower.jpg")
    _save(gray, masks / "flower.bmp")
    fg = obj.copy()
    fg[20, 4] = fg[20, 6] = True
    expected["flower"] = Expected({"1": fg}, band, "flower.jpg", "flower.bmp")

    # banana1.bmp: an RGB mask; RITM reads the blue channel, so a red-only region is background
    obj = rect(2, 2, 8, 20)
    rgb = np.zeros((H, W, 3), np.uint8)
    rgb[obj] = (10, 20, 255)
    rgb[rect(14, 2, 6, 6)] = (255, 0, 0)
    rgb[rect(14, 20, 4, 4)] = (128, 128, 128)
    _save(image(2), images / "banana1.bmp")
    _save(rgb, masks / "banana1.bmp")
    expected["banana1"] = Expected({"1": obj}, rect(14, 20, 4, 4), "banana1.bmp", "banana1.bmp", image=image(2))

    # 106024.jpg: all background (the object is skipped as empty, the sample has no objects)
    _jpeg(3, images / "106024.jpg")
    _save(np.zeros((H, W), np.uint8), masks / "106024.bmp")
    expected["106024"] = Expected(
        {}, np.zeros((H, W), bool), "106024.jpg", "106024.bmp", skipped=[{"object_id": "1", "reason": "empty"}]
    )

    # an image without a mask, a mask without an image, and files that are not listed
    _jpeg(4, images / "nomask.jpg")
    _save(gray, masks / "ghost.bmp")
    (images / "README.txt").write_text("not an image")
    _jpeg(5, images / "._flower.jpg")  # a hidden macOS resource file
    skipped = [
        {
            "image_id": "ghost",
            "reason": "missing file",
            "path": str(images / "ghost.<jpg|png|bmp>"),
            "masks": str(masks / "ghost.bmp"),
        },
        {
            "image_id": "nomask",
            "reason": "missing annotations",
            "path": str(masks / "nomask.<png|bmp|jpg>"),
            "image": str(images / "nomask.jpg"),
        },
    ]
    return Written(expected, skipped)


def write_berkeley(root: Path) -> Written:
    """Berkeley: ``images`` + ``masks`` (GrabCut's reading)."""
    images, masks = root / "images", root / "masks"
    expected: dict[str, Expected] = {}
    obj = rect(4, 4, 12, 10)
    band = ring(obj)
    gray = np.zeros((H, W), np.uint8)
    gray[obj], gray[band] = 255, 128
    _jpeg(6, images / "12003.jpg")
    _save(gray, masks / "12003.png")
    expected["12003"] = Expected({"1": obj}, band, "12003.jpg", "12003.png")

    obj = rect(10, 12, 9, 15)
    _save(image(7), images / "42049.png")
    _save(obj, masks / "42049.png")  # a 1-bit PNG (PIL mode "1"): 0 / 255
    expected["42049"] = Expected({"1": obj}, np.zeros((H, W), bool), "42049.png", "42049.png", image=image(7))
    return Written(expected, [])


def _write_davis_like(root: Path, offset: int) -> Written:
    images, masks = root / "img", root / "gt"
    expected: dict[str, Expected] = {}
    obj = rect(3, 3, 10, 10)
    _jpeg(offset, images / "bear.jpg")
    _save(obj.astype(np.uint8) * 255, masks / "bear.png")
    expected["bear"] = Expected({"1": obj}, None, "bear.jpg", "bear.png")

    # a palette PNG whose index 3 is black: RITM reads colours, so index 3 is background
    label = np.zeros((H, W), np.uint8)
    label[rect(2, 2, 6, 6)] = 1
    label[rect(12, 12, 6, 6)] = 2
    label[rect(2, 20, 6, 6)] = 3
    _save(image(offset + 1), images / "blackswan.png")
    _save(label, masks / "blackswan.png", palette=_palette(black=(3,)))
    expected["blackswan"] = Expected(
        {"1": (label == 1) | (label == 2)}, None, "blackswan.png", "blackswan.png", image=image(offset + 1)
    )

    # an RGB PNG with green-only object pixels; the image is named <id>.<x>.jpg
    rgb = np.zeros((H, W, 3), np.uint8)
    obj = rect(8, 8, 8, 16)
    rgb[obj] = (0, 3, 0)
    _jpeg(offset + 2, images / "car.0.jpg")
    _save(rgb, masks / "car.png")
    expected["car"] = Expected({"1": obj}, None, "car.0.jpg", "car.png")
    return Written(expected, [])


def write_davis345(root: Path) -> Written:
    """DAVIS-345 (RITM's "DAVIS"): ``img`` + ``gt``."""
    return _write_davis_like(root, 10)


def write_coco_mval(root: Path) -> Written:
    """COCO-MVal: ``img`` + ``gt``, read as DAVIS-345."""
    return _write_davis_like(root, 20)


# ---------------------------------------------------------------------------------- list files


def write_sbd_mat(path: Path, segmentation: np.ndarray, categories: list[int]) -> None:
    """An SBD ``inst/*.mat``: struct ``GTinst`` with ``Segmentation`` (uint8 labels),
    ``Boundaries`` (one cell per instance) and ``Categories`` (one row per instance), in SBD's
    field order (RITM reads the first field)."""
    from scipy.io import savemat

    path.parent.mkdir(parents=True, exist_ok=True)
    boundaries = np.empty((len(categories), 1), dtype=object)
    for k in range(len(categories)):
        boundaries[k, 0] = ring(segmentation == k + 1).astype(np.uint8)
    gtinst = {
        "Segmentation": segmentation.astype(np.uint8),
        "Boundaries": boundaries,
        "Categories": np.asarray(categories, np.uint8).reshape(-1, 1),
    }
    savemat(path, {"GTinst": gtinst})


def write_sbd(root: Path) -> Written:
    """SBD: ``img`` + ``inst`` + ``val.txt`` / ``train.txt`` (see the module doc). Returns val."""
    expected: dict[str, Expected] = {}
    seg = np.zeros((H, W), np.uint8)
    seg[rect(2, 2, 10, 10)] = 1
    seg[rect(12, 14, 10, 16)] = 2
    _jpeg(30, root / "img" / "2008_000002.jpg")
    write_sbd_mat(root / "inst" / "2008_000002.mat", seg, [15, 9])
    expected["2008_000002"] = Expected(
        {"1": seg == 1, "2": seg == 2},
        None,
        "2008_000002.jpg",
        "2008_000002.mat",
        categories={"1": 15, "2": 9},
    )

    seg = np.zeros((H, W), np.uint8)
    seg[rect(0, 0, 24, 10)] = 3
    seg[rect(4, 12, 8, 8)] = 1
    seg[rect(20, 30, 1, 2)] = 2  # a 2-pixel instance
    _jpeg(31, root / "img" / "2008_000003.jpg")
    write_sbd_mat(root / "inst" / "2008_000003.mat", seg, [1, 5, 20])
    expected["2008_000003"] = Expected(
        {"1": seg == 1, "2": seg == 2, "3": seg == 3},
        None,
        "2008_000003.jpg",
        "2008_000003.mat",
        categories={"1": 1, "2": 5, "3": 20},
    )

    _jpeg(32, root / "img" / "2008_000004.jpg")  # listed, no .mat
    write_sbd_mat(root / "inst" / "2008_000005.mat", seg, [1, 5, 20])  # listed, no image
    _jpeg(33, root / "img" / "2008_000010.jpg")  # the train split
    write_sbd_mat(root / "inst" / "2008_000010.mat", (rect(1, 1, 5, 5) * 1).astype(np.uint8), [7])
    (root / "val.txt").write_text("2008_000002\n2008_000003\n2008_000004\n\n2008_000005\n")
    (root / "train.txt").write_text("2008_000010\n")
    skipped = [
        {
            "image_id": "2008_000004",
            "reason": "missing annotations",
            "path": str(root / "inst" / "2008_000004.mat"),
        },
        {"image_id": "2008_000005", "reason": "missing file", "path": str(root / "img" / "2008_000005.jpg")},
    ]
    return Written(expected, skipped)


def write_pascalvoc(root: Path) -> Written:
    """PascalVOC (VOC2012 folder): ``JPEGImages`` + ``SegmentationObject`` + the split lists.
    Returns val."""
    expected: dict[str, Expected] = {}
    label = np.zeros((H, W), np.uint8)
    a, b = rect(2, 2, 8, 8), rect(12, 16, 10, 12)
    label[a], label[b] = 1, 2
    void = ring(a) | ring(b)
    label[void] = 255
    _jpeg(40, root / "JPEGImages" / "2007_000033.jpg")
    _save(label, root / "SegmentationObject" / "2007_000033.png", palette=PALETTE)
    expected["2007_000033"] = Expected({"1": label == 1, "2": label == 2}, void, "2007_000033.jpg", "2007_000033.png")

    # 17 instances, one vertical strip each, and void along the top row
    label = np.zeros((H, W), np.uint8)
    for k in range(17):
        label[2:22, k + 1] = k + 1
    label[0, :] = 255
    _jpeg(41, root / "JPEGImages" / "2007_000129.jpg")
    _save(label, root / "SegmentationObject" / "2007_000129.png", palette=PALETTE)
    expected["2007_000129"] = Expected(
        {str(k): label == k for k in range(1, 18)}, label == 255, "2007_000129.jpg", "2007_000129.png"
    )

    _jpeg(42, root / "JPEGImages" / "2007_000032.jpg")  # train
    _save(label, root / "SegmentationObject" / "2007_000032.png", palette=PALETTE)
    lists = root / "ImageSets" / "Segmentation"
    lists.mkdir(parents=True, exist_ok=True)
    (lists / "val.txt").write_text("2007_000033\n2007_000129\n")
    (lists / "train.txt").write_text("2007_000032\n")
    (lists / "trainval.txt").write_text("2007_000032\n2007_000033\n2007_000129\n")
    return Written(expected, [])


WRITERS = {
    "grabcut": write_grabcut,
    "berkeley": write_berkeley,
    "davis345": write_davis345,
    "coco_mval": write_coco_mval,
    "sbd": write_sbd,
    "pascalvoc": write_pascalvoc,
}
"""benchmark key -> its writer"""

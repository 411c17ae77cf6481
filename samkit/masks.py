"""The one mask codec: COCO RLE (through pycocotools), PNG, polygons, boxes.

Every place in samkit that encodes or decodes a mask (metrics, datasets, pipelines, protocols,
the automatic-mask generator, the service, the widgets) goes through these functions, so a mask
written by one part is read back identically by any other.

Conventions: a mask is an ``HxW`` bool array; a *JSON RLE* is pycocotools' compressed RLE with
``counts`` as a str, ``{"size": [H, W], "counts": "..."}`` (what COCO results files and samkit's
rows hold); a *pycocotools RLE* is the same with ``counts`` as bytes (what ``pycocotools.mask``
functions take); an *uncompressed RLE* has ``counts`` as a list of run lengths (column-major,
starting with a background run), as SamAutomaticMaskGenerator's ``"uncompressed_rle"``.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "encode_rle",
    "encode_rles",
    "decode_rle",
    "decode_rles",
    "rle_json",
    "to_pycoco_rle",
    "rle_area",
    "encode_png",
    "decode_png",
    "mask_box",
]


def rle_json(rle: Mapping[str, Any]) -> dict[str, Any]:
    """A compressed RLE with ``counts`` as str (JSON-ready) and ``size`` as two ints."""
    counts = rle["counts"]
    return {
        "size": [int(s) for s in rle["size"]],
        "counts": counts.decode("ascii") if isinstance(counts, bytes) else counts,
    }


def encode_rle(mask: np.ndarray) -> dict[str, Any]:
    """``HxW`` mask (bool or 0/1) -> JSON RLE ``{"size": [H, W], "counts": str}`` (pycocotools)."""
    from pycocotools import mask as mask_utils

    return rle_json(mask_utils.encode(np.asfortranarray(np.asarray(mask).astype(np.uint8))))


def encode_rles(masks: np.ndarray) -> list[dict[str, Any]]:
    """``(N, H, W)`` masks -> N JSON RLEs in one pycocotools call (``[]`` for N = 0)."""
    from pycocotools import mask as mask_utils

    masks = np.asarray(masks)
    if len(masks) == 0:
        return []
    return [rle_json(r) for r in mask_utils.encode(np.asfortranarray(masks.transpose(1, 2, 0).astype(np.uint8)))]


def to_pycoco_rle(segmentation: Any, height: int, width: int) -> dict[str, Any]:
    """Any segmentation of an ``height x width`` image as a pycocotools RLE (``counts`` bytes).

    Takes an ``HxW`` mask, a JSON or pycocotools RLE, an uncompressed RLE, or COCO polygons (a
    list of ``[x0, y0, x1, y1, ...]`` pixel lists; polygons of fewer than 3 points are dropped, as
    pycocotools cannot rasterise them, and none left is an empty mask). A size other than the
    image's is a ``ValueError``.
    """
    from pycocotools import mask as mask_utils

    h, w = int(height), int(width)
    if isinstance(segmentation, Mapping):
        size = tuple(int(s) for s in segmentation["size"])
        if size != (h, w):
            raise ValueError(f"RLE size {list(size)} does not match the image's {[h, w]}")
        counts = segmentation["counts"]
        if isinstance(counts, list):
            return mask_utils.frPyObjects({"size": [h, w], "counts": counts}, h, w)
        if isinstance(counts, str):
            counts = counts.encode("ascii")
        return {"size": [h, w], "counts": counts}
    if isinstance(segmentation, list) and (not segmentation or isinstance(segmentation[0], (list, tuple))):
        polygons = [list(p) for p in segmentation if len(p) >= 6]
        if not polygons:
            return mask_utils.encode(np.zeros((h, w), dtype=np.uint8, order="F"))
        return mask_utils.merge(mask_utils.frPyObjects(polygons, h, w))
    mask = np.asarray(segmentation)
    if mask.shape != (h, w):
        raise ValueError(f"mask shape {mask.shape} does not match the image's {(h, w)}")
    return mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))


def decode_rle(rle: Mapping[str, Any]) -> np.ndarray:
    """A JSON, pycocotools or uncompressed RLE -> ``HxW`` bool mask."""
    from pycocotools import mask as mask_utils

    h, w = (int(s) for s in rle["size"])
    return mask_utils.decode(to_pycoco_rle(rle, h, w)).astype(bool)


def decode_rles(rles: Sequence[Mapping[str, Any]], height: int, width: int) -> np.ndarray:
    """RLEs of one image size -> ``(N, H, W)`` bool masks (``(0, H, W)`` for none)."""
    from pycocotools import mask as mask_utils

    if not rles:
        return np.zeros((0, int(height), int(width)), dtype=bool)
    coded = [to_pycoco_rle(r, height, width) for r in rles]
    return mask_utils.decode(coded).transpose(2, 0, 1).astype(bool)


def rle_area(rle: Mapping[str, Any]) -> int:
    """Number of mask pixels of any RLE (uncompressed: the sum of its foreground runs)."""
    if isinstance(rle["counts"], list):
        return int(sum(rle["counts"][1::2]))
    from pycocotools import mask as mask_utils

    h, w = (int(s) for s in rle["size"])
    return int(mask_utils.area(to_pycoco_rle(rle, h, w)))


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_png(mask: np.ndarray, *, transparent: bool = False, level: int = 1) -> bytes:
    """Encode an (H, W) boolean mask as a 1-bit grayscale PNG (1 = white, 0 = black).

    With ``transparent`` the black pixels are marked transparent (a tRNS chunk), so a browser can
    draw the PNG straight over the image. Written by hand (bit-packed rows, filter 0, zlib level
    ``level``) because Pillow's PNG writer tries every row filter and is about 8x slower here;
    any PNG reader (Pillow, browsers) decodes it. A blob-like 1411x1411 mask takes about 1 ms and
    a few kB; a mask of random noise stays near H*W/8 bytes.
    """
    m = np.asarray(mask)
    if m.ndim != 2:
        raise ValueError(f"mask must be (H, W), got shape {m.shape}")
    height, width = m.shape
    if height == 0 or width == 0:
        raise ValueError("cannot encode an empty (0-pixel) mask as PNG")
    rows = np.packbits(m.astype(bool, copy=False), axis=1)  # MSB first, rows padded to bytes
    raw = np.empty((height, rows.shape[1] + 1), dtype=np.uint8)
    raw[:, 0] = 0  # filter type "None" on every row
    raw[:, 1:] = rows
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit grayscale
    parts = [_PNG_SIGNATURE, _chunk(b"IHDR", header)]
    if transparent:
        parts.append(_chunk(b"tRNS", struct.pack(">H", 0)))  # gray value 0 is transparent
    parts += [_chunk(b"IDAT", zlib.compress(raw.tobytes(), level)), _chunk(b"IEND", b"")]
    return b"".join(parts)


def decode_png(data: bytes | Path | str) -> np.ndarray:
    """Read a mask PNG (any Pillow-readable PNG; nonzero = inside) back to an (H, W) bool array."""
    from PIL import Image

    source = io.BytesIO(data) if isinstance(data, (bytes, bytearray, memoryview)) else data
    with Image.open(source) as im:
        if im.mode == "1":
            return np.array(im, dtype=bool)
        return np.array(im.convert("L")) > 0


def mask_box(mask: np.ndarray) -> np.ndarray:
    """``(4,)`` float64 XYXY box covering the whole pixels of an ``HxW`` mask (pixel edges:
    ``x1 = last column + 1``); NaN for an empty mask."""
    mask = np.asarray(mask)
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if not rows.size:
        return np.full(4, np.nan)
    return np.array([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1], dtype=np.float64)

"""Per-mask metrics: mask IoU (as pycocotools) and Boundary IoU (as the Boundary IoU API).

Masks are (H, W) arrays, bool or numeric holding only 0 and 1 (numpy arrays, nested lists, CPU
tensors: anything ``np.asarray`` takes). Other values (0/255 PNG masks, soft probabilities) raise
ValueError: threshold them first. Two masks of different shapes, or not 2-D, raise ValueError
naming both shapes. Scalar results are plain Python floats.

Empty masks: both functions return ``empty_value`` (default 0.0) when gt and pred are both empty,
which is what pycocotools' ``mask.iou`` returns for a pair of empty masks, and what the Boundary
IoU API's COCO evaluation returns (it scores boundaries with ``mask.iou`` too). Pass
``empty_value=1.0`` (or ``float('nan')``) for another convention.

This module also holds the input checks and the OpenCV-equivalent morphology that
``samkit.metrics.video`` and ``samkit.metrics.clicks`` use; those helpers are not public API.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["mask_iou", "mask_iou_matrix", "boundary_iou"]


# --------------------------------------------------------------------------------------------
# input checks (shared with video.py and clicks.py)
# --------------------------------------------------------------------------------------------


def _as_mask(value: Any, name: str) -> np.ndarray:
    """``value`` as a bool array; bool input or numeric input holding only 0 and 1."""
    arr = np.asarray(value)
    if arr.dtype == np.bool_:
        return arr
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be a bool or 0/1 numeric mask, got dtype {arr.dtype}")
    if arr.size and not np.all((arr == 0) | (arr == 1)):
        raise ValueError(f"{name} must hold only 0 and 1 (or be bool); threshold soft or 0/255 masks first")
    return arr != 0


def _mask_pair(gt: Any, pred: Any, gt_name: str = "gt", pred_name: str = "pred") -> tuple[np.ndarray, np.ndarray]:
    """Two (H, W) bool masks of one shape; ValueError naming both shapes otherwise."""
    g = _as_mask(gt, gt_name)
    p = _as_mask(pred, pred_name)
    if g.ndim != 2 or p.ndim != 2 or g.shape != p.shape:
        raise ValueError(
            f"{gt_name} and {pred_name} must be 2-D (H, W) masks of the same shape; "
            f"got {gt_name} shape {g.shape} and {pred_name} shape {p.shape}"
        )
    return g, p


def _optional_mask(value: Any, shape: tuple[int, ...], name: str) -> np.ndarray | None:
    """``value`` (e.g. a void or ignore mask) as a bool mask of ``shape``, or None."""
    if value is None:
        return None
    v = _as_mask(value, name)
    if v.shape != shape:
        raise ValueError(f"{name} must have the masks' shape {shape}; got {name} shape {v.shape}")
    return v


# --------------------------------------------------------------------------------------------
# morphology with OpenCV's semantics, in numpy
# --------------------------------------------------------------------------------------------


def _window_sums(a: np.ndarray, lo: int, hi: int, axis: int) -> np.ndarray:
    """``out[..., i, ...] = sum(a[..., i+lo : i+hi+1, ...])`` along ``axis``, zeros outside ``a``.

    ``lo <= hi`` may be negative or reach past the array; the result is int32 of ``a``'s shape.
    """
    a = np.moveaxis(np.asarray(a), axis, -1)
    n = a.shape[-1]
    lo, hi = max(lo, -n), min(hi, n)  # a window reaching further only adds zeros
    pad = max(0, -lo, hi)
    # c[..., pad + k] = sum(a[..., :k]) with k clipped into 0..n, for k in -pad .. n + pad
    c = np.zeros(a.shape[:-1] + (n + 2 * pad + 1,), dtype=np.int32)
    np.cumsum(a, axis=-1, dtype=np.int32, out=c[..., pad + 1 : pad + 1 + n])
    c[..., pad + 1 + n :] = c[..., pad + n : pad + n + 1]
    out = c[..., pad + hi + 1 : pad + hi + 1 + n] - c[..., pad + lo : pad + lo + n]
    return np.moveaxis(out, -1, axis)


def _erode_square(mask: np.ndarray, radius: int) -> np.ndarray:
    """Erosion by a (2r+1) x (2r+1) square where pixels outside the image count as 0.

    Equals OpenCV's ``cv2.erode(cv2.copyMakeBorder(m, 1, 1, 1, 1, BORDER_CONSTANT, value=0),
    ones((3, 3)), iterations=r)[1:-1, 1:-1]``: r erosions by a 3x3 square compose to one by a
    (2r+1) square, and the 1-pixel zero frame (which erosion keeps at 0) makes every pass see 0
    beyond the image, exactly like an infinite zero background. The frame's own outside is
    OpenCV's "ignore" border, which never reaches an image pixel.
    """
    if radius <= 0:
        return mask.copy()
    size = 2 * radius + 1
    rows = _window_sums(mask, -radius, radius, axis=1) == size
    return _window_sums(rows, -radius, radius, axis=0) == size


def _disk(radius: float) -> np.ndarray:
    """The structuring element ``skimage.morphology.disk(radius)`` builds, as a bool array.

    Coordinates ``L = arange(-radius, radius + 1)`` on both axes and ``x**2 + y**2 <= radius**2``;
    a non-integer radius gives the same (possibly even-sized) grid skimage gives.
    """
    coords = np.arange(-radius, radius + 1)
    xx, yy = np.meshgrid(coords, coords)
    return (xx**2 + yy**2) <= radius**2


def _dilate(src: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Binary dilation with OpenCV's ``cv2.dilate(src, kernel)`` semantics (default arguments).

    ``out[y, x] = any(src[y + i - ay, x + j - ax] for kernel[i, j] != 0)`` with the anchor
    ``(ay, ax) = (kh // 2, kw // 2)``, and pixels outside the image contributing nothing
    (OpenCV's default border value for dilation). Computed row run by row run of the kernel with
    window sums, so the cost is O(H * W * kernel rows), not O(H * W * kernel area). (An all-zero
    kernel, which OpenCV treats specially, gives an empty result here; DAVIS' disks never are.)
    """
    src = np.asarray(src, dtype=bool)
    kernel = np.asarray(kernel, dtype=bool)
    kh, kw = kernel.shape
    ay, ax = kh // 2, kw // 2
    h, w = src.shape
    out = np.zeros((h, w), dtype=bool)
    if not src.any():
        return out
    # c[y, pad + k] = number of set pixels in src[y, :k] (k clipped into 0..w)
    pad = kw + 1
    c = np.zeros((h, w + 2 * pad + 1), dtype=np.int32)
    np.cumsum(src, axis=1, dtype=np.int32, out=c[:, pad + 1 : pad + 1 + w])
    c[:, pad + 1 + w :] = c[:, pad + w : pad + w + 1]
    for i in range(kh):
        dy = i - ay
        if dy >= h or dy <= -h:
            continue
        row = kernel[i]
        j = 0
        while j < kw:
            if not row[j]:
                j += 1
                continue
            start = j
            while j < kw and row[j]:
                j += 1
            lo, hi = start - ax, j - 1 - ax
            # hit[y, x] = any(src[y, x + lo .. x + hi])
            hit = c[:, pad + hi + 1 : pad + hi + 1 + w] != c[:, pad + lo : pad + lo + w]
            # out[y, x] |= hit[y + dy, x]
            if dy >= 0:
                out[: h - dy] |= hit[dy:]
            else:
                out[-dy:] |= hit[: h + dy]
    return out


# --------------------------------------------------------------------------------------------
# public metrics
# --------------------------------------------------------------------------------------------


def mask_iou(gt: Any, pred: Any, *, empty_value: float = 0.0) -> float:
    """Intersection over union of two (H, W) binary masks, in [0, 1].

    Same value as ``pycocotools.mask.iou([pred_rle], [gt_rle], [0])`` (a non-crowd gt).
    When both masks are empty the union is 0 and ``empty_value`` is returned; its default 0.0 is
    pycocotools' value for that case (DAVIS' ``jaccard`` uses 1.0 there instead).
    """
    g, p = _mask_pair(gt, pred)
    union = int(np.count_nonzero(g | p))
    if union == 0:
        return float(empty_value)
    return int(np.count_nonzero(g & p)) / union


def mask_iou_matrix(gts: Any, preds: Any, *, empty_value: float = 0.0) -> np.ndarray:
    """Pairwise IoU of N gt masks (N, H, W) and M predicted masks (M, H, W): float64 (N, M).

    ``out[i, j] == mask_iou(gts[i], preds[j], empty_value=empty_value)``. Counts are exact (a
    matrix product of 0/1 values; float64 beyond 2**24 pixels). Memory is about
    (N + M) * H * W * 4 bytes.
    """
    g = _as_mask(gts, "gts")
    p = _as_mask(preds, "preds")
    if g.ndim != 3 or p.ndim != 3 or g.shape[1:] != p.shape[1:]:
        raise ValueError(
            "gts and preds must be (N, H, W) and (M, H, W) mask stacks with the same H, W; "
            f"got gts shape {g.shape} and preds shape {p.shape}"
        )
    n, m = g.shape[0], p.shape[0]
    hw = g.shape[1] * g.shape[2]
    if n == 0 or m == 0:
        return np.zeros((n, m), dtype=np.float64)
    dtype = np.float32 if hw < 2**24 else np.float64  # float32 sums of 0/1 are exact below 2**24
    gf = g.reshape(n, hw).astype(dtype)
    pf = p.reshape(m, hw).astype(dtype)
    inter = (gf @ pf.T).astype(np.float64)
    area_g = g.reshape(n, hw).sum(axis=1, dtype=np.int64).astype(np.float64)
    area_p = p.reshape(m, hw).sum(axis=1, dtype=np.int64).astype(np.float64)
    union = area_g[:, None] + area_p[None, :] - inter
    out = np.full((n, m), float(empty_value), dtype=np.float64)
    nz = union > 0
    out[nz] = inter[nz] / union[nz]
    return out


def _boundary_band(mask: np.ndarray, dilation_ratio: float) -> np.ndarray:
    """The Boundary IoU API's ``mask_to_boundary``: mask pixels within d px of the mask's edge.

    ``d = max(1, round(dilation_ratio * sqrt(H**2 + W**2)))`` (Python's round, half to even), and
    the image border counts as edge (the API zero-pads by one pixel before eroding).
    """
    h, w = mask.shape
    diag = math.sqrt(h * h + w * w)
    d = int(round(dilation_ratio * diag))
    if d < 1:
        d = 1
    return mask & ~_erode_square(mask, d)


def boundary_iou(gt: Any, pred: Any, dilation_ratio: float = 0.02, *, empty_value: float = 0.0) -> float:
    """Boundary IoU (Cheng et al. 2021) of two (H, W) binary masks, in [0, 1].

    Each mask is reduced to its inner boundary band (pixels within
    ``d = max(1, round(dilation_ratio * image_diagonal))`` pixels of its edge, image border
    included) as the Boundary IoU API's ``mask_to_boundary`` does, and the IoU of the two bands
    is returned. This is the boundary term alone, not COCO's ``min(mask IoU, boundary IoU)``.
    Both masks empty: ``empty_value`` (default 0.0, as the API's COCO evaluation, which scores
    boundaries with pycocotools' ``mask.iou``; the README's plain ``intersection / union`` would
    give NaN there). Exactly one mask empty gives 0.0.
    """
    g, p = _mask_pair(gt, pred)
    gb = _boundary_band(g, dilation_ratio)
    pb = _boundary_band(p, dilation_ratio)
    union = int(np.count_nonzero(gb | pb))
    if union == 0:
        return float(empty_value)
    return int(np.count_nonzero(gb & pb)) / union

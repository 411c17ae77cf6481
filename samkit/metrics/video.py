"""DAVIS 2017 video object segmentation metrics: region J, boundary F and their statistics.

Single-frame ``jaccard`` and ``boundary_f`` give the same values as the DAVIS 2017 toolkit's
``db_eval_iou`` and ``db_eval_boundary`` (``f_measure``); ``j_and_f`` gives one object's
``db_statistics`` (mean, recall, decay) of both over a sequence, as the toolkit's
semi-supervised evaluation does. No OpenCV: the toolkit's ``cv2.dilate`` with a disk kernel is
reproduced exactly in numpy (see ``samkit.metrics.masks._dilate``).

Masks are (H, W) bool arrays or numeric arrays holding only 0 and 1 (see
``samkit.metrics.masks``). Scores are floats in [0, 1] (decays in [-1, 1]).

Void pixels: ``void`` excludes pixels the way the toolkit's ``void_pixels`` argument does (out of
both intersection and union for J; both masks are cut to the non-void area before their boundaries
are taken for F). Note that the toolkit's own semi-supervised pipeline builds its void masks as
``gt == 255`` after its loader has already mapped 255 to 0, so in the official numbers void is
never in effect: pass ``void=None`` to reproduce them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from samkit.metrics.masks import _as_mask, _dilate, _disk, _mask_pair, _optional_mask

__all__ = ["jaccard", "boundary_f", "j_and_f", "davis_statistics"]


def jaccard(gt: Any, pred: Any, void: Any = None) -> float:
    """Region similarity J of one frame: |gt & pred| / |gt | pred| over non-void pixels.

    As DAVIS' ``db_eval_iou``: when the (non-void) union is empty, J is 1.0 (pycocotools-style
    ``mask_iou`` returns 0.0 there instead).
    """
    g, p = _mask_pair(gt, pred)
    v = _optional_mask(void, g.shape, "void")
    keep = ~v if v is not None else np.ones(g.shape, dtype=bool)
    inter = int(np.count_nonzero(g & p & keep))
    union = int(np.count_nonzero((g | p) & keep))
    if union == 0:
        return 1.0
    return inter / union


def _seg2bmap(seg: np.ndarray) -> np.ndarray:
    """DAVIS' one-pixel boundary map of a binary mask (its ``_seg2bmap`` at the mask's own size).

    A pixel is on the boundary when it differs from its right, lower or lower-right neighbour
    (pixels past the image count as 0): the boundary sits half a pixel towards the origin from
    the true edge. In the last row only the right neighbour is compared, in the last column only
    the lower one, and the bottom-right pixel is never a boundary pixel. So the right and bottom
    image borders are not boundaries (a full mask has an empty map), the top and left ones are.
    """
    seg = np.asarray(seg, dtype=bool)
    h, w = seg.shape
    right = np.zeros_like(seg)
    right[:, : w - 1] = seg[:, 1:]
    down = np.zeros_like(seg)
    down[: h - 1, :] = seg[1:, :]
    diag = np.zeros_like(seg)
    diag[: h - 1, : w - 1] = seg[1:, 1:]
    bmap = (seg != right) | (seg != down) | (seg != diag)
    bmap[h - 1, :] = seg[h - 1, :] != right[h - 1, :]
    bmap[:, w - 1] = seg[:, w - 1] != down[:, w - 1]
    bmap[h - 1, w - 1] = False
    return bmap


def _bound_pixels(shape: tuple[int, int], bound_th: float) -> float:
    """The toolkit's tolerance radius: ``bound_th`` px if >= 1, else ceil(bound_th * diagonal)."""
    if bound_th >= 1:
        return bound_th
    h, w = shape
    return float(math.ceil(bound_th * math.sqrt(h * h + w * w)))


def boundary_f(gt: Any, pred: Any, void: Any = None, bound_th: float = 0.008) -> float:
    """Boundary F-measure of one frame, as DAVIS' ``db_eval_boundary`` / ``f_measure``.

    Boundaries are DAVIS' one-pixel maps (``_seg2bmap``) of ``pred & ~void`` and ``gt & ~void``.
    A boundary pixel matches when the other boundary lies within a disk of radius
    ``r = bound_th`` px if ``bound_th >= 1`` else ``ceil(bound_th * sqrt(H**2 + W**2))`` px
    (``skimage.morphology.disk(r)`` dilation as ``cv2.dilate`` applies it). Precision is the
    matched fraction of the prediction's boundary, recall that of the gt's; F = 2PR / (P + R),
    0 when P + R == 0. Empty boundaries: pred empty and gt not gives P=1, R=0 (F=0); gt empty and
    pred not gives P=0, R=1 (F=0); both empty gives F=1. Masks with no boundary include full
    masks (see ``_seg2bmap``): a full gt against an empty prediction scores F=1, as in DAVIS.
    """
    g, p = _mask_pair(gt, pred)
    if not (math.isfinite(bound_th) and bound_th >= 0):
        raise ValueError(f"bound_th must be a finite number >= 0, got {bound_th!r}")
    v = _optional_mask(void, g.shape, "void")
    if v is not None:
        g = g & ~v
        p = p & ~v
    radius = _bound_pixels(g.shape, bound_th)

    fg_boundary = _seg2bmap(p)
    gt_boundary = _seg2bmap(g)
    n_fg = int(np.count_nonzero(fg_boundary))
    n_gt = int(np.count_nonzero(gt_boundary))

    if n_fg == 0 and n_gt > 0:
        precision, recall = 1.0, 0.0
    elif n_fg > 0 and n_gt == 0:
        precision, recall = 0.0, 1.0
    elif n_fg == 0 and n_gt == 0:
        precision, recall = 1.0, 1.0
    else:
        kernel = _disk(radius)
        fg_dil = _dilate(fg_boundary, kernel)
        gt_dil = _dilate(gt_boundary, kernel)
        precision = int(np.count_nonzero(fg_boundary & gt_dil)) / float(n_fg)
        recall = int(np.count_nonzero(gt_boundary & fg_dil)) / float(n_gt)

    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def _decay_bin_edges(n: int) -> list[int]:
    """The toolkit's 5 decay bin edges for n values: round-half-up(1 + k(n-1)/4) - 1, k = 0..4.

    The toolkit writes this as ``round(linspace(1, n, 5) + 1e-10) - 1`` and then casts to uint8;
    ``(k * (n - 1) + 2) // 4`` is the same integer for every n (the linspace points are exact
    quarters, and the 1e-10 makes halves round up), without the uint8 wrap-around: the toolkit's
    last bin is empty or wrong from n = 256 on under NumPy 2 (``uint8(255) + 1`` wraps to 0)
    and from n = 257 on under NumPy 1, where its decay comes out NaN or meaningless.
    """
    return [(k * (n - 1) + 2) // 4 for k in range(5)]


def davis_statistics(values: np.ndarray) -> tuple[float, float, float]:
    """(mean, recall, decay) of per-frame scores, as the DAVIS 2017 toolkit's ``db_statistics``.

    mean = mean of the values; recall = fraction of values strictly > 0.5; decay = mean of the
    first of 4 overlapping quantile bins minus mean of the last (bin k spans values
    ``edges[k] .. edges[k+1]`` inclusive, see ``_decay_bin_edges``). No values: all NaN.
    """
    values = np.asarray(values, dtype=np.float64)
    n = values.shape[0]
    if n == 0:
        return math.nan, math.nan, math.nan
    mean = float(np.mean(values))
    recall = float(np.mean(values > 0.5))
    e = _decay_bin_edges(n)
    decay = float(np.mean(values[e[0] : e[1] + 1]) - np.mean(values[e[3] : e[4] + 1]))
    return mean, recall, decay


def _frames(frames: Any, name: str) -> list[np.ndarray]:
    """A (T, H, W) array or a sequence of T (H, W) masks as a list of bool masks."""
    if isinstance(frames, np.ndarray) or hasattr(frames, "__array__"):
        arr = _as_mask(frames, name)
        if arr.ndim != 3:
            raise ValueError(f"{name} must be (T, H, W) or a sequence of (H, W) masks; got shape {arr.shape}")
        return list(arr)
    if not isinstance(frames, Sequence):
        raise ValueError(f"{name} must be (T, H, W) or a sequence of (H, W) masks")
    return [_as_mask(f, f"{name}[{i}]") for i, f in enumerate(frames)]


def j_and_f(
    gt_frames: Any,
    pred_frames: Any,
    void_frames: Any = None,
    *,
    skip_first_last: bool = True,
    bound_th: float = 0.008,
) -> dict[str, float]:
    """DAVIS 2017 J and F statistics of one object over a sequence of T frames.

    Args:
        gt_frames, pred_frames: (T, H, W) arrays or sequences of T (H, W) masks of one object.
        void_frames: optional, same layout; per-frame ``void`` as in ``jaccard``/``boundary_f``.
        skip_first_last: True (default) scores frames 1 .. T-2 only, as the toolkit's
            semi-supervised evaluation does (it drops the first annotated frame, which is given
            as the prompt, and the last one); False scores all T frames (as its unsupervised
            evaluation does).
        bound_th: boundary tolerance for F (see ``boundary_f``).

    Returns a dict with ``J-Mean, J-Recall, J-Decay, F-Mean, F-Recall, F-Decay`` (the toolkit's
    ``db_statistics`` of per-frame J and F: mean, fraction of frames scoring > 0.5, and mean of
    the first quarter of frames minus mean of the last quarter) and ``J&F-Mean`` =
    (J-Mean + F-Mean) / 2. With no frame left to score (T <= 2 when skipping) every value is NaN,
    as the toolkit gives. From 256 scored frames on, the toolkit's decay is corrupted by a uint8
    overflow of its bin indices (NaN or a wrong bin); this function uses the intended bins there,
    so it agrees with the toolkit for up to 255 scored frames.
    """
    gts = _frames(gt_frames, "gt_frames")
    preds = _frames(pred_frames, "pred_frames")
    if len(gts) != len(preds):
        raise ValueError(f"gt_frames has {len(gts)} frames but pred_frames has {len(preds)}")
    voids: list[np.ndarray | None]
    if void_frames is None:
        voids = [None] * len(gts)
    else:
        voids = list(_frames(void_frames, "void_frames"))
        if len(voids) != len(gts):
            raise ValueError(f"gt_frames has {len(gts)} frames but void_frames has {len(voids)}")
    for t, (g, p) in enumerate(zip(gts, preds)):
        if g.ndim != 2 or p.ndim != 2 or g.shape != p.shape or g.shape != gts[0].shape:
            raise ValueError(
                f"frame {t}: gt and pred must be 2-D masks of the sequence's shape {gts[0].shape}; "
                f"got gt shape {g.shape} and pred shape {p.shape}"
            )

    idx = range(1, len(gts) - 1) if skip_first_last else range(len(gts))
    j = np.array([jaccard(gts[t], preds[t], voids[t]) for t in idx], dtype=np.float64)
    f = np.array([boundary_f(gts[t], preds[t], voids[t], bound_th) for t in idx], dtype=np.float64)
    jm, jr, jd = davis_statistics(j)
    fm, fr, fd = davis_statistics(f)
    return {
        "J-Mean": jm,
        "J-Recall": jr,
        "J-Decay": jd,
        "F-Mean": fm,
        "F-Recall": fr,
        "F-Decay": fd,
        "J&F-Mean": (jm + fm) / 2,
    }

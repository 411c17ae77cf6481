"""Interactive segmentation: the RITM click simulator and the number-of-clicks (NoC) metric.

``next_click`` places the next simulated click as RITM's ``Clicker._get_next_click`` does (the
protocol SAM's paper and most interactive-segmentation papers follow); ``noc`` summarises
per-object IoU-per-click curves as RITM's ``compute_noc_metric``.

Coordinates are ``(x, y)`` in pixels: x is the column, y the row (RITM stores ``(y, x)``).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from samkit.metrics.masks import _mask_pair, _optional_mask

__all__ = ["next_click", "noc", "NoCResult"]


def _error_distance(error: np.ndarray) -> np.ndarray:
    """Distance of each error pixel to the nearest non-error pixel or to just outside the image.

    RITM zero-pads the error mask by one pixel, runs ``cv2.distanceTransform(.., DIST_L2, 0)``
    (mask size 0 = DIST_MASK_PRECISE: the exact Euclidean distance transform) and crops the pad.
    ``scipy.ndimage.distance_transform_edt`` is that exact transform; its float64 result is
    rounded to float32, OpenCV's output type, so ties between maxima are decided on the same
    values. This equals OpenCV's own implementation bit for bit (checked against OpenCV 4.10 and
    5.0). Caveat: x86 OpenCV wheels route small images (padded H * W < 16384) and single-thread
    runs to Intel IPP, whose distances are off by up to ~1 float32 ulp (e.g. 7.0000005 for 7);
    there, exactly tied pixels can be ordered differently from the row-major order used here
    (``cv2.ipp.setUseIPP(False)`` makes OpenCV agree with this function exactly).
    """
    from scipy.ndimage import distance_transform_edt

    out = np.zeros(error.shape, dtype=np.float32)
    rows = np.flatnonzero(error.any(axis=1))
    if rows.size == 0:
        return out
    cols = np.flatnonzero(error.any(axis=0))
    # Work on the error's bounding box with a 1-pixel zero frame: every pixel outside that frame
    # is farther from any error pixel than its projection onto the frame, which is a zero pixel
    # (a non-error pixel, or RITM's zero padding where the frame leaves the image). So the
    # distances are those of the whole padded image.
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    padded = np.pad(error[y0:y1, x0:x1], 1, mode="constant", constant_values=False)
    out[y0:y1, x0:x1] = distance_transform_edt(padded)[1:-1, 1:-1]
    return out


def _click_xy(click: Any, shape: tuple[int, int]) -> tuple[int, int]:
    """(x, y) of an earlier click ``(x, y)`` or ``(x, y, is_positive)``, checked to be in the image."""
    try:
        x, y = operator.index(click[0]), operator.index(click[1])
    except (TypeError, IndexError) as exc:
        raise ValueError(f"a click must be (x, y) or (x, y, is_positive) with integer x, y; got {click!r}") from exc
    h, w = shape
    if not (0 <= x < w and 0 <= y < h):
        raise ValueError(f"click {click!r} lies outside the (H, W) = {shape} image")
    return x, y


def next_click(
    gt: Any,
    pred: Any,
    clicks: Iterable[Sequence[Any]] = (),
    *,
    ignore: Any = None,
) -> tuple[int, int, bool]:
    """The next simulated click ``(x, y, is_positive)`` for prediction ``pred`` of object ``gt``.

    As RITM's ``Clicker._get_next_click``: false negatives (gt & ~pred) and false positives
    (~gt & pred), both outside ``ignore``, are each distance-transformed with the image border
    counting as boundary (see ``_error_distance``); pixels already clicked (``clicks``, earlier
    ``(x, y[, is_positive])``) get distance 0. The click is positive when the largest
    false-negative distance is strictly larger than the largest false-positive distance
    (a tie is negative), and lands on the first pixel in row-major order (smallest y, then
    smallest x) that has the chosen maximum. With an empty ``pred`` this is the gt pixel farthest
    from the object's boundary, SAM's first click.

    Degenerate case, kept as RITM has it: when no unclicked error pixel remains (e.g. ``pred ==
    gt``), both maxima are 0 and the result is ``(0, 0, False)``.

    Args:
        gt, pred: (H, W) binary masks.
        clicks: earlier clicks, ``(x, y)`` or ``(x, y, is_positive)``; only the position is used.
        ignore: optional (H, W) mask of pixels that are never errors (RITM's ignore label).

    Raises:
        ValueError: gt is empty (there is no object to click on), shapes differ, or a click is
            outside the image.
    """
    g, p = _mask_pair(gt, pred)
    if not g.any():
        raise ValueError("gt is empty: there is no object to click on")
    ign = _optional_mask(ignore, g.shape, "ignore")
    keep = ~ign if ign is not None else np.ones(g.shape, dtype=bool)

    not_clicked = np.ones(g.shape, dtype=bool)
    for click in clicks:
        x, y = _click_xy(click, g.shape)
        not_clicked[y, x] = False

    fn_dist = _error_distance(g & ~p & keep) * not_clicked
    fp_dist = _error_distance(~g & p & keep) * not_clicked
    is_positive = bool(fn_dist.max() > fp_dist.max())
    chosen = fn_dist if is_positive else fp_dist
    flat = int(np.argmax(chosen))  # first maximum in row-major order
    y, x = divmod(flat, g.shape[1])
    return x, y, is_positive


@dataclass(frozen=True)
class NoCResult:
    """Number-of-clicks summary over objects (see ``noc``).

    Attributes:
        mean: mean NoC over objects (NaN when there are no objects).
        failures: objects whose IoU never reached the threshold (each counted as max_clicks).
        over_max: objects whose NoC equals max_clicks, RITM's ``over_max`` ("NoC >= 20") count:
            the failures plus any object that first reached the threshold exactly at click
            max_clicks.
        per_object: each object's NoC, in input order.
    """

    mean: float
    failures: int
    over_max: int
    per_object: tuple[int, ...]


def noc(ious: Iterable[Sequence[float]], threshold: float, max_clicks: int = 20) -> NoCResult:
    """Mean number of clicks to reach ``threshold`` IoU, as RITM's ``compute_noc_metric``.

    ``ious[i][k]`` is object i's IoU after k + 1 clicks (sequences may differ in length). An
    object's NoC is the first k + 1 with ``ious[i][k] >= threshold`` (reaching the threshold
    exactly counts), or ``max_clicks`` when none of its first ``max_clicks`` entries does (a
    failure). Only the first ``max_clicks`` entries count: RITM simulates exactly ``max_clicks``
    clicks, so a longer sequence that first reaches the threshold later is a failure, as it would
    be there. NaN IoUs never count as reached.
    """
    per_object: list[int] = []
    failures = 0
    for i, seq in enumerate(ious):
        arr = np.asarray(seq, dtype=np.float64)
        if arr.ndim != 1:
            raise ValueError(f"ious[{i}] must be a 1-D sequence of IoUs, got shape {arr.shape}")
        reached = np.flatnonzero(arr[:max_clicks] >= threshold)
        if reached.size:
            per_object.append(int(reached[0]) + 1)
        else:
            per_object.append(int(max_clicks))
            failures += 1
    mean = float(np.mean(per_object)) if per_object else math.nan
    over_max = sum(1 for n in per_object if n == max_clicks)
    return NoCResult(mean=mean, failures=failures, over_max=over_max, per_object=tuple(per_object))

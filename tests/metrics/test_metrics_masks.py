"""mask_iou / mask_iou_matrix (vs pycocotools) and boundary_iou (vs the Boundary IoU API's rules)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pycocotools.mask as coco_mask
import pytest
from scipy.ndimage import binary_erosion

from samkit.metrics import boundary_iou, mask_iou, mask_iou_matrix
from samkit.metrics.masks import _boundary_band, _erode_square, _window_sums


def rle(mask: np.ndarray):
    return coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))


def coco_iou(gt: np.ndarray, pred: np.ndarray) -> float:
    """pycocotools' IoU of one prediction against one non-crowd gt."""
    return float(coco_mask.iou([rle(pred)], [rle(gt)], [0])[0, 0])


def random_masks(rng: np.random.Generator, n: int, h: int, w: int) -> np.ndarray:
    """A mix of empty, full, noise, box and disk masks (boxes and disks often touch the border)."""
    out = np.zeros((n, h, w), dtype=bool)
    yy, xx = np.mgrid[:h, :w]
    for i in range(n):
        kind = rng.integers(0, 5)
        if kind == 1:
            out[i] = True
        elif kind == 2:
            out[i] = rng.random((h, w)) < rng.uniform(0.05, 0.95)
        elif kind == 3:
            y0, x0 = rng.integers(0, h), rng.integers(0, w)
            out[i, y0 : rng.integers(y0, h + 1), x0 : rng.integers(x0, w + 1)] = True
        elif kind == 4:
            cy, cx, r = rng.uniform(-3, h + 3), rng.uniform(-3, w + 3), rng.uniform(0.5, max(h, w))
            out[i] = (yy - cy) ** 2 + (xx - cx) ** 2 < r * r
    return out


# ---------------------------------------------------------------------------------- input checks


def test_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(3, 5\)"):
        mask_iou(np.zeros((3, 4), bool), np.zeros((3, 5), bool))
    with pytest.raises(ValueError, match=r"\(2, 3, 4\).*\(3, 4\)"):
        boundary_iou(np.zeros((2, 3, 4), bool), np.zeros((3, 4), bool))
    with pytest.raises(ValueError, match=r"\(4,\).*\(4,\)"):
        mask_iou(np.zeros(4, bool), np.zeros(4, bool))


def test_non_binary_values_are_rejected_but_0_1_numbers_and_lists_are_accepted():
    with pytest.raises(ValueError, match="only 0 and 1"):
        mask_iou(np.full((2, 2), 255, np.uint8), np.ones((2, 2), np.uint8))
    with pytest.raises(ValueError, match="only 0 and 1"):
        mask_iou(np.ones((2, 2)), np.full((2, 2), 0.7))
    with pytest.raises(ValueError, match="dtype"):
        mask_iou(np.array([["a", "b"]]), np.array([["a", "b"]]))
    assert mask_iou([[1, 1, 0, 0]], np.array([[1, 0, 0, 0]], np.float32)) == 0.5


# ---------------------------------------------------------------------------------- mask_iou


def test_mask_iou_hand_examples():
    gt = np.zeros((4, 5), bool)
    gt[1:3, 1:3] = True  # 4 px
    pred = np.zeros((4, 5), bool)
    pred[1:3, 1:4] = True  # 6 px, 4 shared
    assert mask_iou(gt, pred) == pytest.approx(4 / 6, abs=1e-12)
    assert mask_iou(pred, gt) == pytest.approx(4 / 6, abs=1e-12)
    full = np.ones((4, 5), bool)
    assert mask_iou(full, full) == 1.0
    assert mask_iou(full, gt) == pytest.approx(4 / 20)
    one_a = np.zeros((4, 5), bool)
    one_a[0, 0] = True
    one_b = np.zeros((4, 5), bool)
    one_b[3, 4] = True
    assert mask_iou(one_a, one_a) == 1.0
    assert mask_iou(one_a, one_b) == 0.0


def test_mask_iou_empty_cases_follow_pycocotools():
    empty = np.zeros((3, 3), bool)
    some = np.eye(3, dtype=bool)
    assert coco_iou(empty, empty) == 0.0  # the reference's convention ...
    assert mask_iou(empty, empty) == 0.0  # ... is our default
    assert mask_iou(empty, empty, empty_value=1.0) == 1.0
    assert np.isnan(mask_iou(empty, empty, empty_value=float("nan")))
    assert mask_iou(empty, some) == 0.0 == coco_iou(empty, some)
    assert mask_iou(some, empty) == 0.0 == coco_iou(some, empty)
    assert mask_iou(some, empty, empty_value=1.0) == 0.0  # only both-empty uses empty_value


def test_mask_iou_matches_pycocotools_on_random_masks():
    rng = np.random.default_rng(0)
    checked = 0
    for _ in range(60):
        h, w = rng.integers(1, 30, size=2)
        masks = random_masks(rng, 6, h, w)
        for g in masks:
            for p in masks:
                assert mask_iou(g, p) == pytest.approx(coco_iou(g, p), abs=1e-12)
                checked += 1
    assert checked == 60 * 36


def test_mask_iou_matrix_matches_pycocotools_and_mask_iou():
    rng = np.random.default_rng(1)
    for _ in range(20):
        h, w = rng.integers(1, 40, size=2)
        gts = random_masks(rng, int(rng.integers(1, 6)), h, w)
        preds = random_masks(rng, int(rng.integers(1, 6)), h, w)
        out = mask_iou_matrix(gts, preds)
        assert out.shape == (len(gts), len(preds))
        # pycocotools.iou(dt, gt) is (n_dt, n_gt): transpose to our (n_gt, n_pred)
        ref = coco_mask.iou([rle(p) for p in preds], [rle(g) for g in gts], [0] * len(gts)).T
        np.testing.assert_allclose(out, ref, atol=1e-12)
        for i, g in enumerate(gts):
            for j, p in enumerate(preds):
                assert out[i, j] == pytest.approx(mask_iou(g, p), abs=1e-12)


def test_mask_iou_matrix_edges():
    empty = np.zeros((2, 3, 3), bool)
    np.testing.assert_array_equal(mask_iou_matrix(empty, empty), np.zeros((2, 2)))
    np.testing.assert_array_equal(mask_iou_matrix(empty, empty, empty_value=1.0), np.ones((2, 2)))
    assert mask_iou_matrix(np.zeros((0, 3, 3), bool), empty).shape == (0, 2)
    with pytest.raises(ValueError, match=r"\(2, 3, 3\).*\(2, 3, 4\)"):
        mask_iou_matrix(empty, np.zeros((2, 3, 4), bool))
    with pytest.raises(ValueError, match="gts shape"):
        mask_iou_matrix(np.zeros((3, 3), bool), empty)


# ---------------------------------------------------------------------------------- morphology


def test_window_sums_against_explicit_loop():
    rng = np.random.default_rng(2)
    a = rng.integers(0, 3, size=(4, 7))
    for lo, hi in [(-1, 1), (0, 0), (-3, 0), (2, 5), (-9, 9), (-2, -1), (8, 10)]:
        expected = np.zeros_like(a)
        for y in range(4):
            for x in range(7):
                expected[y, x] = sum(a[y, k] for k in range(x + lo, x + hi + 1) if 0 <= k < 7)
        np.testing.assert_array_equal(_window_sums(a, lo, hi, axis=1), expected)
        np.testing.assert_array_equal(_window_sums(a.T, lo, hi, axis=0), expected.T)


def opencv_style_erosion(mask: np.ndarray, iterations: int) -> np.ndarray:
    """An independent model of the API's erosion: copyMakeBorder(1, value 0), then `iterations`
    3x3 erosions where a neighbour outside the *padded* image is ignored (OpenCV's default erode
    border), then the crop back to the image."""
    cur = np.pad(mask, 1).astype(bool)
    hp, wp = cur.shape
    for _ in range(iterations):
        nxt = cur.copy()
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                shifted = np.ones_like(cur)  # outside the padded image: ignored (acts as 1)
                ys = slice(max(0, -dy), hp - max(0, dy))
                xs = slice(max(0, -dx), wp - max(0, dx))
                ys_src = slice(max(0, dy), hp - max(0, -dy))
                xs_src = slice(max(0, dx), wp - max(0, -dx))
                shifted[ys, xs] = cur[ys_src, xs_src]
                nxt &= shifted
        cur = nxt
    return cur[1:-1, 1:-1]


def test_square_erosion_equals_padded_iterated_3x3_erosion():
    """Why scipy/numpy reproduce cv2.erode(copyMakeBorder(..., 0), ones(3,3), iterations=d):
    the zero frame stays 0 through every pass, so each pass sees 0 just beyond the image, which
    is binary_erosion with border_value=0; and d passes of a 3x3 square are one (2d+1) square."""
    rng = np.random.default_rng(3)
    for _ in range(40):
        h, w = rng.integers(1, 25, size=2)
        m = random_masks(rng, 1, h, w)[0]
        for d in (1, 2, 3, 7):
            ours = _erode_square(m, d)
            np.testing.assert_array_equal(ours, opencv_style_erosion(m, d))
            scipy_ref = binary_erosion(m, np.ones((3, 3), bool), iterations=d, border_value=0)
            np.testing.assert_array_equal(ours, scipy_ref)


def test_boundary_band_hand_examples_and_rounding():
    full = np.ones((30, 40), bool)  # diagonal exactly 50
    # ratio 0.05 -> 2.5 -> Python round (half to even) -> 2: keeps rows 2..27, cols 2..37
    assert _boundary_band(full, 0.05).sum() == 30 * 40 - 26 * 36
    assert _boundary_band(full, 0.1).sum() == 30 * 40 - 20 * 30  # d = 5
    assert _boundary_band(full, 0.001).sum() == 30 * 40 - 28 * 38  # 0.05 -> 0 -> at least 1
    one = np.zeros((9, 9), bool)
    one[4, 4] = True
    np.testing.assert_array_equal(_boundary_band(one, 0.02), one)
    # the image border counts as an edge: a full 5x5 mask's band is its outer ring
    ring = np.ones((5, 5), bool)
    ring[1:4, 1:4] = False
    np.testing.assert_array_equal(_boundary_band(np.ones((5, 5), bool), 0.02), ring)


# ---------------------------------------------------------------------------------- boundary_iou


def test_boundary_iou_hand_examples():
    # 10x10: diagonal 14.1, 0.02 * 14.1 = 0.28 -> d = 1 -> bands are 1-pixel rings
    gt = np.zeros((10, 10), bool)
    gt[2:8, 2:8] = True  # ring of 20 px
    pred = np.zeros((10, 10), bool)
    pred[2:8, 3:9] = True  # same square one pixel right: rings share rows 2 and 7, cols 3..7
    assert boundary_iou(gt, pred) == pytest.approx(10 / 30, abs=1e-12)
    assert boundary_iou(gt, gt) == 1.0
    # masks touching the border: the full mask's band is the image's outer ring, which the
    # inner 4x4 square's ring does not touch
    full = np.ones((6, 6), bool)
    inner = np.zeros((6, 6), bool)
    inner[1:5, 1:5] = True
    assert boundary_iou(full, full) == 1.0
    assert boundary_iou(full, inner) == 0.0
    one = np.zeros((6, 6), bool)
    one[0, 5] = True
    assert boundary_iou(one, one) == 1.0
    assert boundary_iou(one, full) == pytest.approx(1 / 20)


def test_boundary_iou_empty_cases():
    empty = np.zeros((6, 7), bool)
    some = np.zeros((6, 7), bool)
    some[2:4, 2:5] = True
    assert boundary_iou(empty, empty) == 0.0
    assert boundary_iou(empty, empty, empty_value=1.0) == 1.0
    assert boundary_iou(empty, some) == 0.0
    assert boundary_iou(some, empty) == 0.0


def test_boundary_iou_matches_an_independent_formulation():
    """Bands from scipy's iterated erosion with a zero border, IoU from pycocotools (as the API's
    COCO evaluation scores boundaries)."""
    rng = np.random.default_rng(4)
    for _ in range(80):
        h, w = rng.integers(1, 50, size=2)
        g, p = random_masks(rng, 2, h, w)
        ratio = float(rng.choice([0.001, 0.02, 0.05, 0.1, 0.3]))
        d = max(1, int(round(ratio * np.sqrt(h**2 + w**2))))
        square = np.ones((3, 3), bool)
        bands = [m & ~binary_erosion(m, square, iterations=d, border_value=0) for m in (g, p)]
        assert boundary_iou(g, p, ratio) == pytest.approx(coco_iou(*bands), abs=1e-12)


def test_importing_metrics_is_light():
    code = "import sys, samkit.metrics; print('torch' in sys.modules, 'scipy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]

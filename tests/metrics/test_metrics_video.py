"""DAVIS 2017 metrics: jaccard, boundary_f, j_and_f and their helpers, on hand-derived cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.ndimage import binary_dilation
from skimage.morphology import disk as skimage_disk

from samkit.metrics import boundary_f, j_and_f, jaccard
from samkit.metrics.masks import _dilate, _disk
from samkit.metrics.video import _decay_bin_edges, _seg2bmap, davis_statistics


def pixels(shape, *coords) -> np.ndarray:
    m = np.zeros(shape, bool)
    for y, x in coords:
        m[y, x] = True
    return m


# ---------------------------------------------------------------------------------- jaccard


def test_jaccard_hand_examples_and_empty_rule():
    gt = np.array([[1, 1, 0, 0]], bool)
    pred = np.array([[1, 0, 1, 0]], bool)
    assert jaccard(gt, pred) == pytest.approx(1 / 3)
    empty = np.zeros((3, 4), bool)
    assert jaccard(empty, empty) == 1.0  # DAVIS: empty union scores 1 (pycocotools: 0)
    some = pixels((3, 4), (1, 1))
    assert jaccard(empty, some) == 0.0
    assert jaccard(some, empty) == 0.0
    full = np.ones((3, 4), bool)
    assert jaccard(full, full) == 1.0
    assert jaccard(full, some) == pytest.approx(1 / 12)


def test_jaccard_void_pixels_leave_both_intersection_and_union():
    gt = np.array([[1, 1, 0, 0]], bool)
    pred = np.array([[1, 0, 1, 0]], bool)
    assert jaccard(gt, pred, void=np.array([[0, 0, 1, 0]], bool)) == pytest.approx(1 / 2)
    assert jaccard(gt, pred, void=np.array([[1, 0, 0, 0]], bool)) == 0.0
    assert jaccard(gt, pred, void=np.ones((1, 4), bool)) == 1.0  # nothing left: empty union
    with pytest.raises(ValueError, match=r"void.*\(1, 4\).*\(1, 3\)"):
        jaccard(gt, pred, void=np.zeros((1, 3), bool))


# ---------------------------------------------------------------------------------- boundary map


def test_seg2bmap_single_pixels():
    # an interior pixel marks itself and its up, left and up-left neighbours (the half-pixel
    # offset towards the origin)
    np.testing.assert_array_equal(_seg2bmap(pixels((5, 6), (2, 3))), pixels((5, 6), (1, 2), (1, 3), (2, 2), (2, 3)))
    np.testing.assert_array_equal(_seg2bmap(pixels((5, 6), (0, 0))), pixels((5, 6), (0, 0)))
    # bottom-right corner pixel: never marks itself
    np.testing.assert_array_equal(_seg2bmap(pixels((5, 6), (4, 5))), pixels((5, 6), (3, 4), (3, 5), (4, 4)))


def test_seg2bmap_image_borders():
    assert not _seg2bmap(np.ones((5, 6), bool)).any()  # a full mask has no boundary
    assert not _seg2bmap(np.zeros((5, 6), bool)).any()
    left = np.zeros((5, 6), bool)
    left[:, :3] = True  # left half: the boundary is its last column, top to bottom
    expected = np.zeros((5, 6), bool)
    expected[:, 2] = True
    np.testing.assert_array_equal(_seg2bmap(left), expected)
    bottom = np.zeros((5, 6), bool)
    bottom[3:, :] = True  # bottom rows: the boundary is the row above them
    expected = np.zeros((5, 6), bool)
    expected[2, :] = True
    np.testing.assert_array_equal(_seg2bmap(bottom), expected)


# ---------------------------------------------------------------------------------- morphology


@pytest.mark.parametrize("radius", [0, 1, 2, 3, 4.0, 8.0, 1.5, 2.5, 3.7])
def test_disk_is_skimage_disk(radius):
    np.testing.assert_array_equal(_disk(radius), skimage_disk(radius).astype(bool))


def explicit_dilation(src: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """cv2.dilate's definition, pixel by pixel: out(y, x) = max over kernel(i, j) != 0 of
    src(y + i - kh//2, x + j - kw//2), pixels outside the image ignored (its default border)."""
    h, w = src.shape
    kh, kw = kernel.shape
    out = np.zeros_like(src, dtype=bool)
    for y in range(h):
        for x in range(w):
            for i, j in zip(*np.nonzero(kernel)):
                yy, xx = y + i - kh // 2, x + j - kw // 2
                if 0 <= yy < h and 0 <= xx < w and src[yy, xx]:
                    out[y, x] = True
                    break
    return out


def test_dilation_has_opencv_anchor_semantics():
    # An even 4x4 kernel whose only set element is (0, 0): the anchor is (2, 2), so a pixel moves
    # by (+2, +2) (what cv2.dilate does); a 3x3 one with (0, 0) set moves it by (+1, +1).
    src = pixels((9, 9), (4, 4))
    k4 = np.zeros((4, 4), bool)
    k4[0, 0] = True
    np.testing.assert_array_equal(_dilate(src, k4), pixels((9, 9), (6, 6)))
    k3 = np.zeros((3, 3), bool)
    k3[0, 0] = True
    np.testing.assert_array_equal(_dilate(src, k3), pixels((9, 9), (5, 5)))


def test_dilation_matches_explicit_definition_and_scipy():
    rng = np.random.default_rng(0)
    for _ in range(25):
        h, w = rng.integers(1, 16, size=2)
        src = rng.random((h, w)) < 0.15
        for kernel in (_disk(1), _disk(2), _disk(1.5), _disk(2.5), rng.random((3, 4)) < 0.5):
            if kernel.any():
                np.testing.assert_array_equal(_dilate(src, kernel), explicit_dilation(src, kernel))
        for r in (1, 2, 3):  # symmetric odd kernels: plain binary dilation with a 0 border
            np.testing.assert_array_equal(_dilate(src, _disk(r)), binary_dilation(src, _disk(r)))


# ---------------------------------------------------------------------------------- boundary_f


def test_boundary_f_empty_and_full_rules():
    empty = np.zeros((20, 20), bool)
    full = np.ones((20, 20), bool)
    some = np.zeros((20, 20), bool)
    some[5:10, 5:10] = True
    assert boundary_f(empty, empty) == 1.0  # no boundary on either side: P = R = 1
    assert boundary_f(some, empty) == 0.0  # empty prediction: P = 1, R = 0
    assert boundary_f(empty, some) == 0.0  # empty gt: P = 0, R = 1
    assert boundary_f(some, some) == 1.0
    # a full mask has no DAVIS boundary, so a full gt against an empty prediction scores 1
    assert boundary_f(full, empty) == 1.0
    assert boundary_f(full, full) == 1.0


def test_boundary_f_shifted_pixels_hand_derived():
    # 20x20: 0.008 * 28.28 = 0.23 -> radius 1 (a plus-shaped disk)
    gt = pixels((20, 20), (5, 5))  # boundary (4,4) (4,5) (5,4) (5,5)
    pred = pixels((20, 20), (5, 7))  # boundary (4,6) (4,7) (5,6) (5,7)
    # only the facing columns (5 and 6) are within 1 px of the other boundary: P = R = 1/2
    assert boundary_f(gt, pred) == pytest.approx(0.5)
    assert boundary_f(gt, pred, bound_th=2) == 1.0  # radius 2 reaches across
    # bound_th = 0.2 on 20x20 -> ceil(5.66) = 6 px
    assert boundary_f(gt, pred, bound_th=0.2) == 1.0


def test_boundary_f_even_disk_uses_opencv_anchor():
    # bound_th = 1.5 -> skimage disk(1.5) is 4x4 with its centre 2x2 set; with OpenCV's anchor
    # (2, 2) that dilates by offsets {-1, 0} x {-1, 0}, i.e. grows a boundary down and right only.
    gt = pixels((12, 12), (5, 5))  # boundary rows 4-5, cols 4-5
    pred = pixels((12, 12), (5, 6))  # boundary rows 4-5, cols 5-6
    # pred's dilation covers rows 4-6, cols 5-7: it catches 2 of gt's 4 boundary pixels (R = 1/2);
    # gt's dilation covers rows 4-6, cols 4-6: all of pred's (P = 1). F = 2 * 1 * 0.5 / 1.5.
    assert boundary_f(gt, pred, bound_th=1.5) == pytest.approx(2 / 3)
    assert boundary_f(gt, pred, bound_th=1) == 1.0  # the plus-shaped disk(1) is symmetric


def test_boundary_f_void_cuts_masks_before_taking_boundaries():
    full = np.ones((10, 10), bool)
    empty = np.zeros((10, 10), bool)
    top = np.zeros((10, 10), bool)
    top[:5] = True
    # full gt vs empty pred scores 1 (no boundaries); voiding the top half gives the gt a
    # boundary (row 4, 10 px) that the empty prediction misses: P = 1, R = 0, F = 0
    assert boundary_f(full, empty) == 1.0
    assert boundary_f(full, empty, void=top) == 0.0
    # an extra blob inside the void region does not count against the prediction
    gt = np.zeros((10, 10), bool)
    gt[6:9, 6:9] = True
    pred = gt.copy()
    pred[1:3, 1:3] = True
    assert boundary_f(gt, pred) < 1.0
    blob_void = np.zeros((10, 10), bool)
    blob_void[0:4, 0:4] = True
    assert boundary_f(gt, pred, void=blob_void) == 1.0


def test_boundary_f_matches_an_independent_formulation():
    """P/R rebuilt from the boundary maps with scipy's binary_dilation (odd integer disks only)."""
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[:40, :50]
    for _ in range(40):
        masks = []
        for _ in range(2):
            cy, cx, r = rng.uniform(-5, 45), rng.uniform(-5, 55), rng.uniform(1, 30)
            masks.append((yy - cy) ** 2 + (xx - cx) ** 2 < r * r)
        gt, pred = masks
        th = float(rng.choice([0.008, 0.03, 0.06]))
        radius = math.ceil(th * math.hypot(40, 50))
        gb, pb = _seg2bmap(gt), _seg2bmap(pred)
        if not gb.any() or not pb.any():
            continue
        selem = skimage_disk(radius).astype(bool)
        precision = (pb & binary_dilation(gb, selem)).sum() / pb.sum()
        recall = (gb & binary_dilation(pb, selem)).sum() / gb.sum()
        expected = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
        assert boundary_f(gt, pred, bound_th=th) == pytest.approx(expected, abs=1e-12)


def test_boundary_f_rejects_negative_threshold():
    with pytest.raises(ValueError, match="bound_th"):
        boundary_f(np.ones((3, 3), bool), np.ones((3, 3), bool), bound_th=-0.1)


# ---------------------------------------------------------------------------------- statistics


def test_decay_bin_edges_equal_the_toolkits_linspace_formula():
    # the toolkit: round(linspace(1, n, 5) + 1e-10) - 1 (valid while it fits its uint8 cast)
    for n in range(1, 256):
        expected = (np.round(np.linspace(1, n, 5) + 1e-10) - 1).astype(int).tolist()
        assert _decay_bin_edges(n) == expected, n
    assert _decay_bin_edges(4) == [0, 1, 2, 2, 3]
    assert _decay_bin_edges(300) == [0, 75, 150, 224, 299]  # where the toolkit's uint8 wraps


def testdavis_statistics_hand_examples():
    # n = 4: bins v[0:2] and v[2:4]
    m, r, d = davis_statistics(np.array([1.0, 0.8, 0.6, 0.4]))
    assert (m, r, d) == pytest.approx((0.7, 0.75, 0.9 - 0.5))
    # recall counts strictly > 0.5
    assert davis_statistics(np.array([0.5, 0.5, 0.6]))[1] == pytest.approx(1 / 3)
    # n = 5: bins v[0:2] and v[3:5]
    assert davis_statistics(np.array([0.0, 1.0, 0.3, 1.0, 0.0]))[2] == pytest.approx(0.5 - 0.5)
    assert davis_statistics(np.array([1.0, 1.0, 0.0, 0.2, 0.4]))[2] == pytest.approx(1.0 - 0.3)
    assert davis_statistics(np.array([0.7]))[2] == 0.0  # n = 1: both bins are v[0:1]
    assert davis_statistics(np.array([0.9, 0.2]))[2] == pytest.approx(0.7)  # n = 2: v[0] - v[1]
    assert all(math.isnan(v) for v in davis_statistics(np.array([])))


# ---------------------------------------------------------------------------------- j_and_f


def row_sequence(ks: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """gt: a 10-px row in a 5x12 frame; pred: its first k pixels, so J = k / 10."""
    gt = np.zeros((len(ks), 5, 12), bool)
    gt[:, 2, 1:11] = True
    pred = np.zeros_like(gt)
    for t, k in enumerate(ks):
        pred[t, 2, 1 : 1 + k] = True
    return gt, pred


def test_j_and_f_skips_first_and_last_frame_by_default():
    ks = [0, 10, 8, 6, 4, 0]  # scored frames 1..4: J = 1.0, 0.8, 0.6, 0.4
    gt, pred = row_sequence(ks)
    res = j_and_f(gt, pred)
    assert set(res) == {"J-Mean", "J-Recall", "J-Decay", "F-Mean", "F-Recall", "F-Decay", "J&F-Mean"}
    assert res["J-Mean"] == pytest.approx(0.7)
    assert res["J-Recall"] == pytest.approx(0.75)
    assert res["J-Decay"] == pytest.approx(0.4)
    f = np.array([boundary_f(gt[t], pred[t]) for t in range(1, 5)])
    assert f[0] == 1.0 and f[-1] < 1.0
    fm, fr, fd = davis_statistics(f)
    assert (res["F-Mean"], res["F-Recall"], res["F-Decay"]) == pytest.approx((fm, fr, fd))
    assert res["J&F-Mean"] == pytest.approx((0.7 + fm) / 2)


def test_j_and_f_all_frames():
    gt, pred = row_sequence([0, 10, 8, 6, 4, 0])
    res = j_and_f(gt, pred, skip_first_last=False)
    j = np.array([0.0, 1.0, 0.8, 0.6, 0.4, 0.0])
    # n = 6: edges (k * 5 + 2) // 4 = [0, 1, 3, 4, 5] -> bins v[0:2], v[4:6]
    assert res["J-Mean"] == pytest.approx(j.mean())
    assert res["J-Recall"] == pytest.approx(3 / 6)
    assert res["J-Decay"] == pytest.approx(0.5 - 0.2)
    assert res["F-Mean"] == pytest.approx(np.mean([boundary_f(g, p) for g, p in zip(gt, pred)]))


def test_j_and_f_too_few_frames_and_input_forms():
    gt, pred = row_sequence([3, 10])
    assert all(math.isnan(v) for v in j_and_f(gt, pred).values())  # nothing left after skipping
    res = j_and_f(list(gt), [p.astype(np.uint8).tolist() for p in pred], skip_first_last=False)
    assert res["J-Mean"] == pytest.approx(0.65)
    assert res["J-Decay"] == pytest.approx(0.3 - 1.0)
    assert res == j_and_f(gt, pred, skip_first_last=False)
    with pytest.raises(ValueError, match="2 frames.*1"):
        j_and_f(gt, pred[:1])
    with pytest.raises(ValueError, match=r"\(5, 12\).*\(5, 11\)"):
        j_and_f(list(gt), [pred[0], pred[1][:, :11]])
    with pytest.raises(ValueError, match="void_frames"):
        j_and_f(gt, pred, void_frames=gt[:1])


def test_j_and_f_void_frames():
    gt, pred = row_sequence([0, 5, 5, 0])
    void = np.zeros_like(gt)
    void[:, 2, 6:11] = True  # hide the part of the row the prediction misses
    res = j_and_f(gt, pred, void_frames=void)
    assert res["J-Mean"] == 1.0
    assert j_and_f(gt, pred)["J-Mean"] == pytest.approx(0.5)

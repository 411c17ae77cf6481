"""RITM click simulation (next_click) and NoC (noc), on hand-derived cases and brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest

from samkit.metrics import NoCResult, next_click, noc


def square(shape, y0, y1, x0, x1) -> np.ndarray:
    m = np.zeros(shape, bool)
    m[y0:y1, x0:x1] = True
    return m


EMPTY = np.zeros((10, 12), bool)


# ---------------------------------------------------------------------------------- next_click


def test_first_click_is_the_gt_pixel_farthest_from_the_boundary():
    gt = square((10, 12), 2, 7, 3, 8)  # 5x5 square, centre row 4, col 5, 3 px from outside
    assert next_click(gt, np.zeros_like(gt)) == (5, 4, True)


def test_coordinates_are_x_then_y():
    gt = np.zeros((4, 9), bool)
    gt[1, 6] = True  # a 1-pixel object at row 1, column 6
    assert next_click(gt, np.zeros_like(gt)) == (6, 1, True)


def test_ties_go_to_the_first_pixel_in_row_major_order():
    gt = square((8, 8), 1, 5, 1, 5)  # 4x4: its central 2x2 pixels are all 2 px from outside
    assert next_click(gt, np.zeros_like(gt)) == (2, 2, True)


def test_image_border_counts_as_boundary():
    # RITM pads with zeros, so the image edge bounds the object like background does
    assert next_click(np.ones((5, 5), bool), np.zeros((5, 5), bool)) == (2, 2, True)
    # 4x6 full: distance to the edge is min(y+1, 4-y, x+1, 6-x); 2 is first reached at (1, 1)
    assert next_click(np.ones((4, 6), bool), np.zeros((4, 6), bool)) == (1, 1, True)
    corner = np.zeros((5, 5), bool)
    corner[0, 0] = True
    assert next_click(corner, np.zeros((5, 5), bool)) == (0, 0, True)
    corner2 = np.zeros((5, 5), bool)
    corner2[4, 4] = True
    assert next_click(corner2, np.zeros((5, 5), bool)) == (4, 4, True)


def test_false_positive_region_gives_a_negative_click():
    gt = np.zeros((10, 12), bool)
    gt[0, 0] = True
    pred = gt | square((10, 12), 3, 8, 4, 9)  # a wrong 5x5 blob, centre (row 5, col 6)
    assert next_click(gt, pred) == (6, 5, False)


def test_equal_error_distances_give_a_negative_click():
    gt = square((5, 10), 1, 4, 1, 4)  # fn: 3x3 square centred at (2, 2)
    pred = square((5, 10), 1, 4, 6, 9)  # fp: 3x3 square centred at (2, 7); both maxima are 2
    assert next_click(gt, pred) == (7, 2, False)


def test_clicked_pixels_are_excluded():
    gt = square((5, 5), 1, 4, 1, 4)
    pred = np.zeros_like(gt)
    assert next_click(gt, pred) == (2, 2, True)
    # centre taken: every other square pixel is 1 px from outside; (1, 1) comes first
    assert next_click(gt, pred, [(2, 2, True)]) == (1, 1, True)
    assert next_click(gt, pred, [(2, 2), (1, 1)]) == (2, 1, True)


def test_no_error_left_gives_ritms_degenerate_click():
    gt = square((6, 6), 1, 4, 2, 5)
    assert next_click(gt, gt) == (0, 0, False)
    one = np.zeros((6, 6), bool)
    one[3, 3] = True
    assert next_click(one, np.zeros_like(one), [(3, 3, True)]) == (0, 0, False)


def test_ignore_pixels_are_never_errors():
    gt = square((5, 5), 1, 4, 1, 4)
    ignore = np.zeros_like(gt)
    ignore[2, 2] = True  # the centre is ignored: the false negatives are a 1-px ring
    assert next_click(gt, np.zeros_like(gt), ignore=ignore) == (1, 1, True)


def test_invalid_inputs():
    with pytest.raises(ValueError, match="empty"):
        next_click(EMPTY, EMPTY)
    with pytest.raises(ValueError, match="empty"):
        next_click(EMPTY, square((10, 12), 0, 2, 0, 2))
    gt = square((10, 12), 2, 5, 2, 5)
    with pytest.raises(ValueError, match=r"\(10, 12\).*\(12, 10\)"):
        next_click(gt, np.zeros((12, 10), bool))
    with pytest.raises(ValueError, match="outside"):
        next_click(gt, EMPTY, [(12, 0, True)])  # x == W
    with pytest.raises(ValueError, match="outside"):
        next_click(gt, EMPTY, [(-1, 0, True)])
    with pytest.raises(ValueError, match="integer"):
        next_click(gt, EMPTY, [(1.5, 2.0, True)])
    with pytest.raises(ValueError, match="ignore"):
        next_click(gt, EMPTY, ignore=np.zeros((3, 3), bool))


def brute_force_click(gt, pred, clicks, ignore):
    """RITM's rule from scratch: each error pixel's Euclidean distance to the nearest pixel that
    is not an error of its kind, where the one-pixel frame around the image counts as such."""
    h, w = gt.shape
    keep = ~ignore
    fn, fp = gt & ~pred & keep, ~gt & pred & keep
    ys, xs = np.mgrid[-1 : h + 1, -1 : w + 1]
    clicked = {(y, x) for x, y, *_ in clicks}

    def dist_map(err):
        padded = np.pad(err, 1)
        zy, zx = ys[~padded], xs[~padded]
        d = np.zeros((h, w), np.float32)
        for y, x in zip(*np.nonzero(err)):
            if (y, x) not in clicked:
                d[y, x] = np.float32(np.sqrt(np.min((zy - y) ** 2 + (zx - x) ** 2)))
        return d

    dfn, dfp = dist_map(fn), dist_map(fp)
    positive = dfn.max() > dfp.max()
    chosen = dfn if positive else dfp
    best = chosen.max()
    for y in range(h):
        for x in range(w):
            if chosen[y, x] == best:
                return x, y, bool(positive)


def test_next_click_matches_brute_force_on_random_cases():
    rng = np.random.default_rng(0)
    checked = 0
    while checked < 120:
        h, w = rng.integers(1, 14, size=2)
        gt = rng.random((h, w)) < rng.uniform(0.2, 0.9)
        if not gt.any():
            continue
        pred = rng.random((h, w)) < rng.uniform(0.0, 0.9)
        ignore = rng.random((h, w)) < 0.1 if rng.random() < 0.3 else np.zeros((h, w), bool)
        n_clicks = int(rng.integers(0, 4))
        clicks = [(int(rng.integers(0, w)), int(rng.integers(0, h)), True) for _ in range(n_clicks)]
        assert next_click(gt, pred, clicks, ignore=ignore) == brute_force_click(gt, pred, clicks, ignore)
        checked += 1


def test_click_loop_visits_error_pixels_in_distance_then_row_major_order():
    """A RITM-style loop where each click fixes its own pixel: centre first, then the ring."""
    gt = square((5, 5), 1, 4, 1, 4)
    pred = np.zeros_like(gt)
    clicks: list[tuple[int, int, bool]] = []
    for _ in range(9):
        x, y, positive = next_click(gt, pred, clicks)
        clicks.append((x, y, positive))
        pred[y, x] = positive
    ring = [(1, 1), (2, 1), (3, 1), (1, 2), (3, 2), (1, 3), (2, 3), (3, 3)]
    assert clicks == [(2, 2, True)] + [(x, y, True) for x, y in ring]
    assert (pred == gt).all()
    assert next_click(gt, pred, clicks) == (0, 0, False)


# ---------------------------------------------------------------------------------- noc


def test_noc_hand_example():
    res = noc([[0.5, 0.86, 0.9], [0.9], [0.1, 0.2]], threshold=0.85)
    assert isinstance(res, NoCResult)
    assert res.per_object == (2, 1, 20)
    assert res.mean == pytest.approx(23 / 3)
    assert res.failures == 1
    assert res.over_max == 1


def test_noc_threshold_is_inclusive():
    assert noc([[0.84999, 0.85]], 0.85).per_object == (2,)
    assert noc([[0.9]], 0.9).per_object == (1,)


def test_noc_reaching_at_the_last_click_is_not_a_failure_but_is_over_max():
    seq = [0.0] * 19 + [0.95]
    res = noc([seq], 0.9, max_clicks=20)
    assert res.per_object == (20,)
    assert res.failures == 0
    assert res.over_max == 1  # RITM's ">=20" column counts it


def test_noc_counts_only_the_first_max_clicks():
    seq = [0.0] * 21 + [0.95]  # reached at click 22 > max_clicks: RITM never simulates that click
    res = noc([seq, [0.1]], 0.9, max_clicks=20)
    assert res.per_object == (20, 20)
    assert res.failures == 2
    assert res.over_max == 2


def test_noc_edge_cases():
    res = noc([], 0.85)
    assert math.isnan(res.mean) and res.failures == 0 and res.over_max == 0 and res.per_object == ()
    res = noc([[], [float("nan"), 0.9]], 0.85, max_clicks=5)
    assert res.per_object == (5, 2)  # an empty sequence never reaches; NaN never counts
    assert res.failures == 1
    assert res.mean == pytest.approx(3.5)
    assert noc(np.array([[0.1, 0.95], [0.95, 0.1]]), 0.9).per_object == (2, 1)
    with pytest.raises(ValueError, match=r"ious\[0\]"):
        noc([[[0.5]]], 0.5)


def test_noc_matches_a_plain_loop_on_random_curves():
    rng = np.random.default_rng(1)
    for _ in range(200):
        levels = [0.5, 0.8, 0.85, 0.9, 1.0]
        curves = [rng.choice(levels, size=rng.integers(0, 25)) for _ in range(rng.integers(1, 6))]
        thr, max_clicks = float(rng.choice([0.8, 0.85, 0.9])), int(rng.choice([5, 20]))
        expected = []
        for curve in curves:
            n = max_clicks
            for k, v in enumerate(curve[:max_clicks]):
                if v >= thr:
                    n = k + 1
                    break
            expected.append(n)
        res = noc(curves, thr, max_clicks)
        assert res.per_object == tuple(expected)
        assert res.mean == pytest.approx(np.mean(expected))
        assert res.over_max == expected.count(max_clicks)
        assert res.failures == sum(1 for c in curves if not np.any(np.asarray(c)[:max_clicks] >= thr))

"""mask_ar: hand-computed cases from COCOeval's definition and a cross-check with COCOeval.summarize."""

from __future__ import annotations

import contextlib
import io
import math

import numpy as np
import pytest
import torch

from samkit.metrics.proposals import mask_ar

H = W = 32


def box(y0: int, x0: int, y1: int, x1: int, h: int = H, w: int = W) -> np.ndarray:
    m = np.zeros((h, w), dtype=bool)
    m[y0:y1, x0:x1] = True
    return m


def rec(mask, predicted_iou: float = 0.9, stability_score: float = 0.9) -> dict:
    return {"segmentation": mask, "predicted_iou": predicted_iou, "stability_score": stability_score}


A = box(0, 0, 10, 10)  # 100 pixels
B = box(20, 20, 30, 30)  # 100 pixels, disjoint from A
C = box(0, 20, 8, 30)  # 80 pixels, disjoint from A and B
NOWHERE = box(12, 0, 18, 6)  # disjoint from A, B, C


def first_pixels(mask: np.ndarray, n: int) -> np.ndarray:
    """The first n pixels of ``mask`` in raster order (a subset: IoU with mask = n / area)."""
    out = np.zeros_like(mask)
    ys, xs = np.nonzero(mask)
    out[ys[:n], xs[:n]] = True
    return out


def test_perfect_predictions_give_ar_one():
    gt = [np.stack([A, B, C])]
    preds = [[rec(A, 0.9), rec(B, 0.8), rec(C, 0.7)]]
    out = mask_ar(gt, preds)
    assert out["AR@10"] == out["AR@100"] == out["AR@1000"] == 1.0
    assert out["AR@1"] == pytest.approx(1 / 3)  # one detection allowed, three objects
    assert out["AR_small@1000"] == 1.0  # all three are < 32**2 pixels
    assert math.isnan(out["AR_medium@1000"]) and math.isnan(out["AR_large@1000"])  # no gt there


def test_all_wrong_predictions_give_ar_zero():
    gt = [np.stack([A, B])]
    preds = [[rec(NOWHERE, 0.9), rec(C, 0.8)]]
    out = mask_ar(gt, preds)
    assert all(out[k] == 0.0 for k in ("AR@1", "AR@10", "AR@100", "AR@1000"))


@pytest.mark.parametrize("n_pixels, thresholds_met", [(78, 6), (52, 1), (74, 5), (97, 10), (40, 0)])
def test_hand_computed_partial_match(n_pixels, thresholds_met):
    # gt A (100 px) is predicted by a subset of n px: IoU = n/100. COCO matches at thresholds
    # 0.50, 0.55, ..., 0.95 with IoU >= t, so e.g. IoU 0.78 is recalled at 6 of 10 thresholds.
    # B is never predicted. Recall per threshold = matched / 2 objects, so AR = 0.5 * met / 10.
    gt = [np.stack([A, B])]
    preds = [[rec(first_pixels(A, n_pixels))]]
    out = mask_ar(gt, preds, max_dets=(1, 100))
    assert out["AR@1"] == pytest.approx(0.5 * thresholds_met / 10)
    assert out["AR@100"] == pytest.approx(0.5 * thresholds_met / 10)


def test_max_dets_keeps_only_the_highest_scores():
    gt = [np.stack([A, B])]
    right_first = [[rec(A, 0.9), rec(B, 0.8)]]
    out = mask_ar(gt, right_first, max_dets=(1, 2, 10))
    assert (out["AR@1"], out["AR@2"], out["AR@10"]) == (0.5, 1.0, 1.0)

    wrong_first = [[rec(A, 0.5), rec(NOWHERE, 0.9)]]
    out = mask_ar(gt, wrong_first, max_dets=(1, 10))
    assert (out["AR@1"], out["AR@10"]) == (0.0, 0.5)


def test_max_dets_are_sorted_and_deduplicated():
    gt = [np.stack([A, B])]
    out = mask_ar(gt, [[rec(A, 0.9), rec(B, 0.8)]], max_dets=(10, 1, 10))
    assert list(out)[:2] == ["AR@1", "AR@10"] and out["AR@1"] == 0.5


def test_score_key_chooses_the_ranking():
    gt = [np.stack([A, B])]
    preds = [[rec(NOWHERE, predicted_iou=0.9, stability_score=0.1), rec(A, predicted_iou=0.2, stability_score=0.95)]]
    assert mask_ar(gt, preds, max_dets=(1,))["AR@1"] == 0.0
    assert mask_ar(gt, preds, max_dets=(1,), score_key="stability_score")["AR@1"] == 0.5
    with pytest.raises(KeyError, match="area"):
        mask_ar(gt, preds, score_key="area")


def test_images_with_empty_predictions():
    gt = [np.stack([A, B]), np.stack([A, C])]
    out = mask_ar(gt, [[rec(A), rec(B)], []])
    assert out["AR@100"] == 0.5  # 2 of 4 objects, at every threshold
    out = mask_ar(gt, [[], []])  # no predictions at all
    assert out["AR@1"] == out["AR@1000"] == 0.0


def test_images_without_gt():
    # predictions on an image without gt are false positives and do not change recall
    gt = [np.stack([A]), np.zeros((0, H, W), bool), []]
    out = mask_ar(gt, [[rec(A)], [rec(B)], [rec(C)]])
    assert out["AR@100"] == 1.0
    # nothing to recall anywhere: NaN (COCOeval's -1), not an invented 0 or 1
    out = mask_ar([np.zeros((0, H, W), bool)], [[rec(A)]])
    assert all(math.isnan(v) for v in out.values())


def test_crowd_gt_is_not_an_object_to_recall():
    gt = [np.stack([A, B])]
    out = mask_ar(gt, [[rec(A, 0.9)]], gt_iscrowd_per_image=[[False, True]])
    assert out["AR@100"] == 1.0
    out = mask_ar(gt, [[rec(A, 0.9)]], gt_iscrowd_per_image=[[False, False]])
    assert out["AR@100"] == 0.5


def test_json_areas_decide_the_size_ranges_as_in_cocoeval():
    """A COCO json's ``area`` (not the pixel count) puts an object in a size range; AR@k is unchanged."""
    gt = [np.stack([A, B])]  # 100 pixels each: small by their pixels
    preds = [[rec(A, 0.9), rec(B, 0.8)]]
    by_pixels = mask_ar(gt, preds)
    by_json = mask_ar(gt, preds, gt_areas_per_image=[[100.0, 2000.0]])  # B "medium" by its json area
    assert by_pixels["AR_small@1000"] == 1.0 and math.isnan(by_pixels["AR_medium@1000"])
    assert by_json["AR_small@1000"] == by_json["AR_medium@1000"] == 1.0
    assert by_json["AR@100"] == by_pixels["AR@100"] == 1.0
    with pytest.raises(ValueError, match="1 areas for 2 gt masks"):
        mask_ar(gt, preds, gt_areas_per_image=[[100.0]])


def test_rle_segmentations_match_bool_masks():
    from segment_anything.utils.amg import coco_encode_rle, mask_to_rle_pytorch

    gt = [np.stack([A, B, C])]
    masks = [first_pixels(A, 78), B, NOWHERE]
    scores = [0.5, 0.9, 0.7]
    uncompressed = mask_to_rle_pytorch(torch.from_numpy(np.stack(masks)))
    expected = mask_ar(gt, [[rec(m, s) for m, s in zip(masks, scores)]])
    as_uncompressed = mask_ar(gt, [[rec(r, s) for r, s in zip(uncompressed, scores)]])
    as_coco = mask_ar(gt, [[rec(coco_encode_rle(r), s) for r, s in zip(uncompressed, scores)]])
    assert as_uncompressed == pytest.approx(expected, nan_ok=True)
    assert as_coco == pytest.approx(expected, nan_ok=True)
    assert expected["AR@1"] == pytest.approx(1 / 3)  # B ranks first
    assert expected["AR@100"] == pytest.approx((1 + 0.6) / 3)


def test_input_validation():
    gt = [np.stack([A])]
    with pytest.raises(ValueError, match="prediction images"):
        mask_ar(gt, [])
    with pytest.raises(ValueError, match="max_dets"):
        mask_ar(gt, [[rec(A)]], max_dets=(0, 10))
    with pytest.raises(ValueError, match="does not match"):
        mask_ar(gt, [[rec(np.zeros((H, W + 1), bool))]])
    with pytest.raises(ValueError, match="crowd flags"):
        mask_ar(gt, [[rec(A)]], gt_iscrowd_per_image=[[False, True]])


def random_scene(rng: np.random.Generator, h: int, w: int, n: int) -> np.ndarray:
    """n random boxes of very different sizes (small, medium and large COCO bins)."""
    out = np.zeros((n, h, w), dtype=bool)
    sides = [(4, 28), (36, 90), (100, min(h, w))]  # small, medium, large boxes
    for i in range(n):
        lo, hi = sides[i % 3]
        bh, bw = rng.integers(lo, hi, size=2)
        y0, x0 = rng.integers(0, h - bh + 1), rng.integers(0, w - bw + 1)
        out[i, y0 : y0 + bh, x0 : x0 + bw] = True
    return out


def test_agrees_with_cocoeval_summarize():
    """Against pycocotools used the ordinary way (loadRes + summarize) on a random scene set."""
    from pycocotools import mask as mask_utils
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    rng = np.random.default_rng(0)
    h, w = 140, 150
    gts, preds = [], []
    for _ in range(6):
        gt = random_scene(rng, h, w, int(rng.integers(2, 8)))
        jittered = [np.roll(g, tuple(rng.integers(-2, 3, size=2)), axis=(0, 1)) for g in gt]
        noise = list(random_scene(rng, h, w, int(rng.integers(0, 20))))
        masks = jittered[: int(rng.integers(0, len(jittered) + 1))] + noise
        gts.append(gt)
        preds.append([rec(m, float(rng.random())) for m in masks])
    ours = mask_ar(gts, preds, max_dets=(1, 10, 100))

    images = [{"id": i + 1, "height": h, "width": w} for i in range(len(gts))]
    anns = []
    for i, gt in enumerate(gts):
        for g in gt:
            rle = mask_utils.encode(np.asfortranarray(g.astype(np.uint8)))
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": i + 1,
                    "category_id": 1,
                    "iscrowd": 0,
                    "segmentation": rle,
                    "area": float(g.sum()),
                }
            )
    results = [
        {
            "image_id": i + 1,
            "category_id": 1,
            "score": r["predicted_iou"],
            "segmentation": mask_utils.encode(np.asfortranarray(r["segmentation"].astype(np.uint8))),
        }
        for i, p in enumerate(preds)
        for r in p
    ]
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = {"images": images, "annotations": anns, "categories": [{"id": 1}]}
        coco_gt.createIndex()
        evaluator = COCOeval(coco_gt, coco_gt.loadRes(results), "segm")
        evaluator.params.useCats = 0
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    stats = evaluator.stats  # [6:9] AR@1, @10, @100; [9:12] small, medium, large @100
    assert 0 < stats[8] < 1 and stats[9] > 0 and stats[10] > 0 and stats[11] > 0
    expected = dict(zip(["AR@1", "AR@10", "AR@100", "AR_small@100", "AR_medium@100", "AR_large@100"], stats[6:12]))
    assert ours == pytest.approx(expected, abs=1e-12)

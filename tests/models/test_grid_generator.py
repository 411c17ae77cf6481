"""samkit's own automatic mask generator (`GridMaskGenerator`) against segment-anything's.

The same MobileSAM model (random weights) runs through GridMaskGenerator and through the
upstream ``mobile_sam.SamAutomaticMaskGenerator`` and the records must match one to one: with
open quality thresholds on the plain random model (stippled masks), and on the model given
structure by `disk_masks` (disks around the clicked point) so that the filters, NMS, crop-edge
rule and small-region clean-up all have something to do. The helpers are checked against
segment-anything's ``utils.amg`` functions.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from samkit.models.base import Segmenter
from samkit.models.grid_generator import (
    GridMaskGenerator,
    crop_boxes,
    layer_point_grids,
    mask_boxes,
    masks_to_rle,
    remove_small_regions,
    rle_area,
    rle_to_mask,
    stability_score,
)
from samkit.models.mobile_sam import MobileSamSegmenter
from samkit.testing import disk_masks

amg = pytest.importorskip("segment_anything.utils.amg")

AMG_KEYS = {"segmentation", "area", "bbox", "predicted_iou", "point_coords", "stability_score", "crop_box"}
#: random weights: every mask survives the quality filters and box_nms_thresh=1 keeps all of them
OPEN = dict(points_per_side=2, pred_iou_thresh=0.0, stability_score_thresh=0.0, box_nms_thresh=1.0)
#: disk masks (see `disk_masks`): every candidate passes, box NMS keeps about one disk per point
DISKS = dict(points_per_side=4, pred_iou_thresh=0.0, stability_score_thresh=0.0, box_nms_thresh=0.1)
#: crops (edge filter, NMS across crops), quality filters, small-region clean-up and COCO RLE
CROPPED = dict(
    points_per_side=2,
    pred_iou_thresh=0.05,
    stability_score_thresh=0.6,
    crop_n_layers=1,
    min_mask_region_area=30,
    output_mode="coco_rle",
)


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    """scikit-image's astronaut resized to 120x180 (HxWx3 uint8 RGB)."""
    import skimage.data
    import skimage.transform

    small = skimage.transform.resize(skimage.data.astronaut(), (120, 180), anti_aliasing=True, preserve_range=True)
    return small.round().astype(np.uint8)


@pytest.fixture(scope="module")
def mobile(random_model):
    return random_model("mobile_sam")


def _upstream(model, image, **params):
    return model._upstream_mask_generator_class()(model.model, **params).generate(image)


def _mask(seg) -> np.ndarray:
    if isinstance(seg, np.ndarray):
        return seg
    from pycocotools import mask as mask_utils

    return mask_utils.decode({"size": seg["size"], "counts": seg["counts"].encode()}).astype(bool)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else np.logical_and(a, b).sum() / union


def _assert_same_records(ours, theirs, *, min_iou=0.99):
    assert len(ours) == len(theirs) > 0
    for a, b in zip(ours, theirs):
        assert set(a) == AMG_KEYS
        assert _iou(_mask(a["segmentation"]), _mask(b["segmentation"])) >= min_iou
        assert a["crop_box"] == b["crop_box"]
        np.testing.assert_allclose(a["bbox"], b["bbox"], atol=1)
        np.testing.assert_allclose(a["area"], b["area"], rtol=0.01)
        np.testing.assert_allclose(a["point_coords"], b["point_coords"], rtol=1e-9)
        np.testing.assert_allclose(a["predicted_iou"], b["predicted_iou"], atol=1e-4)
        np.testing.assert_allclose(a["stability_score"], b["stability_score"], atol=1e-3)


# --------------------------------------------------------------------------- against upstream
def test_random_weights_match_the_upstream_generator(mobile, astronaut):
    ours = GridMaskGenerator(mobile, **OPEN).generate(astronaut)
    assert len(ours) == 12  # 4 points x 3 candidates, none dropped
    _assert_same_records(ours, _upstream(mobile, astronaut, **OPEN))
    first = ours[0]["segmentation"]
    assert first.shape == (120, 180) and first.dtype == bool
    assert all(isinstance(v, int) for v in [*ours[0]["bbox"], ours[0]["area"], *ours[0]["crop_box"]])


@pytest.fixture(scope="module")
def disk_records(mobile, astronaut):
    """Batched-hook and upstream records of the disk-structured model with `DISKS`."""
    with disk_masks(mobile.model):
        return (GridMaskGenerator(mobile, **DISKS).generate(astronaut), _upstream(mobile, astronaut, **DISKS))


def test_disk_masks_match_the_upstream_generator(disk_records):
    ours, theirs = disk_records
    assert 16 <= len(ours) < 48  # NMS dropped overlapping candidates
    _assert_same_records(ours, theirs)
    assert all(r["area"] < 3000 for r in ours)


def test_disk_masks_iou_offset_shifts_the_predicted_ious(mobile, astronaut):
    mobile.set_image(astronaut)
    point = dict(point_coords=[[90, 60]], point_labels=[1])
    with disk_masks(mobile.model):
        _, default, _ = mobile.predict(**point)
    with disk_masks(mobile.model, iou_offset=0.25):
        masks, lower, _ = mobile.predict(**point)
    np.testing.assert_allclose(default - lower, 0.6, atol=1e-5)  # IOU_OFFSET 0.85 - 0.25
    assert masks.any(axis=(1, 2)).all()  # still disks


@pytest.mark.slow  # 10 encoder passes (5 crops, twice); crop boxes alone are tested by default
def test_crops_filters_small_regions_and_coco_rle_match_upstream(mobile, astronaut):
    with disk_masks(mobile.model):
        ours = GridMaskGenerator(mobile, **CROPPED).generate(astronaut)
        theirs = _upstream(mobile, astronaut, **CROPPED)
    _assert_same_records(ours, theirs)
    assert {tuple(r["crop_box"]) for r in ours} > {(0, 0, 180, 120)}  # masks from the crops too
    assert all(isinstance(r["segmentation"]["counts"], str) for r in ours)
    assert all(r["segmentation"]["size"] == [120, 180] for r in ours)


def test_the_batched_and_looping_hooks_give_the_fast_decoders_records(mobile, astronaut, disk_records, monkeypatch):
    """Families without a fast grid decoder go through ``_predict_logits_batch`` (one batched
    predict, or the default loop of `predict`): the same records."""
    monkeypatch.setattr(MobileSamSegmenter, "_grid_decode", lambda self, points, multimask: None)
    with disk_masks(mobile.model):
        batched = GridMaskGenerator(mobile, **DISKS).generate(astronaut)
    _assert_same_records(batched, disk_records[0])
    monkeypatch.setattr(MobileSamSegmenter, "_predict_logits_batch", Segmenter._predict_logits_batch)
    with disk_masks(mobile.model):
        looped = GridMaskGenerator(mobile, **DISKS).generate(astronaut)
    _assert_same_records(looped, disk_records[0])


def test_batched_hook_matches_predict(mobile, photo):
    mobile.set_image(photo)
    points = np.array([[[10.5, 20.0]], [[90.0, 60.0]], [[170.0, 110.0]]])
    labels = np.ones((3, 1), dtype=np.int32)
    logits, scores = mobile._predict_logits_batch(points, labels, True)
    base_logits, base_scores = Segmenter._predict_logits_batch(mobile, points, labels, True)
    assert logits.shape == (3, 3, 120, 180) and scores.shape == (3, 3)
    assert logits.dtype == scores.dtype == torch.float32
    torch.testing.assert_close(logits, base_logits, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(scores, base_scores, atol=1e-5, rtol=1e-5)
    single, _ = mobile._predict_logits_batch(points, labels, False)
    assert single.shape == (3, 1, 120, 180)


# --------------------------------------------------------------------------- through Segmenter.generate
@pytest.fixture
def grid_mobile(mobile, monkeypatch):
    """MobileSAM as a family without an upstream generator (returns GridMaskGenerator)."""
    monkeypatch.setattr(MobileSamSegmenter, "_mask_generator_class", lambda self: GridMaskGenerator)
    return mobile


def test_generate_passes_the_segmenter_and_leaves_the_image_alone(grid_mobile, photo, astronaut):
    grid_mobile.set_image(photo)
    before = grid_mobile.predict(point_coords=[[90, 60]], point_labels=[1])
    # layer-1 crops get int(1 / 2) = 0 points: skipped (upstream's generator fails on them)
    records = grid_mobile.generate(
        astronaut[:64, :96],
        points_per_side=1,
        pred_iou_thresh=0.0,
        stability_score_thresh=0.0,
        output_mode="uncompressed_rle",
        crop_n_layers=1,
        crop_n_points_downscale_factor=2,
    )
    assert len(records) > 0 and set(records[0]) == AMG_KEYS
    assert all(r["crop_box"] == [0, 0, 96, 64] for r in records)
    assert records[0]["segmentation"]["size"] == [64, 96]
    assert rle_area(records[0]["segmentation"]) == records[0]["area"]
    assert grid_mobile.original_size == (120, 180)
    after = grid_mobile.predict(point_coords=[[90, 60]], point_labels=[1])
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)


def test_generate_rejects_unknown_parameters_naming_the_accepted_ones(grid_mobile, photo):
    with pytest.raises(
        TypeError,
        match=r"\['points_per_sid'\].*GridMaskGenerator parameters are: "
        r"points_per_side, points_per_batch",
    ):
        grid_mobile.generate(photo, points_per_sid=4)
    with pytest.raises(TypeError, match="segmenter"):
        grid_mobile.generate(photo, segmenter=None)


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(points_per_side=None), "exactly one of points_per_side and point_grids"),
        (dict(point_grids=[np.full((4, 2), 0.5)]), "exactly one of points_per_side and point_grids"),
        (dict(points_per_side=None, point_grids=[np.full((4, 2), 0.5)], crop_n_layers=1), "needs one per layer"),
        (dict(points_per_side=None, point_grids=[np.ones((4, 3))]), r"\(N, 2\) array"),
        (dict(output_mode="png"), "output_mode must be one of"),
        (dict(points_per_batch=0), "points_per_batch"),
    ],
)
def test_bad_parameters_are_clear_errors(mobile, params, message):
    with pytest.raises(ValueError, match=message):
        GridMaskGenerator(mobile, **params)


def test_sibling_shares_the_module_not_the_image(mobile):
    sibling = mobile._sibling()
    assert type(sibling) is type(mobile) and sibling.model is mobile.model
    assert sibling.weights == mobile.weights and sibling.dtype == mobile.dtype
    assert sibling._predictor is not mobile._predictor and not sibling.is_image_set


# --------------------------------------------------------------------------- helpers vs segment-anything
def test_grids_and_crop_boxes_match_upstream():
    for n, layers, factor in [(32, 0, 1), (4, 2, 2), (7, 1, 1), (16, 3, 2)]:
        ours = layer_point_grids(n, layers, factor)
        theirs = amg.build_all_layer_point_grids(n, layers, factor)
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            np.testing.assert_array_equal(a, b)
    for hw in [(120, 180), (1500, 2250), (333, 101)]:
        for layers in (0, 1, 2):
            assert crop_boxes(hw, layers, 512 / 1500) == amg.generate_crop_boxes(hw, layers, 512 / 1500)


def test_mask_helpers_match_upstream():
    gen = torch.Generator().manual_seed(0)
    masks = torch.rand(6, 13, 17, generator=gen) > 0.6
    masks[1] = False
    masks[2] = True
    masks[3, 4:9, 2:5] = True
    ours, theirs = masks_to_rle(masks), amg.mask_to_rle_pytorch(masks)
    assert ours == theirs
    for rle, mask in zip(ours, masks.numpy()):
        np.testing.assert_array_equal(rle_to_mask(rle), mask)
        assert rle_area(rle) == amg.area_from_rle(rle) == mask.sum()
    torch.testing.assert_close(mask_boxes(masks), amg.batched_mask_to_box(masks).to(torch.int64))
    logits = torch.randn(6, 13, 17, generator=gen) * 2
    torch.testing.assert_close(
        stability_score(logits, 1.0), amg.calculate_stability_score(logits, 0.0, 1.0), equal_nan=True
    )


def test_remove_small_regions_matches_upstream():
    rng = np.random.default_rng(0)
    mask = np.zeros((40, 50), dtype=bool)
    mask[5:30, 5:30] = True
    mask[10:12, 10:12] = False  # a small hole
    mask[35:37, 40:43] = True  # a small island
    stippled = rng.random((40, 50)) > 0.7  # only small islands: the largest is kept
    for m in (mask, stippled, np.zeros((40, 50), dtype=bool)):
        for mode in ("holes", "islands"):
            ours, changed = remove_small_regions(m, 20, mode)
            theirs, upstream_changed = amg.remove_small_regions(m, 20, mode)
            assert changed == upstream_changed
            np.testing.assert_array_equal(ours, theirs)

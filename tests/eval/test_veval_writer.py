"""SA-Co/VEval prediction entries (`samkit.eval._veval_writer`): the fields sam3's video evaluators
read (``video_id``, ``category_id``, ``score``, per-frame ``segmentations`` / ``bboxes`` /
``areas``), decoded back to the masks they came from. Boxes follow sam3's writer:
``torchvision.ops.masks_to_boxes`` (inclusive last row / column) as XYWH, ``[0, 0, 0, 0]`` and an
empty RLE where a masklet has no pixels (as in sam3's ``toy_saco_veval_sav_test_pred.json``)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from pycocotools import mask as mask_utils
from torchvision.ops import masks_to_boxes

from samkit.errors import ParameterError
from samkit.eval._veval_writer import veval_box, veval_entries, write_veval_predictions
from samkit.video.masklets import ConceptObject, Masklet, Masklets, collect_masklets

T, H, W = 4, 30, 40


def _masklets() -> Masklets:
    rng = np.random.default_rng(3)
    blob = np.zeros((H, W), bool)
    blob[5:12, 7:20] = True
    speckle = rng.random((H, W)) > 0.8
    one_pixel = np.zeros((H, W), bool)
    one_pixel[29, 39] = True
    stream = [
        (0, {0: blob, 4: speckle}),
        (1, {0: np.roll(blob, 3, axis=1), 4: np.zeros((H, W), bool)}),
        (2, {4: one_pixel}),
    ]
    info = {0: ConceptObject("a cat", 0.8, 0), 4: ConceptObject("a dog", 0.3, 0)}
    scores = {0: {0: 0.8, 4: 0.3}, 1: {0: 0.6}}
    return collect_masklets(
        stream,
        info,
        size=(H, W),
        num_frames=T,
        weights="random(seed=0)",
        random_weights=True,
        method="test",
        frame_scores=scores,
    )


def test_entries_decode_back_to_the_masklets(tmp_path):
    masklets = _masklets()
    assert masklets.obj_ids == [0, 4] and masklets.phrases == ["a cat", "a dog"]
    assert masklets[0].frames == [0, 1] and masklets[4].frames == [0, 1, 2]
    assert masklets[0].frame_scores == {0: 0.8, 1: 0.6} and masklets[4].frame_scores == {0: 0.3}
    entries = veval_entries(masklets, 12, {"a cat": 5, "a dog": 9, "unused": 1})
    assert [(e["video_id"], e["category_id"], e["score"]) for e in entries] == [(12, 5, 0.8), (12, 9, 0.3)]
    for entry, masklet in zip(entries, masklets):
        assert set(entry) == {"video_id", "category_id", "score", "segmentations", "bboxes", "areas"}
        assert len(entry["segmentations"]) == len(entry["bboxes"]) == len(entry["areas"]) == T
        for t in range(T):
            rle, box, area = entry["segmentations"][t], entry["bboxes"][t], entry["areas"][t]
            mask = masklet.mask(t, (H, W))
            assert rle["size"] == [H, W] and isinstance(rle["counts"], str)
            np.testing.assert_array_equal(mask_utils.decode({**rle, "counts": rle["counts"].encode()}), mask)
            assert area == int(mask.sum()) and isinstance(area, int)
            if mask.any():
                x0, y0, x1, y1 = masks_to_boxes(torch.from_numpy(mask)[None])[0].tolist()
                assert box == [x0, y0, x1 - x0, y1 - y0]
            else:
                assert box == [0, 0, 0, 0] and area == 0
    assert entries[1]["bboxes"][2] == [39, 29, 0, 0]  # one pixel: w = h = 0, as sam3 writes it
    path = write_veval_predictions(tmp_path / "preds" / "pred.json", entries)
    assert json.loads(path.read_text()) == entries


def test_per_frame_scores_and_bad_arguments():
    masklets = _masklets()
    entries = veval_entries(masklets, 0, {"a cat": 1, "a dog": 2}, per_frame_scores=True)
    assert entries[0]["per_frame_scores"] == [0.8, 0.6, 0.0, 0.0]
    with pytest.raises(ParameterError, match=r"no category for the phrases \['a dog'\]"):
        veval_entries(masklets, 0, {"a cat": 1})
    with pytest.raises(ParameterError, match="video_id must be an int"):
        veval_entries(masklets, "v0", {"a cat": 1, "a dog": 2})
    empty = Masklets((H, W), T, {}, "random(seed=0)", True, "test")
    assert veval_entries(empty, 0, {}) == [] and "RANDOM WEIGHTS" in repr(empty)


def test_box_convention():
    mask = np.zeros((5, 6), bool)
    mask[1:4, 2:5] = True
    assert veval_box(mask) == [2, 1, 2, 2]
    assert veval_box(np.zeros((5, 6), bool)) == [0, 0, 0, 0]
    masklet = Masklet(1, "x", 0.5, {0: mask})
    assert not masklet.mask(1, (5, 6)).any() and masklet.mask(0, (5, 6)) is mask


@pytest.mark.slow
def test_sam3_toy_predictions_are_written_back_identically():
    """Every entry of sam3's ``assets/veval/toy_gt_and_pred/toy_saco_veval_sav_test_pred.json``
    (written by sam3's own pipeline; SAM License, so not copied here), decoded to masks and written
    again, is the same entry field for field (RLE strings, boxes, areas). Needs a sam3 checkout:
    ``SAMKIT_SAM3_REPO=/path/to/sam3`` (commit 99d02f2 was checked)."""
    import os
    from pathlib import Path

    root = os.environ.get("SAMKIT_SAM3_REPO")
    toy = Path(root or ".") / "assets/veval/toy_gt_and_pred/toy_saco_veval_sav_test_pred.json"
    if not root or not toy.is_file():
        pytest.skip("set SAMKIT_SAM3_REPO to a sam3 checkout to compare with its toy predictions")
    official = json.loads(toy.read_text())
    assert len(official) == 20
    for entry in official:
        h, w = entry["segmentations"][0]["size"]
        masks = {
            t: mask_utils.decode({**s, "counts": s["counts"].encode()}).astype(bool)
            for t, s in enumerate(entry["segmentations"])
        }
        masklets = Masklets((h, w), len(masks), {0: Masklet(0, "p", entry["score"], masks)}, "official", False, "toy")
        assert veval_entries(masklets, entry["video_id"], {"p": entry["category_id"]}) == [entry]

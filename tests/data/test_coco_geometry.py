"""COCO annotations that contradict their image's size are skipped with a reason, never used:
negative bbox width/height, a bbox or polygon outside the image beyond 1 pixel, an RLE of another
size. Border-touching ground truth (within 1 pixel) is kept."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pycocotools.mask as coco_mask
import pytest
from PIL import Image

from samkit.data import CocoDataset, Sa1bDataset

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

H, W = 20, 30
TRIANGLE = [[2.0, 2.0, 12.0, 2.0, 7.0, 10.0]]


def rle(h: int, w: int) -> dict:
    mask = np.zeros((h, w), np.uint8)
    mask[2:6, 3:9] = 1
    encoded = coco_mask.encode(np.asfortranarray(mask))
    return {"size": [h, w], "counts": encoded["counts"].decode()}


def load(tmp_path: Path, *anns: dict):
    """The one sample of a one-image COCO json holding ``anns`` (ids 1, 2, ... in order)."""
    images_dir = tmp_path / "images"
    images_dir.mkdir()
    Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(images_dir / "1.png")
    annotations = [{"id": i + 1, "image_id": 1, "segmentation": TRIANGLE, **a} for i, a in enumerate(anns)]
    data = {"images": [{"id": 1, "file_name": "1.png", "height": H, "width": W}], "annotations": annotations}
    path = tmp_path / "ann.json"
    path.write_text(json.dumps(data))
    return CocoDataset(path, images_dir)[0]


def reasons(sample) -> dict[str, str]:
    return {s["object_id"]: s["reason"] for s in sample.skipped}


@pytest.mark.parametrize(
    "bbox, reason",
    [
        ([2, 2, -3, 5], "negative bbox"),
        ([2, 2, 5, -0.5], "negative bbox"),
        ([-1.5, 2, 5, 5], "bbox outside image"),
        ([2, -2, 5, 5], "bbox outside image"),
        ([20, 2, 11.5, 5], "bbox outside image"),
        ([2, 10, 5, 11.01], "bbox outside image"),
        ([100, 100, 5, 5], "bbox outside image"),
    ],
)
def test_contradicting_bbox_is_skipped_with_reason(tmp_path, bbox, reason):
    sample = load(tmp_path, {"bbox": [2, 2, 10, 8]}, {"bbox": bbox})
    assert sample.object_ids == ["1"]
    assert reasons(sample) == {"2": reason}
    detail = sample.skipped[0]["detail"]
    assert str(bbox) in detail and "(x, y, width, height)" in detail


def test_border_touching_boxes_and_polygons_within_a_pixel_are_kept(tmp_path):
    sample = load(
        tmp_path,
        {"bbox": [0, 0, W, H]},  # the whole image
        {"bbox": [-0.9, -1.0, W + 1.9, H + 2.0]},  # rounding: up to 1 pixel out on each side
        {"bbox": [5, 5, 0, 0]},  # degenerate, not negative
        {"segmentation": [[-0.5, -0.5, W + 0.99, 0.0, W / 2, H + 1.0]]},
    )
    assert sample.object_ids == ["1", "2", "3", "4"] and sample.skipped == []


@pytest.mark.parametrize(
    "polygon",
    [
        [[2.0, 2.0, 12.0, 2.0, 45.0, 10.0]],  # x far right
        [[2.0, 2.0, 12.0, -3.0, 7.0, 10.0]],  # y above
        [TRIANGLE[0], [0.0, 0.0, 5.0, 0.0, 5.0, 21.5]],  # a second part below
    ],
)
def test_polygon_far_outside_is_skipped_with_reason(tmp_path, polygon):
    sample = load(tmp_path, {}, {"segmentation": polygon})
    assert sample.object_ids == ["1"] and reasons(sample) == {"2": "polygon outside image"}
    assert f"{W}x{H} (WxH)" in sample.skipped[0]["detail"]


def test_rle_of_another_size_is_skipped_with_both_sizes(tmp_path):
    sample = load(tmp_path, {"segmentation": rle(H, W)}, {"segmentation": rle(H + 1, W)}, {"segmentation": rle(W, H)})
    assert sample.object_ids == ["1"]
    assert reasons(sample) == {"2": "RLE size mismatch", "3": "RLE size mismatch"}
    assert sample.skipped[1]["detail"] == f"the RLE mask is {W}x{H} (HxW) but the image is {H}x{W}"


def test_geometry_skips_merge_with_the_other_skips_in_id_order(tmp_path):
    sample = load(
        tmp_path,
        {"iscrowd": 1},
        {"bbox": [0, 0, -1, 1]},
        {"segmentation": []},
        {},
        {"iscrowd": 1, "segmentation": rle(5, 5)},  # a crowd with a wrong size: the data error wins
    )
    assert sample.object_ids == ["4"]
    assert sample.skipped == [
        {"object_id": "1", "reason": "crowd"},
        {"object_id": "2", "reason": "negative bbox", "detail": sample.skipped[1]["detail"]},
        {"object_id": "3", "reason": "empty"},
        {"object_id": "5", "reason": "RLE size mismatch", "detail": sample.skipped[3]["detail"]},
    ]


@pytest.mark.parametrize("bbox", [[1, 2, 3], [1, 2, 3, "4"], [1, 2, 3, float("nan")], [1, 2, 3, True], "1 2 3 4"])
def test_malformed_bbox_is_a_value_error_naming_the_annotation(tmp_path, bbox):
    with pytest.raises(ValueError, match=r"ann.json: annotation 1 has bbox .*expected \[x, y, width, height\]"):
        load(tmp_path, {"bbox": bbox})


def test_sa1b_rle_of_another_size_is_skipped(tmp_path):
    folder = tmp_path / "sa1b"
    folder.mkdir()
    Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(folder / "sa_1.jpg")
    anns = [
        {"id": 1, "segmentation": rle(H, W), "bbox": [3, 2, 6, 4]},
        {"id": 2, "segmentation": rle(H, W + 4), "bbox": [3, 2, 6, 4]},
    ]
    (folder / "sa_1.json").write_text(
        json.dumps({"image": {"image_id": 1, "height": H, "width": W}, "annotations": anns})
    )
    sample = Sa1bDataset(folder)[0]
    assert sample.object_ids == ["1"] and reasons(sample) == {"2": "RLE size mismatch"}

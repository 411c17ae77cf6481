"""COCO AP equal to pycocotools' COCOeval run on the original files, with the conventions a
re-implementation easily misses: the ground truth's json ``area`` (not its pixel count) decides
small / medium / large, crowd regions are ignored, and a detector's boxes past the image edge are
scored as the file gives them (clipped only to prompt the segmenter)."""

from __future__ import annotations

import contextlib
import io
import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from samkit.data import CocoDataset
from samkit.eval import get_protocol
from samkit.eval._coco_ap import AP_NAMES, ground_truth
from samkit.eval.detector_boxes import run_detector_boxes
from samkit.weights import WeightsInfo

H, W = 64, 80
#: the polygon of a 33 x 32 rectangle: its json area (1004.6) puts it in COCO's "small" range
#: (< 32**2 = 1024), its pixel count (about 1056) in "medium"
SQUARE = [10.0, 10.0, 43.0, 10.0, 43.0, 42.0, 10.0, 42.0]


def _rle(mask: np.ndarray) -> dict:
    from pycocotools import mask as mask_utils

    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    rle["counts"] = rle["counts"].decode()
    return rle


def _uncompressed_rle(mask: np.ndarray) -> dict:
    """COCO's crowd format: column-major run lengths as a list, starting with zeros."""
    flat = mask.astype(np.uint8).flatten(order="F")
    runs, current, count = [], 0, 0
    for v in flat:
        if v != current:
            runs.append(count)
            current, count = v, 0
        count += 1
    runs.append(count)
    return {"size": [H, W], "counts": runs}


@pytest.fixture(scope="module")
def coco_files(tmp_path_factory):
    """Three 64x80 images: polygon with an area that is not its pixel count, compressed RLE,
    uncompressed-RLE crowd region, an image without objects; and a detections json with boxes
    past the image edges, misses, false positives and wrong classes."""
    root = tmp_path_factory.mktemp("coco_conventions")
    (root / "images").mkdir()
    rng = np.random.default_rng(0)
    for i in (1, 2, 3):
        Image.fromarray(rng.integers(0, 255, (H, W, 3), dtype=np.uint8)).save(root / "images" / f"{i}.png")
    disc = np.hypot(*np.mgrid[:H, :W][::-1] - np.array([62.0, 40.0])[:, None, None]) < 15  # touches the right edge
    crowd = np.zeros((H, W), bool)
    crowd[40:60, 5:30] = True
    bar = np.zeros((H, W), bool)
    bar[5:20, 20:75] = True
    annotations = [
        {
            "id": 1,
            "image_id": 1,
            "category_id": 1,
            "segmentation": [SQUARE],
            "area": 1004.6,
            "bbox": [10, 10, 33, 32],
            "iscrowd": 0,
        },
        {
            "id": 2,
            "image_id": 1,
            "category_id": 2,
            "segmentation": _rle(disc),
            "area": float(disc.sum()),
            "bbox": [47.0, 25.0, 33.0, 30.0],
            "iscrowd": 0,
        },
        {
            "id": 3,
            "image_id": 2,
            "category_id": 1,
            "segmentation": _uncompressed_rle(crowd),
            "area": float(crowd.sum()),
            "bbox": [5, 40, 25, 20],
            "iscrowd": 1,
        },
        {
            "id": 4,
            "image_id": 2,
            "category_id": 2,
            "segmentation": _rle(bar),
            "area": 700.0,
            "bbox": [20, 5, 55, 15],
            "iscrowd": 0,
        },
    ]
    gt = {
        "images": [{"id": i, "file_name": f"{i}.png", "height": H, "width": W} for i in (1, 2, 3)],
        "annotations": annotations,
        "categories": [{"id": 1, "name": "box"}, {"id": 2, "name": "blob"}, {"id": 3, "name": "unused"}],
    }
    (root / "gt.json").write_text(json.dumps(gt))
    detections = [
        {"image_id": 1, "category_id": 1, "bbox": [9.5, 10.5, 34.0, 31.0], "score": 0.9},
        {"image_id": 1, "category_id": 2, "bbox": [46.0, 24.0, 40.0, 32.0], "score": 0.8},  # past the right edge
        {"image_id": 1, "category_id": 2, "bbox": [-6.0, -4.0, 20.0, 18.0], "score": 0.3},  # past the top-left
        {"image_id": 1, "category_id": 1, "bbox": [40.0, 20.0, 30.0, 30.0], "score": 0.2},
        {"image_id": 2, "category_id": 1, "bbox": [6.0, 41.0, 22.0, 18.0], "score": 0.7},  # on the crowd region
        {"image_id": 2, "category_id": 2, "bbox": [19.0, 4.0, 70.0, 17.0], "score": 0.6},  # past the right edge
        {"image_id": 2, "category_id": 1, "bbox": [20.0, 5.0, 55.0, 15.0], "score": 0.4},  # wrong class
        {"image_id": 3, "category_id": 2, "bbox": [30.0, 30.0, 60.0, 40.0], "score": 0.5},  # no object here
    ]
    (root / "detections.json").write_text(json.dumps(detections))
    return root


class BoxFiller:
    """A Segmenter-shaped model whose mask of a box is the box's pixels (deterministic, no weights)."""

    name, family, dtype = "box_filler", "fake", "float32"
    capabilities = frozenset({"box"})

    def __init__(self) -> None:
        self.model = torch.nn.Linear(1, 1)
        self.device = torch.device("cpu")
        self.weights = WeightsInfo("random", seed=0)
        self.prompted: list[np.ndarray] = []

    def require(self, capability, what=None):
        assert capability in self.capabilities

    def set_image(self, image):
        self.hw = np.asarray(image).shape[:2]

    def predict(self, box=None, **_):
        return self.predict_boxes(np.asarray([box]))

    def predict_boxes(self, boxes, multimask_output=False):
        boxes = np.asarray(boxes, np.float64)
        self.prompted.append(boxes)
        masks = np.zeros((len(boxes), 1, *self.hw), bool)
        for i, (x0, y0, x1, y1) in enumerate(np.round(boxes).astype(int)):
            masks[i, 0, y0:y1, x0:x1] = True
        return masks, np.ones((len(boxes), 1), np.float32), np.zeros((len(boxes), 1, 256, 256), np.float32)


def _cocoeval(gt_path, results, iou_type) -> list[float]:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(gt_path))
        ev = COCOeval(gt, gt.loadRes(results), iou_type)
        ev.evaluate(), ev.accumulate(), ev.summarize()
    return [float(v) if v >= 0 else math.nan for v in ev.stats[:6]]


def test_detector_boxes_ap_equals_cocoeval_on_the_original_files(coco_files):
    root = coco_files
    dataset = CocoDataset(root / "gt.json", root / "images")
    model = BoxFiller()
    rows = run_detector_boxes(model, dataset, detections=str(root / "detections.json"), warmup=False, progress=False)
    assert (rows["status"] == "ok").all() and len(rows) == 3
    ours = get_protocol("detector_boxes").summarize(rows)

    # the segmenter was prompted with boxes clipped to the image
    prompted = np.concatenate(model.prompted)
    assert prompted[:, 0::2].min() >= 0 and prompted[:, 0::2].max() <= W and prompted[:, 1::2].max() <= H

    # box AP: COCOeval on the detections file itself
    file = json.loads((root / "detections.json").read_text())
    ref_box = _cocoeval(root / "gt.json", file, "bbox")
    # mask AP: COCOeval on the rows' masks, with the file's image and category ids
    names = {c["name"]: c["id"] for c in json.loads((root / "gt.json").read_text())["categories"]}
    segm = [
        {
            "image_id": int(image_id),
            "category_id": names[d["category"]],
            "score": d["score"],
            "segmentation": d["segmentation"],
        }
        for image_id, dets in zip(rows["image_id"], rows["detections"])
        for d in json.loads(dets)
    ]
    ref_mask = _cocoeval(root / "gt.json", segm, "segm")
    got_box = [ours[f"box_{n}"] for n in AP_NAMES]
    got_mask = [ours[f"mask_{n}"] for n in AP_NAMES]
    np.testing.assert_allclose(got_box, ref_box, rtol=0, atol=1e-12, err_msg="bbox")
    np.testing.assert_allclose(got_mask, ref_mask, rtol=0, atol=1e-12, err_msg="segm")
    assert 0 < ours["box_AP"] < 1 and 0 < ours["mask_AP"] < 1


def test_ground_truth_keeps_the_json_area_and_bbox(coco_files):
    from pycocotools import mask as mask_utils

    root = coco_files
    dataset = CocoDataset(root / "gt.json", root / "images")
    sample = next(iter(dataset))
    square = ground_truth(dataset, sample).annotations[0]
    pixels = int(mask_utils.area(mask_utils.frPyObjects([SQUARE], H, W)).sum())
    assert square["area"] == 1004.6 and pixels >= 1024  # small by its json area, medium by its pixels
    assert square["bbox"] == [10.0, 10.0, 33.0, 32.0]

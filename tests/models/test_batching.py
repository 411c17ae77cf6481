"""Batching: many prompts per decoder call (`predict_points`, `predict_boxes`) and many images per
encoder pass (`set_images` + `predict_batch`), for every family on its smallest model (random
weights), against the one-at-a-time calls; bad input; the box, detector_boxes and text protocols
give the same rows with ``image_batch=2`` as with 1.

Encoder passes are costly on a CPU (SAM 2 / EfficientSAM encode at 1024x1024 whatever the image
size), so each family's fixture runs three: one ``set_images`` of two images and one ``set_image``
of the second image (plus the first, for the families whose encoder is cheap).
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import samkit
from samkit.errors import NotReadyError, PromptError

os.environ.setdefault("HF_HUB_OFFLINE", "1")

#: family -> (model name, load options, the first image is also checked against set_image)
FAMILIES = {
    "mobile_sam": ("mobile_sam", {}, False),
    "sam2": ("sam2.1_hiera_tiny", {}, False),
    "sam_hq": ("sam_hq_vit_tiny", {}, False),
    "efficientvit_sam": ("efficientvit_sam_l0", {}, True),
    "efficient_sam": ("efficient_sam_vitt", {}, False),
    "fastsam": ("fastsam_s", {"imgsz": 64, "conf": 0.0}, True),
    "sam3": ("sam3", {"config": "tiny"}, True),
    "edgetam": ("edgetam", {"config": "tiny"}, True),
}
BATCHED_ENCODER = {"mobile_sam", "sam2", "sam_hq", "efficientvit_sam", "efficient_sam", "sam3", "edgetam"}

RNG = np.random.default_rng(0)
IMAGES = [RNG.integers(0, 255, (64, 80, 3), dtype=np.uint8), RNG.integers(0, 255, (48, 72, 3), dtype=np.uint8)]
BOXES = [
    np.array([[5, 5, 40, 30], [20, 10, 70, 60], [0, 0, 80, 64]], float),
    np.array([[3, 4, 30, 40], [10, 10, 70, 45]], float),
]
POINTS = [
    np.array([[[10, 20], [30, 40]], [[50, 10], [5, 5]]], float),
    np.array([[[10, 20], [30, 40]], [[50, 10], [5, 5]], [[70, 40], [20, 30]]], float),
]
LABELS = [np.array([[1, 0], [1, 1]]), np.array([[1, 0], [1, 1], [1, 0]])]

_LOADED: dict[str, samkit.models.Segmenter] = {}


def _load(family: str, random_model):
    name, options, _ = FAMILIES[family]
    if not options:
        return random_model(name)  # shared with the rest of the suite
    if family not in _LOADED:
        _LOADED[family] = samkit.load(name, weights="random", seed=0, device="cpu", **options)
    return _LOADED[family]


def _close(got: tuple, want: tuple, atol: float = 1e-4) -> None:
    """Equal shapes, scores and low-res logits within ``atol``, masks equal on >= 99.9% of pixels."""
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == w.dtype
    np.testing.assert_allclose(got[1], want[1], atol=atol)
    np.testing.assert_allclose(got[2], want[2], atol=atol)
    assert (got[0] != want[0]).mean() <= 1e-3


#: the families whose encoder at 1024 pixels is costly here run in the slow suite (make test-slow)
SLOW_FAMILIES = {"sam2", "sam_hq", "efficient_sam"}


@pytest.fixture(
    scope="module", params=[pytest.param(f, marks=pytest.mark.slow) if f in SLOW_FAMILIES else f for f in FAMILIES]
)
def runs(request, random_model):
    """Per family: predict_batch after set_images, and the same prompts after set_image of each image."""
    family = request.param
    model = _load(family, random_model)
    model.set_images(IMAGES)
    state = {
        "num_images": model.num_images,
        "sizes": model.image_sizes,
        "selected": model.selected_image,
        "hw": model.original_size,
    }
    batch_boxes = model.predict_batch(boxes=BOXES)
    batch_points = model.predict_batch(point_coords=POINTS, point_labels=LABELS)
    model.select_image(1)
    after_select = model.predict_boxes(BOXES[1])
    checked = [0, 1] if FAMILIES[family][2] else [1]
    single = {}
    for i in checked:
        model.set_image(IMAGES[i])
        state[f"num_images_after_set_image_{i}"] = model.num_images
        # FastSAM's predict_points gives one mask per set, as predict(multimask_output=False)
        multi = family != "fastsam"
        single[i] = {
            "boxes": model.predict_boxes(BOXES[i]),
            "points": model.predict_points(POINTS[i], LABELS[i]),
            "loop": [
                model.predict(point_coords=c, point_labels=lab, multimask_output=multi)
                for c, lab in zip(POINTS[i], LABELS[i])
            ],
        }
    return family, model, state, batch_boxes, batch_points, after_select, single


def test_predict_points_equals_a_loop_of_predict(runs):
    family, model, _, _, _, _, single = runs
    for found in single.values():
        masks, scores, low_res = found["points"]
        assert masks.dtype == bool and masks.ndim == 4 and masks.shape[0] == len(found["loop"])
        stacked = tuple(np.stack([o[i] for o in found["loop"]]) for i in range(3))
        _close(found["points"], stacked)
    assert model.batched_decoder == (family != "fastsam")


def test_set_images_then_predict_batch_equals_set_image_per_image(runs):
    family, model, state, batch_boxes, batch_points, after_select, single = runs
    assert state["num_images"] == 2 and state["sizes"] == [(64, 80), (48, 72)]
    assert state["selected"] == 0 and state["hw"] == (64, 80)
    assert model.batched_encoder == (family in BATCHED_ENCODER)
    assert len(batch_boxes) == len(batch_points) == 2
    for i, found in single.items():
        assert state[f"num_images_after_set_image_{i}"] == 0  # set_image drops the batch
        assert batch_boxes[i][0].shape[:2] == (len(BOXES[i]), 1)
        _close(batch_boxes[i], found["boxes"])
        _close(batch_points[i], found["points"])
    _close(after_select, single[1]["boxes"])  # select_image makes an image current for predict_*
    assert model.num_images == 0 and model.original_size == (IMAGES[-1].shape[0], IMAGES[-1].shape[1])


@pytest.fixture(scope="module")
def sam3_tiny():
    if "sam3" not in _LOADED:
        _LOADED["sam3"] = samkit.load("sam3", weights="random", seed=0, device="cpu", config="tiny")
    return _LOADED["sam3"]


def test_batch_size_splits_encoder_passes_and_empty_entries_decode_nothing(sam3_tiny):
    model = sam3_tiny
    images = [IMAGES[0], IMAGES[1], IMAGES[0]]
    model.set_images(images, batch_size=2)
    assert model._image_batch.passes == 2 and model.num_images == 3
    out = model.predict_batch(boxes=[BOXES[0], None, np.zeros((0, 4))])
    assert out[1] is None and out[2] is None
    model.select_image(2)
    _close(model.predict_boxes(BOXES[0]), out[0])  # image 2 is image 0 again, in another pass
    assert model.selected_image == 2
    model.predict_batch(point_coords=[POINTS[0]] * 3, point_labels=[LABELS[0]] * 3)
    assert model.selected_image == 2  # predict_batch leaves the current image as it was
    text = model.predict(text="a thing", box_threshold=0.0)  # SAM 3's text path on a batch image
    assert text[0].shape[1:] == (64, 80)
    model.reset_image()
    assert model.num_images == 0 and not model.is_image_set


def test_bad_input_is_a_clear_error(sam3_tiny):
    model = sam3_tiny
    model.reset_image()
    with pytest.raises(NotReadyError, match="set_image"):
        model.predict_points(POINTS[0], LABELS[0])
    with pytest.raises(NotReadyError, match="set_images"):
        model.predict_batch(boxes=BOXES)
    with pytest.raises(NotReadyError, match="set_images"):
        model.select_image(0)
    with pytest.raises(ValueError, match="at least one image"):
        model.set_images([])
    with pytest.raises(ValueError, match="sequence of images"):
        model.set_images(IMAGES[0])
    with pytest.raises(ValueError, match="batch_size"):
        model.set_images(IMAGES, batch_size=0)
    model.set_images(IMAGES)
    with pytest.raises(PromptError, match=r"\(N, K, 2\)"):
        model.predict_points(POINTS[0][0], LABELS[0][0])
    with pytest.raises(PromptError, match="point_labels must have shape"):
        model.predict_points(POINTS[0], LABELS[0][:, :1])
    with pytest.raises(PromptError, match="point set 1"):
        model.predict_points(np.array([[[1, 1], [2, 2]], [[3, 3], [90, 5]]]), LABELS[0])  # x 90 >= 80
    with pytest.raises(PromptError, match="point set 0"):
        model.predict_points(POINTS[0], np.array([[1, 2], [1, 1]]))
    with pytest.raises(PromptError, match="one entry per image"):
        model.predict_batch(boxes=[BOXES[0]])
    with pytest.raises(PromptError, match="exactly one kind"):
        model.predict_batch(boxes=BOXES, point_coords=POINTS, point_labels=LABELS)
    with pytest.raises(PromptError, match="image 1"):
        model.predict_batch(boxes=[BOXES[0], BOXES[0]])  # y2 = 60 and 64 are below image 1 (48 high)
    with pytest.raises(IndexError, match=r"\[0, 2\)"):
        model.select_image(2)
    assert model.selected_image == 0  # the failed calls changed nothing


# ----------------------------------------------------------------------------- protocols
@pytest.fixture(scope="module")
def edgetam_tiny():
    if "edgetam" not in _LOADED:
        _LOADED["edgetam"] = samkit.load("edgetam", weights="random", seed=0, device="cpu", config="tiny")
    return _LOADED["edgetam"]


@pytest.fixture(scope="module")
def coco(tmp_path_factory):
    from samkit.data import CocoDataset, SyntheticDataset

    root = tmp_path_factory.mktemp("coco_batching")
    path = SyntheticDataset(num_images=3, size=(56, 72), max_shapes=3, seed=5).write_coco(root)
    return CocoDataset(path, root / "images"), path


def _same_rows(a, b) -> None:
    """The rows of two runs agree, timings, memory and the batching columns aside."""
    import pandas as pd

    skip = {
        "encoder_ms",
        "decoder_ms",
        "peak_mem_mib",
        "detect_ms",
        "total_ms",
        "image_batch",
        "mem_method",
        "detections",
    }
    cols = [c for c in a.columns if c not in skip]
    assert sorted(cols) == sorted(c for c in b.columns if c not in skip)
    assert (a["status"] == "ok").any(), a["error"].dropna().tolist()
    pd.testing.assert_frame_equal(a[cols].reset_index(drop=True), b[cols].reset_index(drop=True))
    if "detections" in a.columns:
        for x, y in zip(a["detections"], b["detections"]):
            _same_detections(x, y)


def _same_detections(a, b) -> None:
    """Two images' detections json agree up to float rounding: a batched encoder pass is not
    bit-identical to a single one (BLAS blocks by batch), so scores may move in the last digits
    and a mask by a pixel on its threshold; categories and order must not change."""
    import pandas as pd
    from pycocotools import mask as mask_utils

    if pd.isna(a) or pd.isna(b):
        assert pd.isna(a) and pd.isna(b)
        return
    da, db = json.loads(a), json.loads(b)
    assert [d["category"] for d in da] == [d["category"] for d in db]
    np.testing.assert_allclose([d["score"] for d in da], [d["score"] for d in db], atol=1e-4)
    np.testing.assert_allclose([d["bbox"] for d in da], [d["bbox"] for d in db], atol=0.05)
    for x, y in zip(da, db):
        if "segmentation" in x:
            rx, ry = x["segmentation"], y["segmentation"]
            if mask_utils.area(rx) or mask_utils.area(ry):
                assert mask_utils.iou([rx], [ry], [0])[0, 0] >= 0.99


def test_box_protocol_with_an_image_batch_gives_the_same_rows(edgetam_tiny, coco):
    from samkit.eval import get_protocol

    dataset, _ = coco
    runs = [
        get_protocol("box").run(edgetam_tiny, dataset, run_id="r", progress=False, warmup=False, image_batch=n)
        for n in (1, 2)
    ]
    _same_rows(*runs)
    ok = runs[1][runs[1]["status"] == "ok"]
    assert set(ok["image_batch"]) == {1, 2}  # 3 images: a pass of 2, then 1
    assert (ok["decoder_batch"] >= 1).all() and ok["encoder_ms"].gt(0).all()


def test_detector_boxes_protocol_with_an_image_batch_gives_the_same_rows(edgetam_tiny, coco, tmp_path):
    from samkit.eval.detector_boxes import run_detector_boxes

    dataset, path = coco
    data = json.loads(path.read_text())
    records = [
        {
            "image_id": a["image_id"],
            "category_id": a["category_id"],
            "bbox": a["bbox"],
            "score": 0.5 + 0.01 * (a["id"] % 10),
        }
        for a in data["annotations"]
    ]
    file = tmp_path / "detections.json"
    file.write_text(json.dumps(records))
    runs = [
        run_detector_boxes(
            edgetam_tiny, dataset, detections=str(file), run_id="r", warmup=False, progress=False, image_batch=n
        )
        for n in (1, 3)
    ]
    _same_rows(*runs)
    assert (runs[1]["image_batch"] == 3).all()


def test_text_protocol_with_an_image_batch_gives_the_same_rows(sam3_tiny, coco):
    from samkit.eval.text import run_text

    dataset, _ = coco
    runs = [
        run_text(
            sam3_tiny,
            dataset,
            detector="native",
            box_threshold=0.0,
            max_detections=5,
            run_id="r",
            warmup=False,
            progress=False,
            image_batch=n,
        )
        for n in (1, 2)
    ]
    _same_rows(*runs)
    assert runs[1]["num_detections"].between(1, 5).all()


def test_image_batch_must_be_a_positive_int(coco):
    from samkit.eval import get_protocol
    from samkit.eval.box import run_box

    with pytest.raises(ValueError, match="image_batch must be an integer >= 1"):
        get_protocol("box").make_params(image_batch=0)
    with pytest.raises(ValueError, match="image_batch must be an int >= 1"):
        run_box(None, coco[0], image_batch=0)

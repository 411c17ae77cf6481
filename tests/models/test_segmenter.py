"""The Segmenter interface on real models with random weights: generate, image handling, state."""

from __future__ import annotations

import numpy as np
import pytest

from samkit.errors import ImageConversionWarning, ImageError
from samkit.metrics.masks import mask_iou

AMG_KEYS = {"segmentation", "area", "bbox", "predicted_iou", "point_coords", "stability_score", "crop_box"}
LOOSE = dict(points_per_side=4, pred_iou_thresh=0.0, stability_score_thresh=0.0)


#: SAM, MobileSAM and SAM 2 (samkit's fast generator) against upstream: tests/models/test_fast_generator.py
@pytest.mark.parametrize(
    "name",
    [
        "efficientvit_sam_l0",
        pytest.param("mobile_sam", marks=pytest.mark.slow),
        pytest.param("sam2.1_hiera_tiny", marks=pytest.mark.slow),
    ],
)
def test_generate_matches_upstream_generator(random_model, photo, name):
    """The default generator against engine='upstream' on the plain random model: the same
    records up to float rounding (EfficientViT-SAM: the upstream generator itself)."""
    model = random_model(name)
    records = model.generate(photo, **LOOSE)
    upstream = model.generate(photo, engine="upstream", **LOOSE)
    assert len(records) == len(upstream) > 0
    for ours, theirs in zip(records, upstream):
        assert set(ours) == AMG_KEYS
        assert ours["segmentation"].shape == (120, 180) and ours["segmentation"].dtype == bool
        assert mask_iou(theirs["segmentation"], ours["segmentation"], empty_value=1.0) >= 0.99
        np.testing.assert_allclose(ours["bbox"], theirs["bbox"], atol=1)
        assert abs(ours["predicted_iou"] - theirs["predicted_iou"]) < 1e-4


def test_generate_engine_is_samkit_or_upstream(random_model, photo, monkeypatch):
    from samkit.errors import UnsupportedError
    from samkit.models.base import Segmenter
    from samkit.models.mobile_sam import MobileSamSegmenter

    model = random_model("mobile_sam")
    with pytest.raises(ValueError, match="engine must be one of 'samkit', 'upstream'"):
        model.generate(photo, engine="fast")
    with pytest.raises(TypeError, match="points_per_sid"):  # upstream's parameters are checked too
        model.generate(photo, engine="upstream", points_per_sid=4)
    # as a family with only samkit's generator (EfficientSAM, SAM 3, EdgeTAM)
    monkeypatch.setattr(MobileSamSegmenter, "_upstream_mask_generator_class", Segmenter._upstream_mask_generator_class)
    with pytest.raises(UnsupportedError, match="no upstream automatic mask generator"):
        model.generate(photo, engine="upstream")


def test_generate_rejects_unknown_parameters(random_model, photo):
    with pytest.raises(TypeError, match="unknown parameter\\(s\\) \\['points_per_sid'\\].*points_per_side"):
        random_model("mobile_sam").generate(photo, points_per_sid=4)


def test_generate_leaves_the_current_image_alone(random_model, photo):
    model = random_model("mobile_sam")
    model.set_image(photo)
    before = model.predict(point_coords=[[90, 60]], point_labels=[1])
    model.generate(photo[:64, :64], points_per_side=2)
    after = model.predict(point_coords=[[90, 60]], point_labels=[1])
    assert model.original_size == (120, 180)
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)


def test_grayscale_and_pil_images_go_through_set_image(random_model, photo):
    from PIL import Image

    model = random_model("mobile_sam")
    with pytest.warns(ImageConversionWarning, match="Grayscale"):
        model.set_image(photo[..., 0])
    gray_masks, _, _ = model.predict(point_coords=[[90, 60]], point_labels=[1])
    model.set_image(np.repeat(photo[..., :1], 3, axis=2))
    rgb_masks, _, _ = model.predict(point_coords=[[90, 60]], point_labels=[1])
    np.testing.assert_array_equal(gray_masks, rgb_masks)
    model.set_image(Image.fromarray(photo))
    assert model.original_size == (120, 180)


def test_rejected_image_keeps_no_stale_state(random_model, photo):
    model = random_model("mobile_sam")
    model.set_image(photo)
    with pytest.raises(ImageError, match="Float images"):
        model.set_image(photo / 255.0)
    assert model.original_size == (120, 180)  # the earlier embedding is still the one in use
    model.reset_image()
    assert not model.is_image_set and model.original_size is None


def test_sam2_import_leaves_global_hydra_uninitialised():
    import subprocess
    import sys

    code = (
        "import samkit\n"
        "from hydra.core.global_hydra import GlobalHydra\n"
        "m = samkit.load('sam2.1_hiera_tiny', weights='random', device='cpu')\n"
        "print(GlobalHydra.instance().is_initialized())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"


@pytest.mark.parametrize("name", ["mobile_sam", "sam2.1_hiera_tiny", "efficientvit_sam_l0", "sam_hq_vit_tiny"])
def test_predict_boxes_matches_one_box_at_a_time(random_model, photo, name):
    model = random_model(name)
    model.set_image(photo)
    boxes = np.array([[5, 5, 60, 50], [40, 20, 170, 110], [0, 0, 180, 120]])
    masks, scores, low = model.predict_boxes(boxes)
    assert masks.shape == (3, 1, 120, 180) and masks.dtype == bool
    assert scores.shape == (3, 1) and low.shape == (3, 1, 256, 256)
    for i, box in enumerate(boxes):
        m, s, lo = model.predict(box=box, multimask_output=False)
        np.testing.assert_array_equal(masks[i], m)
        np.testing.assert_allclose(scores[i], s, atol=1e-5)
        np.testing.assert_allclose(low[i], lo, atol=1e-4)
    one = model.predict_boxes(boxes[:1], multimask_output=True)
    assert one[0].shape == (1, 1 if model.family == "sam_hq" else 3, 120, 180)  # SAM-HQ: best + HQ


@pytest.mark.parametrize(
    "name",
    [
        "mobile_sam",  # the SAM-style path through predict_torch
        "efficientvit_sam_l0",  # float32-output predictor subclass
        pytest.param("sam2.1_hiera_tiny", marks=pytest.mark.slow),
    ],
)
def test_bfloat16_autocast_gives_float32_outputs_close_to_float32(photo, name):
    import samkit

    full = samkit.load(name, weights="random", device="cpu")
    half = samkit.load(name, weights="random", device="cpu", dtype="bfloat16")
    assert half.dtype == "bfloat16" and "dtype=bfloat16" in repr(half)
    for m in (full, half):
        m.set_image(photo)
    _, s32, lo32 = full.predict(point_coords=[[90, 60]], point_labels=[1])
    masks, s16, lo16 = half.predict(point_coords=[[90, 60]], point_labels=[1])
    assert masks.dtype == bool and s16.dtype == np.float32 and lo16.dtype == np.float32
    assert np.abs(s16 - s32).max() < 0.1  # same weights, lower precision: close, not equal
    assert not np.array_equal(lo16, lo32)
    assert half.predict_boxes([[10, 10, 100, 100]])[1].dtype == np.float32
    with pytest.raises(ValueError, match="dtype must be one of"):
        samkit.load(name, weights="random", dtype="float64")


def test_an_unsupported_prompt_names_the_models_that_support_it(random_model, photo, monkeypatch):
    import dataclasses

    import samkit
    from samkit.errors import UnsupportedError

    model = random_model("mobile_sam")
    model.set_image(photo)
    no_masks = dataclasses.replace(model.spec, capabilities=frozenset({"points", "box"}))
    monkeypatch.setattr(model, "spec", no_masks)
    with pytest.raises(UnsupportedError, match="mobile_sam does not support mask_input") as err:
        model.predict(point_coords=[[90, 60]], point_labels=[1], mask_input=np.zeros((1, 256, 256)))
    assert all(name in str(err.value) for name in samkit.list_models(capability="mask_input"))
    with pytest.raises(UnsupportedError, match="does not support automatic mask generation"):
        model.generate(photo)
    masks, _, _ = model.predict(box=[40, 20, 150, 110])  # what it supports still works
    assert masks.shape[1:] == (120, 180)
    monkeypatch.setattr(model, "spec", dataclasses.replace(no_masks, capabilities=frozenset({"points"})))
    with pytest.raises(UnsupportedError, match="does not support box prompts"):
        model.predict_boxes([[40, 20, 150, 110]])

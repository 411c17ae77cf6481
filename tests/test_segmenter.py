"""The Segmenter interface on real models with random weights: generate, image handling, state."""

from __future__ import annotations

import numpy as np
import pytest

from samkit.errors import ImageConversionWarning, ImageError

AMG_KEYS = {"segmentation", "area", "bbox", "predicted_iou", "point_coords", "stability_score",
            "crop_box"}
LOOSE = dict(points_per_side=4, pred_iou_thresh=0.0, stability_score_thresh=0.0)


@pytest.mark.parametrize("name", ["mobile_sam", "sam2.1_hiera_tiny"])
def test_generate_matches_upstream_generator(random_model, photo, name):
    model = random_model(name)
    records = model.generate(photo, **LOOSE)
    upstream = model._mask_generator_class()(model.model, **LOOSE).generate(photo)
    assert len(records) == len(upstream) > 0
    for ours, theirs in zip(records, upstream):
        assert set(ours) == AMG_KEYS
        assert ours["segmentation"].shape == (120, 180) and ours["segmentation"].dtype == bool
        np.testing.assert_array_equal(ours["segmentation"], theirs["segmentation"])
        assert ours["bbox"] == theirs["bbox"] and ours["predicted_iou"] == theirs["predicted_iou"]


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


def test_num_parameters_matches_the_architecture(random_model):
    model = random_model("mobile_sam")
    assert model.num_parameters() == sum(p.numel() for p in model.model.parameters())
    assert 9_000_000 < model.num_parameters() < 11_000_000

"""EdgeTAM through transformers: a tiny random checkpoint saved in the hub layout, loaded by samkit and
by transformers' documented usage (``EdgeTamModel`` + ``Sam2Processor``), gives the same masks and scores.

The tiny config (128x128 input, the released RepViT backbone) keeps each test to seconds.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import samkit
from samkit.backends.transformers import seeded_build, transformers_module
from samkit.errors import CheckpointError, UnsupportedError
from samkit.models.edgetam import EdgeTamSegmenter, hub_config
from samkit.registry import REGISTRY


@pytest.fixture(scope="module")
def hub_folder(tmp_path_factory):
    """A seeded tiny EdgeTAM video model + processor saved with save_pretrained (the hub repo's layout)."""
    tf = transformers_module()
    folder = tmp_path_factory.mktemp("edgetam_hub")
    model = seeded_build(lambda: tf.EdgeTamVideoModel(hub_config("tiny")), seed=3)
    model.save_pretrained(folder)
    image_processor = tf.Sam2ImageProcessor(size={"height": 128, "width": 128})
    tf.Sam2Processor(image_processor=image_processor, target_size=128).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def ours(hub_folder):
    return samkit.load("edgetam", checkpoint=hub_folder, device="cpu")


@pytest.fixture(scope="module")
def theirs(hub_folder):
    tf = transformers_module()
    model, info = tf.EdgeTamModel.from_pretrained(str(hub_folder), output_loading_info=True)
    assert not info["missing_keys"] and not info["mismatched_keys"]
    return model.eval(), tf.Sam2Processor.from_pretrained(str(hub_folder))


def _reference(theirs, image, multimask, **prompts):
    model, processor = theirs
    inputs = processor(images=image, return_tensors="pt", **prompts)
    with torch.inference_mode():
        out = model(**{k: v for k, v in inputs.items() if k != "original_sizes"}, multimask_output=multimask)
    masks = processor.post_process_masks(out.pred_masks, inputs["original_sizes"])[0]
    return masks.numpy(), out.iou_scores[0].numpy()


def test_registry_entry():
    spec = REGISTRY["edgetam"]
    assert spec.layout == "hf" and spec.hub_repo == "yonigozlan/EdgeTAM-hf" and not spec.gated
    assert spec.capabilities == {"points", "box", "mask_input", "multimask", "automatic", "video"}
    assert spec.url.endswith(spec.checkpoint) and spec.sha256 is None


@pytest.mark.parametrize("multimask", [True, False])
def test_points_match_transformers(ours, theirs, photo, multimask):
    ours.set_image(photo)
    points, labels = [[90, 60], [30, 100]], [1, 0]
    masks, scores, low_res = ours.predict(point_coords=points, point_labels=labels, multimask_output=multimask)
    ref_masks, ref_scores = _reference(theirs, photo, multimask, input_points=[[points]], input_labels=[[labels]])
    n = 3 if multimask else 1
    assert masks.shape == (n, 120, 180) and masks.dtype == bool and low_res.shape == (n, 32, 32)
    np.testing.assert_array_equal(masks, ref_masks[0])
    np.testing.assert_allclose(scores, ref_scores[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("multimask", [True, False])
def test_boxes_match_transformers(ours, theirs, photo, multimask):
    ours.set_image(photo)
    boxes = [[20, 15, 120, 100], [60, 30, 170, 110]]
    masks, scores, _ = ours.predict_boxes(boxes, multimask_output=multimask)
    ref_masks, ref_scores = _reference(theirs, photo, multimask, input_boxes=[boxes])
    np.testing.assert_array_equal(masks, ref_masks)
    np.testing.assert_allclose(scores, ref_scores, rtol=1e-5, atol=1e-6)
    one, one_scores, _ = ours.predict(box=boxes[1], multimask_output=multimask)
    np.testing.assert_array_equal(one, masks[1])
    np.testing.assert_allclose(one_scores, scores[1], rtol=1e-5, atol=1e-6)


def test_mask_input_and_batched_logits(ours, photo):
    ours.set_image(photo)
    _, _, low_res = ours.predict(point_coords=[[90, 60]], point_labels=[1], multimask_output=False)
    masks, scores, _ = ours.predict(
        point_coords=[[90, 60]], point_labels=[1], mask_input=low_res, multimask_output=False
    )
    assert masks.shape == (1, 120, 180) and scores.shape == (1,)
    coords = np.array([[[90, 60]], [[30, 100]]], dtype=float)
    logits, batch_scores = ours._predict_logits_batch(coords, np.ones((2, 1)), multimask_output=True)
    assert logits.shape == (2, 3, 120, 180) and batch_scores.shape == (2, 3)
    single, single_scores, _ = ours.predict(point_coords=coords[1], point_labels=[1], return_logits=True)
    np.testing.assert_allclose(logits[1].numpy(), single, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(batch_scores[1].numpy(), single_scores, rtol=1e-5, atol=1e-6)


def test_parameters_equal_upstream(ours, theirs):
    assert ours.num_parameters() == theirs[0].num_parameters()
    with torch.device("meta"):
        full = EdgeTamSegmenter.build_architecture(REGISTRY["edgetam"])
    assert sum(p.numel() for p in full.parameters()) == 9_120_641  # RepViT-M1 + SAM 2 decoder


def test_random_tiny_records_config_and_no_text(photo):
    model = samkit.load("edgetam", weights="random", config="tiny", device="cpu")
    assert model.weights.config == "tiny" and "config=tiny" in str(model.weights)
    assert "video" in model.capabilities and "text" not in model.capabilities
    model.set_image(photo)
    with pytest.raises(UnsupportedError, match="text"):
        model.require("text", "text prompts")
    records = model.generate(
        photo, points_per_side=2, pred_iou_thresh=0.0, stability_score_thresh=0.0, box_nms_thresh=1.0
    )
    assert records and records[0]["segmentation"].shape == (120, 180)


def test_config_option_errors(hub_folder):
    with pytest.raises(ValueError, match="config must be one of"):
        samkit.load("edgetam", weights="random", config="huge", device="cpu")
    with pytest.raises(ValueError, match="weights='random' only"):
        samkit.load("edgetam", checkpoint=hub_folder, config="tiny", device="cpu")


def test_missing_and_wrong_checkpoints(tmp_path):
    with pytest.raises(CheckpointError, match="samkit weights download edgetam"):
        samkit.load("edgetam", download=False, device="cpu")
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(CheckpointError, match="no model.safetensors"):
        samkit.load("edgetam", checkpoint=tmp_path, device="cpu")


def test_backbone_keys_without_timm_prefix_load_the_same(hub_folder, ours, photo, tmp_path):
    """A file may spell the timm backbone's keys without ``timm_model.`` (transformers adds it)."""
    import shutil

    from safetensors.torch import load_file, save_file

    for f in hub_folder.iterdir():
        shutil.copy(f, tmp_path / f.name)
    state = load_file(hub_folder / "model.safetensors")
    bare = {k.replace("backbone.timm_model.", "backbone.", 1): v for k, v in state.items()}
    assert bare.keys() != state.keys()
    save_file(bare, tmp_path / "model.safetensors", metadata={"format": "pt"})
    other = samkit.load("edgetam", checkpoint=tmp_path, device="cpu")
    for model in (ours, other):
        model.set_image(photo)
    for x, y in zip(ours.predict(box=[20, 15, 120, 100]), other.predict(box=[20, 15, 120, 100])):
        np.testing.assert_array_equal(x, y)

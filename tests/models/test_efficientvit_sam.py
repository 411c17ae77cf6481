"""EfficientViT-SAM: registry values, parameter counts, wrong checkpoints, reduced precision.

Parity with the upstream predictor is in test_parity.py; generate and predict_boxes in
test_segmenter.py. Only L0 runs in the default suite; the other models are marked slow.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import samkit
from samkit.errors import CheckpointError
from samkit.loading import build_random
from samkit.registry import REGISTRY

NAMES = [
    "efficientvit_sam_l0",
    "efficientvit_sam_l1",
    "efficientvit_sam_l2",
    "efficientvit_sam_xl0",
    "efficientvit_sam_xl1",
]
PARAMS = [pytest.param(NAMES[0])] + [pytest.param(n, marks=pytest.mark.slow) for n in NAMES[1:]]
INPUT_SIZE = {
    "efficientvit_sam_l0": 512,
    "efficientvit_sam_l1": 512,
    "efficientvit_sam_l2": 512,
    "efficientvit_sam_xl0": 1024,
    "efficientvit_sam_xl1": 1024,
}


def _upstream(spec, **kwargs):
    from efficientsam.sam_model_zoo import create_efficientvit_sam_model

    return create_efficientvit_sam_model(spec.arch, pretrained=False, **kwargs)


def test_family_specs():
    assert samkit.list_models(family="efficientvit_sam") == NAMES
    for name in NAMES:
        spec = REGISTRY[name]
        assert spec.url == f"https://huggingface.co/mit-han-lab/efficientvit-sam/resolve/main/{name}.pt"
        assert spec.layout == "state_dict" and spec.input_size == INPUT_SIZE[name]
        assert spec.capabilities == {"points", "box", "mask_input", "multimask", "automatic"}
    # SAM 3 and its variants: 1008; EfficientTAM's 512x512 versions: 512
    others = ("efficientvit_sam", "sam3", "sam3_1", "sam3_litetext")
    assert {s.input_size for s in REGISTRY.values() if s.family not in others and "512x512" not in s.name} == {1024}


@pytest.mark.parametrize("name", PARAMS)
def test_parameter_count_equals_upstream_and_published(name):
    spec = REGISTRY[name]
    ours = build_random(spec, seed=0)
    with torch.device("meta"):
        theirs = _upstream(spec)  # the upstream builder with its own default image size
    assert ours.image_size == theirs.image_size == (1024, spec.input_size)
    count = sum(p.numel() for p in ours.parameters())
    assert count == sum(p.numel() for p in theirs.parameters())
    assert abs(count / 1e6 - spec.params_published_m) / spec.params_published_m < 0.01
    assert samkit.load(name, weights="random", device="cpu").num_parameters() == count


def test_sibling_checkpoint_names_the_model_it_fits(tmp_path, random_model):
    path = tmp_path / "efficientvit_sam_l1.pt"
    torch.save(random_model("efficientvit_sam_l0").model.state_dict(), path)
    with pytest.raises(CheckpointError) as info:
        samkit.load("efficientvit_sam_l1", checkpoint=path, device="cpu")
    message = str(info.value)
    assert "does not fit efficientvit_sam_l1" in message and "Nothing was loaded" in message
    assert "looks like a checkpoint for 'efficientvit_sam_l0'" in message


def test_other_family_checkpoint_is_named(tmp_path, random_model):
    path = tmp_path / "mobile_sam.pt"
    torch.save(random_model("mobile_sam").model.state_dict(), path)
    with pytest.raises(CheckpointError, match="looks like a checkpoint for 'mobile_sam'"):
        samkit.load("efficientvit_sam_l0", checkpoint=path, device="cpu")


def test_missing_pretrained_checkpoint_names_url_and_folder(isolated_checkpoints):
    spec = REGISTRY["efficientvit_sam_l0"]
    with pytest.raises(CheckpointError) as info:
        samkit.load("efficientvit_sam_l0", download=False)
    message = str(info.value)
    assert spec.url in message and str(isolated_checkpoints / "efficientvit_sam_l0.pt") in message


def test_bfloat16_generate_returns_the_generator_records(photo):
    model = samkit.load("efficientvit_sam_l0", weights="random", device="cpu", dtype="bfloat16")
    records = model.generate(photo, points_per_side=4, pred_iou_thresh=0.0, stability_score_thresh=0.0)
    assert len(records) > 0
    for record in records:
        assert record["segmentation"].shape == (120, 180) and record["segmentation"].dtype == bool
        assert isinstance(record["predicted_iou"], float) and np.isfinite(record["predicted_iou"])
    with pytest.raises(TypeError, match="EfficientViTSamAutomaticMaskGenerator parameters"):
        model.generate(photo, points_per_sid=4)

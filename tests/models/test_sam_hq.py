"""SAM-HQ: automatic masks against the upstream generator, hq_token_only, wrong files, parameter counts.

Predictions against the upstream predictor (both hq_token_only values) are in test_parity.py.
Only the tiny model runs in the default suite; ViT-B/L/H are marked slow.
"""

from __future__ import annotations

import functools
import subprocess
import sys

import numpy as np
import pytest
import torch

import samkit
from samkit.errors import CheckpointError
from samkit.loading import build_random
from samkit.registry import REGISTRY

# open thresholds (random weights make no stable masks) and no NMS, so there are records to compare
LOOSE = dict(points_per_side=2, pred_iou_thresh=0.0, stability_score_thresh=0.0, box_nms_thresh=1.0)
SLOW = pytest.mark.slow
HEAVY = [pytest.param(n, marks=SLOW) for n in ("sam_hq_vit_b", "sam_hq_vit_l", "sam_hq_vit_h")]


def _upstream_generator(model, hq_token_only=False, **params):
    """The package's own SamAutomaticMaskGenerator; hq_token_only=True by binding predict_torch's argument."""
    from segment_anything_hq import SamAutomaticMaskGenerator

    generator = SamAutomaticMaskGenerator(model, **params)
    if hq_token_only:  # upstream's generator has no such option: bind it on its predictor
        generator.predictor.predict_torch = functools.partial(generator.predictor.predict_torch, hq_token_only=True)
    return generator


def _assert_same_records(ours, theirs):
    assert len(ours) == len(theirs) > 1
    for a, b in zip(ours, theirs):
        assert a.keys() == b.keys()
        np.testing.assert_array_equal(a["segmentation"], b["segmentation"])
        assert a["segmentation"].shape == (120, 180) and a["segmentation"].dtype == bool
        for key in ("bbox", "area", "predicted_iou", "stability_score", "point_coords", "crop_box"):
            assert a[key] == b[key], key


def test_generate_matches_the_upstream_generator(random_model, photo):
    model = random_model("sam_hq_vit_tiny")
    _assert_same_records(model.generate(photo, **LOOSE), _upstream_generator(model.model, **LOOSE).generate(photo))


def test_generate_options_match_upstream(random_model, photo):
    """multimask_output=False (upstream generate's argument) and hq_token_only=True."""
    model = random_model("sam_hq_vit_tiny")
    ours = model.generate(photo, multimask_output=False, hq_token_only=True, **LOOSE)
    theirs = _upstream_generator(model.model, hq_token_only=True, **LOOSE).generate(photo, multimask_output=False)
    _assert_same_records(ours, theirs)
    assert model.hq_token_only is False  # a per-call option leaves the model's default alone


def test_hq_token_only_attribute_sets_the_default(random_model, photo):
    model = random_model("sam_hq_vit_tiny")
    model.set_image(photo)
    box = dict(box=[40, 20, 150, 110], multimask_output=False)
    sam_plus_hq, hq_only = model.predict(**box), model.predict(**box, hq_token_only=True)
    assert not np.array_equal(sam_plus_hq[2], hq_only[2])
    try:
        model.hq_token_only = True
        for a, b in zip(model.predict(**box), hq_only):
            np.testing.assert_array_equal(a, b)
        for a, b in zip(model.predict(**box, hq_token_only=False), sam_plus_hq):
            np.testing.assert_array_equal(a, b)
    finally:
        model.hq_token_only = False


def test_unknown_load_options_are_refused_before_any_work():
    with pytest.raises(TypeError, match=r"unknown option\(s\) \['hq_tokens_only'\].*hq_token_only=False"):
        samkit.load("sam_hq_vit_tiny", weights="random", hq_tokens_only=True)
    with pytest.raises(TypeError, match=r"\['hq_token_only'\] for mobile_sam .*options \(defaults\): none"):
        samkit.load("mobile_sam", weights="random", hq_token_only=True)


def test_bfloat16_predict_and_generate(photo):
    model = samkit.load("sam_hq_vit_tiny", weights="random", device="cpu", dtype="bfloat16")
    model.set_image(photo)
    masks, scores, low = model.predict(point_coords=[[90, 60]], point_labels=[1], hq_token_only=True)
    assert masks.dtype == bool and scores.dtype == np.float32 and low.dtype == np.float32
    assert masks.shape == (1, 120, 180)
    records = model.generate(photo, **LOOSE)
    assert len(records) > 1 and all(r["segmentation"].shape == (120, 180) for r in records)


def test_mobile_sam_file_offered_as_light_hq_sam_names_it(tmp_path, random_model):
    """Light HQ-SAM shares MobileSAM's TinyViT: a mobile_sam.pt is a clear error naming MobileSAM."""
    path = tmp_path / "sam_hq_vit_tiny.pth"
    torch.save(random_model("mobile_sam").model.state_dict(), path)
    with pytest.raises(CheckpointError) as info:
        samkit.load("sam_hq_vit_tiny", checkpoint=path, device="cpu")
    message = str(info.value)
    assert "does not fit sam_hq_vit_tiny" in message and "missing keys" in message
    assert "mask_decoder.hf_token.weight" in message
    assert "looks like a checkpoint for 'mobile_sam'" in message and "Nothing was loaded" in message
    path = tmp_path / "mobile_sam.pt"
    torch.save(random_model("sam_hq_vit_tiny").model.state_dict(), path)
    with pytest.raises(CheckpointError, match="unexpected keys.*looks like a checkpoint for 'sam_hq_vit_tiny'"):
        samkit.load("mobile_sam", checkpoint=path, device="cpu")


@SLOW
def test_plain_sam_vit_b_file_offered_as_sam_hq_vit_b_names_it(tmp_path):
    path = tmp_path / "sam_hq_vit_b.pth"
    torch.save(build_random(REGISTRY["sam_vit_b"], seed=0).state_dict(), path)
    with pytest.raises(CheckpointError) as info:
        samkit.load("sam_hq_vit_b", checkpoint=path, device="cpu")
    message = str(info.value)
    assert "does not fit sam_hq_vit_b" in message and "missing keys" in message
    assert "looks like a checkpoint for 'sam_vit_b'" in message and "Nothing was loaded" in message


@pytest.mark.parametrize("name", ["sam_hq_vit_tiny", *HEAVY])
def test_parameter_count_equals_upstream_and_published(name):
    from segment_anything_hq import sam_model_registry

    spec = REGISTRY[name]
    model = samkit.load(name, weights="random", device="cpu")
    count = model.num_parameters()
    del model
    try:
        with torch.device("meta"):
            upstream = sam_model_registry[spec.arch]()
    except RuntimeError:  # TinyViT calls .item() while building: build it on the CPU
        upstream = sam_model_registry[spec.arch]()
    assert count == sum(p.numel() for p in upstream.parameters())
    if spec.params_published_m is None:
        assert spec.params_source.startswith("no published total")
    else:  # the authors' MiB-of-float32 figure, converted to millions, counts the whole model
        assert abs(count / 1e6 - spec.params_published_m) / spec.params_published_m < 0.01


def test_loading_prints_and_warns_nothing():
    code = "import samkit\nsamkit.load('sam_hq_vit_tiny', weights='random', device='cpu')\nprint('loaded')\n"
    out = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "loaded\n" and out.stderr == ""

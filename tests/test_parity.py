"""Parity: the same checkpoint file through samkit and through the upstream predictor gives the same outputs.

Random weights are saved in each family's official file layout, then loaded twice: by
``samkit.load(name, checkpoint=...)`` and by the upstream package's own builder and predictor.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import samkit
from samkit.loading import build_random
from samkit.registry import REGISTRY

DEFAULT = ["mobile_sam", "sam2.1_hiera_tiny", "sam2_hiera_tiny", "sam_vit_b"]
HEAVY = ["sam_vit_l", "sam_vit_h", "sam2_hiera_small", "sam2_hiera_base_plus", "sam2_hiera_large",
         "sam2.1_hiera_small", "sam2.1_hiera_base_plus", "sam2.1_hiera_large"]
PARAMS = [pytest.param(n) for n in DEFAULT] + [pytest.param(n, marks=pytest.mark.slow) for n in HEAVY]


def upstream_predictor(name: str, path: str):
    """The family's own builder + predictor, loading ``path`` the upstream way."""
    spec = REGISTRY[name]
    if spec.family == "sam":
        from segment_anything import SamPredictor, sam_model_registry

        return SamPredictor(sam_model_registry[spec.arch](checkpoint=path).eval())
    if spec.family == "mobile_sam":
        from mobile_sam import SamPredictor, sam_model_registry

        return SamPredictor(sam_model_registry[spec.arch](checkpoint=path).eval())
    from hydra import initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    from sam2.build_sam import build_sam2
    from sam2.sam2_image_predictor import SAM2ImagePredictor

    GlobalHydra.instance().clear()
    with initialize_config_module("sam2", version_base="1.2"):
        model = build_sam2(spec.arch, ckpt_path=path, device="cpu")
    return SAM2ImagePredictor(model)


def save_official_layout(name: str, model: torch.nn.Module, path) -> None:
    state = model.state_dict()
    torch.save({"model": state} if REGISTRY[name].layout == "model_key" else state, path)


PROMPTS = {
    "one point, multimask": dict(point_coords=np.array([[90, 60]]), point_labels=np.array([1])),
    "two points, single": dict(point_coords=np.array([[90.5, 60.25], [20, 100]]),
                               point_labels=np.array([1, 0]), multimask_output=False),
    "box": dict(box=np.array([40, 20, 150, 110]), multimask_output=False),
    "box and point": dict(point_coords=np.array([[100, 70]]), point_labels=np.array([0]),
                          box=np.array([40, 20, 150, 110])),
}


@pytest.fixture(scope="module", params=PARAMS)
def pair(request, tmp_path_factory, photo):
    """(samkit model, upstream predictor), both loaded from one random-weight file, image set."""
    name = request.param
    path = tmp_path_factory.mktemp(name) / REGISTRY[name].checkpoint
    source = build_random(REGISTRY[name], seed=7)
    save_official_layout(name, source, path)
    del source
    ours = samkit.load(name, checkpoint=path, device="cpu")
    theirs = upstream_predictor(name, str(path))
    ours.set_image(photo)
    theirs.set_image(photo)
    yield ours, theirs
    del ours, theirs


def _assert_same(ours_out, theirs_out):
    masks, scores, low = ours_out
    t_masks, t_scores, t_low = theirs_out
    assert masks.dtype == bool and masks.shape == np.asarray(t_masks).shape
    np.testing.assert_array_equal(masks, np.asarray(t_masks).astype(bool))
    np.testing.assert_array_equal(scores, np.asarray(t_scores, dtype=np.float32))
    np.testing.assert_array_equal(low, np.asarray(t_low, dtype=np.float32))


@pytest.mark.parametrize("prompt", list(PROMPTS))
def test_predict_matches_upstream(pair, prompt):
    ours, theirs = pair
    kwargs = PROMPTS[prompt]
    _assert_same(ours.predict(**kwargs), theirs.predict(**kwargs))


def test_mask_feedback_and_logits_match_upstream(pair):
    ours, theirs = pair
    first = dict(point_coords=np.array([[90, 60]]), point_labels=np.array([1]))
    _, scores, low = ours.predict(**first)
    best = low[np.argmax(scores)][None]
    second = dict(point_coords=np.array([[90, 60], [30, 30]]), point_labels=np.array([1, 0]),
                  mask_input=best, multimask_output=False)
    _assert_same(ours.predict(**second), theirs.predict(**second))
    logits, _, _ = ours.predict(**second, return_logits=True)
    t_logits, _, _ = theirs.predict(**second, return_logits=True)
    assert logits.dtype == np.float32 and logits.shape == (1, 120, 180)
    np.testing.assert_array_equal(logits, np.asarray(t_logits, dtype=np.float32))


def test_output_contract(pair):
    ours, _ = pair
    masks, scores, low = ours.predict(**PROMPTS["one point, multimask"])
    assert masks.shape == (3, 120, 180) and masks.dtype == bool
    assert scores.shape == (3,) and scores.dtype == np.float32
    assert low.shape == (3, 256, 256) and low.dtype == np.float32
    assert ours.original_size == (120, 180) and ours.is_image_set

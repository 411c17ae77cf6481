"""The Segmenter contract, for every registered model: a new family is tested by being registered.

Each family's smallest model runs in the default suite (transformers families at their tiny config;
see `DEFAULT_MAX_PARAMS_M` for the one exception); every other registered model runs the same checks
under ``slow``. What is checked is the interface
(shapes, dtypes, capability and prompt errors, the generator's record keys), never accuracy: the
weights are random.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

import samkit
from samkit.errors import NotReadyError, PromptError, UnsupportedError
from samkit.loading import adapter_class
from samkit.registry import CAPABILITIES, get_spec, list_models

AMG_KEYS = {"segmentation", "area", "bbox", "predicted_iou", "point_coords", "stability_score", "crop_box"}
PROMPTS = {"points": "point prompts", "box": "box prompts", "mask_input": "mask_input"}


#: a family's smallest model runs by default up to this many published parameters (millions): SAM's
#: smallest, ViT-B (91M), embeds for ~40 s on one CPU thread, so its contract runs under ``slow``; its
#: interface is also covered by the default parity tests (tests/models/test_parity.py)
DEFAULT_MAX_PARAMS_M = 50.0


def _smallest_per_family() -> set[str]:
    """The model of each family with the smallest published parameter count (its first where the
    family publishes none)."""
    by_family: dict[str, list[str]] = defaultdict(list)
    for name in list_models():
        by_family[get_spec(name).family].append(name)
    return {
        min(names, key=lambda n: (get_spec(n).params_published_m is None, get_spec(n).params_published_m or 0.0))
        for names in by_family.values()
    }


SMALLEST = _smallest_per_family()


def _tiny_config(name: str) -> bool:
    """True for families built from a config that has a tiny variant (SAM 3, EdgeTAM)."""
    return "config" in getattr(adapter_class(get_spec(name)), "build_options", {})


DEFAULT = {n for n in SMALLEST if _tiny_config(n) or (get_spec(n).params_published_m or 0.0) <= DEFAULT_MAX_PARAMS_M}
MODELS = [pytest.param(n, marks=() if n in DEFAULT else pytest.mark.slow) for n in list_models()]


def _model(random_model, name: str):
    """The session's cached random-weight CPU model (tests/conftest.py); transformers families at
    their tiny config."""
    return random_model(name, **({"config": "tiny"} if _tiny_config(name) else {}))


_EMBEDDED: dict[str, samkit.models.Segmenter] = {}


@pytest.fixture()
def model(request, photo, random_model):
    """The model with the photo embedded once for all the tests of this file (they only prompt it)."""
    if request.param not in _EMBEDDED:
        m = _model(random_model, request.param)._sibling()  # its own image state; the weights are shared
        m.set_image(photo)
        _EMBEDDED[request.param] = m
    return _EMBEDDED[request.param]


def _check_outputs(outputs, hw, multimask: bool) -> np.ndarray:
    masks, scores, logits = outputs
    assert masks.dtype == bool and masks.ndim == 3 and masks.shape[1:] == hw
    assert scores.dtype == np.float32 and scores.shape == (len(masks),)
    assert logits.dtype == np.float32 and logits.ndim == 3 and len(logits) == len(masks)
    assert logits.shape[1] == logits.shape[2]
    assert len(masks) >= 1 and (multimask or len(masks) == 1)
    return logits


def test_every_family_has_a_default_suite_model():
    families = {get_spec(n).family for n in list_models()}
    assert {get_spec(n).family for n in SMALLEST} == families


@pytest.mark.parametrize("name", MODELS)
def test_spec_and_capabilities(name):
    spec = get_spec(name)
    assert spec.name == name and set(spec.capabilities) <= set(CAPABILITIES)
    assert spec.checkpoint and spec.url.startswith(("https://", "http://")) and spec.license
    assert issubclass(adapter_class(spec), samkit.models.Segmenter)


@pytest.mark.parametrize("model", MODELS, indirect=True)
def test_prompts_give_the_interface_shapes_and_dtypes(model, photo):
    hw = photo.shape[:2]
    caps = model.capabilities
    if "points" in caps:
        for multimask in (True, False):
            logits = _check_outputs(
                model.predict(point_coords=[[90, 60]], point_labels=[1], multimask_output=multimask), hw, multimask
            )
        if "mask_input" in caps:
            _check_outputs(
                model.predict(point_coords=[[90, 60]], point_labels=[1], mask_input=logits[:1], multimask_output=False),
                hw,
                False,
            )
        masks, _, _ = model.predict(point_coords=[[90, 60]], point_labels=[1], return_logits=True)
        assert masks.dtype == np.float32 and masks.shape[1:] == hw
    if "box" in caps:
        _check_outputs(model.predict(box=[20, 10, 150, 100], multimask_output=False), hw, False)
        masks, scores, _ = model.predict_boxes([[20, 10, 150, 100], [0, 0, 50, 40]])
        assert masks.shape[:2] == scores.shape and masks.shape[0] == 2 and masks.shape[2:] == hw


@pytest.mark.parametrize("model", MODELS, indirect=True)
def test_num_parameters_counts_the_whole_module(model):
    count = model.num_parameters()
    assert count == sum(p.numel() for p in model.model.parameters()) > 0


@pytest.mark.parametrize("model", MODELS, indirect=True)
def test_bad_prompts_are_prompt_errors(model):
    caps = model.capabilities
    if "points" in caps:
        with pytest.raises(PromptError, match="inside the image|outside"):
            model.predict(point_coords=[[500, 60]], point_labels=[1])
        with pytest.raises(PromptError, match="label"):
            model.predict(point_coords=[[90, 60]], point_labels=[2])
        with pytest.raises(PromptError, match="together"):
            model.predict(point_coords=[[90, 60]])
    with pytest.raises(PromptError, match="needs a prompt"):
        model.predict()
    if "box" in caps:
        with pytest.raises(PromptError, match="XYXY"):
            model.predict(box=[150, 10, 20, 100])
        with pytest.raises(PromptError, match="\\(B, 4\\)"):
            model.predict_boxes(np.zeros((0, 4)))
        with pytest.raises(PromptError, match="\\(B, 4\\)"):
            model.predict_boxes(np.zeros((2, 3)))
        with pytest.raises(PromptError, match="x0 <= x1"):
            model.predict_boxes([[5, 5, 60, 50], [50, 5, 10, 50]])


@pytest.mark.parametrize("model", MODELS, indirect=True)
def test_a_missing_capability_names_the_models_that_have_it(model):
    lacking = [c for c in PROMPTS if c not in model.capabilities]
    for capability in lacking:
        kwargs = {
            "points": {"point_coords": [[9, 9]], "point_labels": [1]},
            "box": {"box": [0, 0, 9, 9]},
            "mask_input": {
                "point_coords": [[9, 9]],
                "point_labels": [1],
                "mask_input": np.zeros((1, 256, 256), np.float32),
            },
        }[capability]
        if capability == "mask_input" and "points" not in model.capabilities:
            continue
        supporter = list_models(capability=capability)[0]
        with pytest.raises(UnsupportedError, match=f"{model.name} does not support .*{supporter}"):
            model.predict(**kwargs)


@pytest.mark.parametrize("name", MODELS)
def test_predict_before_set_image_is_not_ready(name, random_model):
    fresh = _model(random_model, name)._sibling()
    prompt = (
        {"point_coords": [[5, 5]], "point_labels": [1]} if "points" in fresh.capabilities else {"box": [0, 0, 5, 5]}
    )
    with pytest.raises(NotReadyError, match="set_image"):
        fresh.predict(**prompt)


@pytest.mark.parametrize("model", MODELS, indirect=True)
def test_generate_gives_the_automatic_mask_generator_records(model, photo):
    if "automatic" not in model.capabilities:
        with pytest.raises(UnsupportedError):
            model.generate(photo)
        return
    if model.generator_kind == "grid":
        records = model.generate(photo, points_per_side=2, pred_iou_thresh=0.0, stability_score_thresh=0.0)
    else:
        records = model.generate(photo)
    assert isinstance(records, list)
    for record in records:
        assert AMG_KEYS <= set(record) and record["segmentation"].shape == photo.shape[:2]

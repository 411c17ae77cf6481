"""SAM3-LiteText through transformers: a tiny random ``Sam3LiteTextModel`` saved in the hub layout,
loaded by samkit and by transformers directly (``Sam3LiteTextModel.from_pretrained`` +
``Sam3Processor``, the documented usage), gives the same instances, masks, scores and boxes for
text prompts; the released text encoders have the published parameter counts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import samkit
from samkit.backends.transformers import seeded_build, transformers_module
from samkit.errors import CheckpointError, UnsupportedError
from samkit.models.sam3 import stand_in_tokenizer
from samkit.models.sam3_litetext import TEXT_CONFIGS, Sam3LiteTextSegmenter, hub_config
from samkit.registry import REGISTRY

SIDE = 112
#: transformers' sam3_lite_text docs, "Text Params" (text encoder + projection), millions, 2 decimals
PUBLISHED_TEXT_M = {"s0": 42.54, "s1": 63.53, "l": 123.80}


@pytest.fixture(scope="module")
def hub_folder(tmp_path_factory):
    tf = transformers_module()
    folder = tmp_path_factory.mktemp("litetext_hub")
    seeded_build(lambda: tf.Sam3LiteTextModel(hub_config("tiny")), seed=3).save_pretrained(folder)
    image_processor = tf.Sam3ImageProcessor(size={"height": SIDE, "width": SIDE})
    tf.Sam3Processor(image_processor=image_processor, tokenizer=stand_in_tokenizer(), target_size=SIDE).save_pretrained(
        folder
    )
    return folder


@pytest.fixture(scope="module")
def ours(hub_folder):
    return samkit.load("sam3_litetext_s0", checkpoint=hub_folder, device="cpu")


@pytest.fixture(scope="module")
def reference(hub_folder):
    tf = transformers_module()
    model, info = tf.Sam3LiteTextModel.from_pretrained(str(hub_folder), output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"]
    return model.eval(), tf.Sam3Processor.from_pretrained(str(hub_folder))


def test_registry_entries():
    for variant in ("s0", "s1", "l"):
        spec = REGISTRY[f"sam3_litetext_{variant}"]
        assert spec.family == "sam3_litetext" and spec.arch == variant and spec.layout == "hf"
        assert spec.hub_repo == f"vil-uob/sam3-litetext-{variant}" and not spec.gated
        assert spec.license == "Apache-2.0" and spec.capabilities == {"text"} and spec.input_size == 1008


def test_text_matches_transformers(ours, reference, photo):
    phrase = "a cat"
    ours.set_image(photo)
    threshold = 0.2  # random weights score about 0.25: keep some instances
    out = ours.predict_text(phrase, box_threshold=threshold)
    model, processor = reference
    inputs = processor(images=photo, text=phrase, return_tensors="pt")
    with torch.inference_mode():
        raw = model(**{k: v for k, v in inputs.items() if k != "original_sizes"})
    ref = processor.post_process_instance_segmentation(
        raw, threshold=threshold, mask_threshold=0.5, target_sizes=inputs["original_sizes"].tolist()
    )[0]
    order = torch.argsort(ref["scores"], descending=True, stable=True)
    assert len(out.scores) == len(order) > 0 and out.labels == [phrase] * len(order)
    np.testing.assert_array_equal(out.masks, ref["masks"][order].numpy().astype(bool))
    np.testing.assert_allclose(out.scores, ref["scores"][order].numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out.boxes, ref["boxes"][order].numpy(), rtol=1e-4, atol=1e-3)
    masks, scores, low_res = ours.predict(text=phrase, box_threshold=threshold)
    assert masks.shape == (len(scores), 120, 180) and low_res.shape == (len(scores), 32, 32)


def test_only_text_prompts(ours, photo):
    ours.set_image(photo)
    with pytest.raises(UnsupportedError, match="sam3_litetext_s0 does not support point prompts"):
        ours.predict(point_coords=[[10, 10]], point_labels=[1])
    with pytest.raises(UnsupportedError, match="box prompts"):
        ours.predict_boxes([[0, 0, 20, 20]])
    with pytest.raises(UnsupportedError):
        ours.generate(photo)
    with pytest.raises(UnsupportedError, match="video"):
        ours.video([photo, photo])


def test_set_images_keeps_each_images_text_state(ours, photo):
    other = np.ascontiguousarray(photo[::-1])
    ours.set_images([photo, other])
    ours.select_image(1)
    from_batch = ours.predict_text("a cat", box_threshold=0.0)
    ours.set_image(other)
    alone = ours.predict_text("a cat", box_threshold=0.0)
    np.testing.assert_allclose(from_batch.scores, alone.scores, rtol=1e-4, atol=1e-5)


def test_parameters_equal_transformers(ours, reference):
    assert ours.num_parameters() == reference[0].num_parameters()


def test_released_text_encoders_have_the_published_size():
    """The text encoder + projection of each full variant (the part LiteText changes), built on the
    meta device, against transformers' docs table (two decimals)."""
    tf = transformers_module()
    for variant, published in PUBLISHED_TEXT_M.items():
        config = hub_config("full", variant)
        with torch.device("meta"):
            text = tf.Sam3LiteTextTextModel(config.text_config)
            proj = torch.nn.Linear(config.text_config.hidden_size, config.detr_encoder_config.hidden_size)
        count = sum(p.numel() for p in text.parameters()) + sum(p.numel() for p in proj.parameters())
        assert round(count / 1e6, 2) == published, variant
    assert set(TEXT_CONFIGS) == set(PUBLISHED_TEXT_M)


@pytest.mark.slow
def test_full_size_parameters_against_the_readme():
    """Whole models: the README's totals (550.0 / 571.0 / 631.3M) add SAM 3 parts the detector-only
    checkpoint lacks; the non-text part is the same for all three (486.65M built, 507.5M in the README)."""
    for variant, published_text in PUBLISHED_TEXT_M.items():
        spec = REGISTRY[f"sam3_litetext_{variant}"]
        with torch.device("meta"):
            model = Sam3LiteTextSegmenter.build_architecture(spec)
        total = sum(p.numel() for p in model.parameters()) / 1e6
        assert round(total - published_text, 2) == 486.65
        assert round(spec.params_published_m - {"s0": 42.5, "s1": 63.5, "l": 123.8}[variant], 1) == 507.5


def test_random_tiny_text(photo):
    model = samkit.load("sam3_litetext_s0", weights="random", config="tiny", device="cpu")
    assert str(model.weights) == "random(seed=0, config=tiny)"
    model.set_image(photo)
    masks, scores, _ = model.predict(text="dog", box_threshold=0.0)
    assert len(masks) == len(scores) == 8  # every query of the tiny detector


def test_a_sam3_folder_is_not_a_litetext_checkpoint(tmp_path):
    from samkit.models.sam3 import hub_config as sam3_config

    tf = transformers_module()
    seeded_build(lambda: tf.Sam3Model(sam3_config("tiny").detector_config), seed=0).save_pretrained(tmp_path)
    with pytest.raises(CheckpointError, match="Sam3LiteTextConfig"):
        samkit.load("sam3_litetext_s0", checkpoint=tmp_path, device="cpu")

"""Text prompts on every model: natively (SAM 3) or through an attached open-vocabulary detector
(``samkit.load(name, text_detector=...)``). Through a detector, ``predict_text`` must give exactly
the Grounded-SAM pipeline's records (the detector's boxes, then the model's own batched
``predict_boxes``); bad input gets a clear error."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

import samkit
from samkit.detectors import UnknownDetectorError, load_detector
from samkit.errors import NotReadyError, PromptError, UnsupportedError
from samkit.pipelines import GroundedSegmenter, PipelineResult, attach_text_detector

os.environ.setdefault("HF_HUB_OFFLINE", "1")

TINY = {"config": "tiny"}


@pytest.fixture(scope="module")
def detector():
    return load_detector("grounding_dino_tiny", "random", config="tiny", device="cpu", seed=0)


@pytest.fixture()
def texted(random_model, detector):
    """random mobile_sam (a sibling of the cached one: the cache keeps no detector) with the detector."""
    return attach_text_detector(random_model("mobile_sam")._sibling(), detector)


def _same(a: PipelineResult, b: PipelineResult) -> None:
    assert a.labels == b.labels and len(a) == len(b)
    np.testing.assert_array_equal(a.boxes, b.boxes)
    np.testing.assert_array_equal(a.scores, b.scores)
    np.testing.assert_array_equal(a.masks, b.masks)
    np.testing.assert_array_equal(a.mask_scores, b.mask_scores)


def test_predict_text_is_the_grounded_pipeline(texted, detector, random_model, photo):
    assert "text" in texted.capabilities and "text" not in random_model("mobile_sam").capabilities
    assert texted.text_source == "detector:grounding_dino_tiny"
    texted.set_image(photo)
    thresholds = {"box_threshold": 0.9999, "text_threshold": 0.9999}  # random scores are ~1: keep a few
    ours = texted.predict_text("a dog. a cat.", **thresholds)
    pipeline = GroundedSegmenter(detector, random_model("mobile_sam")._sibling())
    ref = pipeline(photo, "a dog. a cat.", **thresholds)
    assert len(ours) > 0 and set(ours.labels) <= {"a dog", "a cat"}
    _same(ours, ref)
    assert ours.detector == "grounding_dino_tiny" and ours.segmenter == "mobile_sam"
    assert ours.prompt == ["a dog", "a cat"]
    assert ours.detect_ms > 0 and ours.decoder_ms > 0 and math.isnan(ours.encoder_ms)
    assert ours.low_res_logits.shape == (len(ours), 256, 256)
    masks, scores, low_res = texted.predict(text=["a dog", "a cat"], **thresholds)
    np.testing.assert_array_equal(masks, ours.masks)
    np.testing.assert_array_equal(scores, ours.scores)
    np.testing.assert_array_equal(low_res, ours.low_res_logits)
    assert np.all(np.diff(scores) <= 0)


def test_nothing_found_is_an_empty_result(texted, photo):
    texted.set_image(photo)
    result = texted.predict_text("a dog", box_threshold=1.0)
    assert len(result) == 0 and result.masks.shape == (0, *photo.shape[:2])
    assert math.isnan(result.decoder_ms)
    masks, scores, low_res = texted.predict(text="a dog", box_threshold=1.0)
    assert masks.shape == (0, *photo.shape[:2]) and scores.shape == (0,) and low_res.shape == (0, 256, 256)


def test_text_errors(texted, random_model, photo):
    with pytest.raises(NotReadyError, match="set_image"):
        texted.predict_text("a dog")
    texted.set_image(photo)
    for empty in ("", " . ", []):
        with pytest.raises(PromptError, match="empty"):
            texted.predict(text=empty)
    with pytest.raises(PromptError, match="text alone"):
        texted.predict(point_coords=[[5, 5]], point_labels=[1], text="a dog")
    with pytest.raises(PromptError, match="return_logits"):
        texted.predict(text="a dog", return_logits=True)
    with pytest.raises(TypeError, match="box_threshold"):
        texted.predict(point_coords=[[5, 5]], point_labels=[1], box_threshold=0.3)
    with pytest.raises(ValueError, match="box_threshold"):
        texted.predict_text("a dog", box_threshold=1.5)
    plain = random_model("mobile_sam")
    plain.set_image(photo)
    with pytest.raises(UnsupportedError) as info:
        plain.predict(text="a dog")
    assert "sam3" in str(info.value) and "text_detector='grounding_dino_tiny'" in str(info.value)


def test_load_with_text_detector_and_its_errors():
    model = samkit.load(
        "mobile_sam", weights="random", device="cpu", text_detector="grounding_dino_tiny", text_detector_options=TINY
    )
    assert model.text_detector.weights.kind == "random"  # follows the model's weights
    assert str(model.text_detector.weights) == "random(seed=0, config=tiny)"
    with pytest.raises(UnknownDetectorError, match="grounding_dino_tiny"):
        samkit.load("mobile_sam", weights="random", device="cpu", text_detector="grounding_dino_tyni")
    with pytest.raises(ValueError, match="open-vocabulary"):
        samkit.load("mobile_sam", weights="random", device="cpu", text_detector="yolo11n")
    with pytest.raises(ValueError, match="without text_detector"):
        samkit.load("mobile_sam", weights="random", device="cpu", text_detector_options=TINY)
    with pytest.raises(ValueError, match="natively"):
        samkit.load(
            "sam3",
            weights="random",
            config="tiny",
            device="cpu",
            text_detector="grounding_dino_tiny",
            text_detector_options=TINY,
        )
    assert attach_text_detector(model, None).text_detector is None and "text" not in model.capabilities


@pytest.mark.parametrize("name", ["sam_hq_vit_tiny", "fastsam_s", "efficient_sam_vitt", "edgetam"])
def test_every_family_predict_takes_text(name, random_model, detector):
    """Each family's own ``predict`` passes ``text=`` on: it reaches ``predict_text`` (no image set
    yet: NotReadyError), not a TypeError of the override."""
    if name == "edgetam":
        model = samkit.load(name, weights="random", config="tiny", device="cpu")
    else:
        model = random_model(name)._sibling()
    with pytest.raises(UnsupportedError, match="text_detector"):
        model.predict(text="a dog")
    attach_text_detector(model, detector)
    with pytest.raises(NotReadyError, match="before predict\\(text"):
        model.predict(text="a dog")


def test_capability_table_says_native_or_detector():
    table = samkit.model_table()
    native = ["sam3", "sam3_litetext_s0", "sam3_litetext_s1", "sam3_litetext_l", "sam3.1"]  # SAM 3's text head
    assert (table.loc[native, "text"] == "native").all()
    assert (table.drop(index=native)["text"] == "detector").all()  # every other model takes boxes

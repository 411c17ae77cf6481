"""samkit.pipelines.TagThenSegment on a tiny random CLIP tagger, a tiny random Grounding DINO
and random-weight mobile_sam: its records must be the tagger's tags, then exactly what
`GroundedSegmenter` gives for those tags as the text prompt, with every stage timed."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

from samkit.detectors import load_detector
from samkit.errors import ImageError
from samkit.pipelines import GroundedSegmenter, PipelineResult, TaggedResult, TagThenSegment
from samkit.taggers import Tags, UnknownTaggerError, load_tagger

os.environ.setdefault("HF_HUB_OFFLINE", "1")

SEGMENTER = "mobile_sam"
VOCAB = ["dog", "cat", "person", "car", "bird", "tree"]
_CACHE: dict[str, object] = {}


def _tagger():
    if "tagger" not in _CACHE:
        _CACHE["tagger"] = load_tagger("clip_vit_b32", "random", config="tiny", device="cpu", seed=0, vocabulary=VOCAB)
    return _CACHE["tagger"]


def _det(name: str = "grounding_dino_tiny"):
    if name not in _CACHE:
        det = load_detector(name, "random", config="full" if name.startswith("yolo") else "tiny", device="cpu", seed=0)
        if name.startswith("yolo"):
            det.imgsz = 160
        _CACHE[name] = det
    return _CACHE[name]


def _threshold_for_few(scores: np.ndarray, k: int = 2, most: int = 8) -> float:
    """A box threshold keeping the best >= k (<= most) boxes, cut between two distinct scores."""
    s = np.sort(np.asarray(scores, np.float64))[::-1]
    cuts = [i for i in range(k, len(s)) if s[i - 1] > s[i]]
    assert cuts and cuts[0] <= most, f"no cut keeping {k}..{most} of the scores {s[: most + 1]}"
    return float((s[cuts[0] - 1] + s[cuts[0]]) / 2)


def test_tag_then_segment_is_tags_then_grounded(photo, random_model, monkeypatch):
    tagger, det, seg = _tagger(), _det(), random_model(SEGMENTER)
    tags = tagger.tag(photo, top_k=3)
    assert len(tags) == 3
    prompt = tags.as_prompt()
    thr = _threshold_for_few(det.detect(photo, text=prompt, box_threshold=0.0, text_threshold=0.0).scores)
    pipe = TagThenSegment(tagger, det, seg, top_k=3)
    assert pipe.detector is det and pipe.segmenter is seg and pipe.tagger is tagger

    calls = {"tag": 0, "_predict_boxes": 0}
    for obj, name in ((tagger, "tag"), (seg, "_predict_boxes")):

        def counted(*a, _name=name, _fn=getattr(obj, name), **k):
            calls[_name] += 1
            return _fn(*a, **k)

        monkeypatch.setattr(obj, name, counted)
    out = pipe(photo, box_threshold=thr, text_threshold=0.0)
    assert calls == {"tag": 1, "_predict_boxes": 1}
    monkeypatch.undo()

    assert isinstance(out, TaggedResult) and isinstance(out.result, PipelineResult)
    assert out.tags.names == tags.names and np.array_equal(out.tags.scores, tags.scores)
    assert out.tagger == "clip_vit_b32" and out.result.prompt == prompt == out.prompt
    assert len(out) > 0 and set(out.labels) <= set(tags.names)
    assert out.tag_ms > 0 and out.detect_ms > 0 and out.encoder_ms > 0 and out.decoder_ms > 0
    assert out.total_ms == pytest.approx(out.tag_ms + out.result.total_ms)

    ref = GroundedSegmenter(det, seg)(photo, prompt, box_threshold=thr, text_threshold=0.0)
    assert out.labels == ref.labels and out.image_size == ref.image_size == photo.shape[:2]
    np.testing.assert_array_equal(out.scores, ref.scores)
    np.testing.assert_array_equal(out.boxes, ref.boxes)
    np.testing.assert_array_equal(out.masks, ref.masks)
    np.testing.assert_array_equal(out.mask_scores, ref.mask_scores)
    # reads like its PipelineResult
    assert [o.label for o in out] == out.labels and out[0].mask.shape == photo.shape[:2]
    assert list(out.to_dataframe().columns) == list(ref.to_dataframe().columns)
    ids = {t: i + 1 for i, t in enumerate(VOCAB)}
    assert [r["category_id"] for r in out.to_coco(7, ids)] == [ids[lab] for lab in out.labels]


def test_no_tag_above_threshold_is_empty_and_runs_nothing(photo, random_model, monkeypatch):
    det, seg = _det(), random_model(SEGMENTER)
    pipe = TagThenSegment(_tagger(), det, seg, tag_threshold=1.0)

    def must_not_run(*_, **__):
        raise AssertionError("the detector / segmenter ran without tags")

    monkeypatch.setattr(det, "detect", must_not_run)
    monkeypatch.setattr(seg, "set_image", must_not_run)
    monkeypatch.setattr(seg, "predict_boxes", must_not_run)
    out = pipe(photo)
    assert isinstance(out.tags, Tags) and len(out.tags) == 0 and len(out) == 0
    assert out.tag_ms > 0 and out.prompt == ""
    assert math.isnan(out.detect_ms) and math.isnan(out.encoder_ms) and math.isnan(out.decoder_ms)
    assert out.total_ms == out.tag_ms
    assert out.result.detector == "grounding_dino_tiny" and out.result.segmenter == SEGMENTER
    assert out.masks.shape == (0, *photo.shape[:2]) and out.to_coco(1, {}) == []
    # the call's own threshold overrides the pipeline's
    monkeypatch.undo()
    assert len(pipe(photo, tag_threshold=0.0, top_k=1, box_threshold=1.0).tags) == 1


def test_components_by_name(random_model):
    pipe = TagThenSegment(
        "clip_vit_b32",
        "grounding_dino_tiny",
        random_model(SEGMENTER),
        weights="random",
        device="cpu",
        top_k=2,
        tagger_options={"config": "tiny", "vocabulary": VOCAB},
        detector_options={"config": "tiny"},
    )
    assert pipe.tagger.name == "clip_vit_b32" and pipe.tagger.weights.config == "tiny"
    assert pipe.tagger.vocabulary == VOCAB and pipe.detector.weights.kind == "random"
    assert pipe.segmenter is random_model(SEGMENTER) and pipe.top_k == 2
    assert "clip_vit_b32" in repr(pipe) and "grounding_dino_tiny" in repr(pipe)


def test_bad_input(photo, random_model):
    tagger, det, seg = _tagger(), _det(), random_model(SEGMENTER)
    for k in (0, 2.5):
        with pytest.raises(ValueError, match="top_k"):
            TagThenSegment(tagger, det, seg, top_k=k)
    with pytest.raises(ValueError, match="tag_threshold"):
        TagThenSegment(tagger, det, seg, tag_threshold=1.5)
    with pytest.raises(TypeError, match="tagger"):
        TagThenSegment(object(), det, seg)
    with pytest.raises(UnknownTaggerError, match="clip_vit_b32"):
        TagThenSegment("clip_vit_b23", det, seg)
    with pytest.raises(ValueError, match="open-vocabulary"):
        TagThenSegment(tagger, _det("yolo11n"), seg)
    pipe = TagThenSegment(tagger, det, seg)
    with pytest.raises(ValueError, match="box_threshold"):
        pipe(photo, box_threshold=2.0)
    with pytest.raises(ValueError, match="tag_threshold"):
        pipe(photo, tag_threshold=-0.5)
    with pytest.raises(ImageError):
        pipe(photo.astype(np.float32) / 255)

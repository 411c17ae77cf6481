"""samkit.pipelines: GroundedSegmenter and DetectThenSegment on tiny random detectors and
random-weight mobile_sam. Their records must be exactly the detector's boxes plus the segmenter's
own ``predict_boxes`` on those boxes, from one batched decoder call, with every stage timed."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest

from samkit.detectors import UnknownDetectorError, load_detector
from samkit.errors import ImageError, PromptError
from samkit.pipelines import DetectThenSegment, GroundedSegmenter, PipelineResult, SegmentedObject

os.environ.setdefault("HF_HUB_OFFLINE", "1")

PROMPT = "a dog. a cat."
SEGMENTER = "mobile_sam"
_CACHE: dict[str, object] = {}


def _det(name: str):
    if name not in _CACHE:
        if name.startswith("yolo"):
            det = load_detector(name, "random", device="cpu", seed=0)
            det.imgsz = 160  # small input keeps the test fast
        else:
            det = load_detector(name, "random", config="tiny", device="cpu", seed=0)
        _CACHE[name] = det
    return _CACHE[name]


def _threshold_for_few(scores: np.ndarray, k: int = 3, most: int = 8) -> float:
    """A threshold that keeps the best >= k (and <= most) boxes, cut between two distinct scores
    (random weights find many boxes; few keep the decoder cheap)."""
    s = np.sort(np.asarray(scores, np.float64))[::-1]
    cuts = [i for i in range(k, len(s)) if s[i - 1] > s[i]]
    assert cuts and cuts[0] <= most, f"no cut keeping {k}..{most} of the scores {s[: most + 1]}"
    i = cuts[0]
    return float((s[i - 1] + s[i]) / 2)


class DecoderCalls:
    """Counts mask-decoder forwards, ``_predict_boxes`` calls and per-prompt ``predict`` calls."""

    def __init__(self, seg, monkeypatch):
        self.decoder = self.batched = self.single = 0
        batched, single = seg._predict_boxes, seg.predict

        def count_batched(*a, **k):
            self.batched += 1
            return batched(*a, **k)

        def count_single(*a, **k):
            self.single += 1
            return single(*a, **k)

        monkeypatch.setattr(seg, "_predict_boxes", count_batched)
        monkeypatch.setattr(seg, "predict", count_single)
        self._hook = seg.model.mask_decoder.register_forward_hook(self._count)

    def _count(self, *_):
        self.decoder += 1

    def remove(self):
        self._hook.remove()


def _check_against_components(result: PipelineResult, detections, masks, scores, image):
    assert isinstance(result, PipelineResult) and len(result) == len(detections) > 0
    assert result.image_size == image.shape[:2]
    assert result.labels == list(detections.labels)
    np.testing.assert_array_equal(result.scores, detections.scores)
    np.testing.assert_array_equal(result.boxes, detections.boxes)
    np.testing.assert_array_equal(result.masks, masks[:, 0])
    np.testing.assert_array_equal(result.mask_scores, scores[:, 0])
    for obj in result:
        assert obj.mask.shape == image.shape[:2] and obj.mask.dtype == bool
        assert obj.box.dtype == np.float32 and obj.box.shape == (4,)
    assert result.detect_ms > 0 and result.encoder_ms > 0 and result.decoder_ms > 0
    assert result.total_ms == pytest.approx(result.detect_ms + result.encoder_ms + result.decoder_ms)


def _check_coco_round_trip(result: PipelineResult, category_ids: dict[str, int]):
    from pycocotools import mask as mask_utils

    coco = result.to_coco(3, category_ids)
    json.dumps(coco)
    assert len(coco) == len(result)
    for rec, obj in zip(coco, result):
        assert rec["image_id"] == 3 and rec["category_id"] == category_ids[obj.label]
        x0, y0, x1, y1 = obj.box.tolist()
        assert rec["bbox"] == pytest.approx([x0, y0, x1 - x0, y1 - y0])
        assert rec["score"] == pytest.approx(obj.score)
        rle = dict(rec["segmentation"], counts=rec["segmentation"]["counts"].encode())
        np.testing.assert_array_equal(mask_utils.decode(rle).astype(bool), obj.mask)


# ---------------------------------------------------------------------- records
def _result(masks, labels, image_size=(6, 8)):
    objs = [SegmentedObject(lab, 0.9 - 0.1 * i, [1, 1, 4, 5], m, 0.5) for i, (lab, m) in enumerate(zip(labels, masks))]
    return PipelineResult(objs, image_size, 1.0, 2.0, 3.0, "det", "seg", "x")


def test_records_dataframe_coco_and_cocoeval():
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    rng = np.random.default_rng(0)
    masks = np.zeros((2, 6, 8), bool)
    masks[0, 1:4, 2:6] = True
    masks[1] = rng.random((6, 8)) > 0.5
    res = _result(masks, ["dog", "cat"])
    assert len(res) == 2 and res.total_ms == 6.0 and res[1].class_name == "cat"
    assert res[0].phrase == "dog" and res[0].confidence == pytest.approx(0.9)
    df = res.to_dataframe()
    assert list(df.columns) == ["label", "score", "x0", "y0", "x1", "y1", "mask_score", "area"]
    assert df["area"].tolist() == [12, int(masks[1].sum())]
    _check_coco_round_trip(res, {"dog": 18, "cat": 17})
    with pytest.raises(KeyError, match="cat"):
        res.to_coco(1, {"dog": 18})

    # the records load as COCO results: perfect masks score AP 1 against themselves
    from pycocotools import mask as mask_utils

    anns = []
    for i, (m, cat) in enumerate(zip(masks, (18, 17))):
        rle = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
        rle["counts"] = rle["counts"].decode()
        anns.append(
            {
                "id": i + 1,
                "image_id": 3,
                "category_id": cat,
                "segmentation": rle,
                "area": float(m.sum()),
                "bbox": list(mask_utils.toBbox(rle)),
                "iscrowd": 0,
            }
        )
    gt = COCO()
    gt.dataset = {
        "images": [{"id": 3, "height": 6, "width": 8}],
        "annotations": anns,
        "categories": [{"id": 17, "name": "cat"}, {"id": 18, "name": "dog"}],
    }
    gt.createIndex()
    ev = COCOeval(gt, gt.loadRes(res.to_coco(3, {"dog": 18, "cat": 17})), "segm")
    ev.params.areaRng = [[0, 1e5]] * 4  # tiny test masks: judge them all as one range
    ev.evaluate(), ev.accumulate()
    assert ev.eval["precision"][0, :, :, 0, -1].mean() == pytest.approx(1.0)  # AP at IoU 0.5

    empty = PipelineResult([], (6, 8), 1.0, 0.0, 0.0)
    assert empty.to_coco(1, {}) == [] and len(empty.to_dataframe()) == 0
    assert empty.masks.shape == (0, 6, 8) and empty.boxes.shape == (0, 4)
    with pytest.raises(ValueError, match="bool"):
        SegmentedObject("a", 0.5, [0, 0, 1, 1], np.zeros((3, 3), np.uint8), 0.1)
    with pytest.raises(ValueError, match="box"):
        SegmentedObject("a", 0.5, [0, 0, 1], np.zeros((3, 3), bool), 0.1)


# ---------------------------------------------------------------------- GroundedSegmenter
def test_grounded_equals_detector_plus_one_batched_predict_boxes(photo, random_model, monkeypatch):
    det, seg = _det("grounding_dino_tiny"), random_model(SEGMENTER)
    thr = _threshold_for_few(det.detect(photo, text=PROMPT, box_threshold=0.0, text_threshold=0.0).scores)
    pipe = GroundedSegmenter(det, seg)
    calls = DecoderCalls(seg, monkeypatch)
    try:
        result = pipe(photo, PROMPT, box_threshold=thr, text_threshold=0.0)
    finally:
        calls.remove()
    assert (calls.decoder, calls.batched, calls.single) == (1, 1, 0)
    assert result.detector == "grounding_dino_tiny" and result.segmenter == SEGMENTER
    assert result.prompt == PROMPT and set(result.labels) <= {"a dog", "a cat"}

    detections = det.detect(photo, text=PROMPT, box_threshold=thr, text_threshold=0.0)
    seg.reset_image()
    seg.set_image(photo)  # an independent embedding of the same image
    masks, scores, _ = seg.predict_boxes(detections.boxes, multimask_output=False)
    _check_against_components(result, detections, masks, scores, photo)
    _check_coco_round_trip(result, {"a dog": 18, "a cat": 17})


def test_grounded_nothing_detected_is_an_empty_result(photo, random_model, monkeypatch):
    seg = random_model(SEGMENTER)
    pipe = GroundedSegmenter(_det("grounding_dino_tiny"), seg)
    calls = DecoderCalls(seg, monkeypatch)
    try:
        result = pipe(photo, PROMPT, box_threshold=1.0)
    finally:
        calls.remove()
    assert len(result) == 0 and calls.decoder == calls.batched == 0
    assert result.detect_ms > 0 and math.isnan(result.encoder_ms) and math.isnan(result.decoder_ms)
    assert result.total_ms == result.detect_ms
    assert result.image_size == photo.shape[:2] and result.masks.shape == (0, *photo.shape[:2])
    assert result.to_coco(1, {}) == [] and len(result.to_dataframe()) == 0


def test_grounded_bad_input(photo, random_model):
    seg = random_model(SEGMENTER)
    pipe = GroundedSegmenter(_det("grounding_dino_tiny"), seg)
    for empty in ("", " . ", []):
        with pytest.raises(PromptError, match="empty"):
            pipe(photo, empty)
    with pytest.raises(ValueError, match="box_threshold"):
        pipe(photo, PROMPT, box_threshold=2.0)
    with pytest.raises(ImageError):
        pipe(photo.astype(np.float32) / 255, PROMPT)
    with pytest.raises(ValueError, match="open-vocabulary.*DetectThenSegment"):
        GroundedSegmenter(_det("yolo11n"), seg)
    with pytest.raises(TypeError, match="detector"):
        GroundedSegmenter(object(), seg)
    with pytest.raises(TypeError, match="segmenter"):
        GroundedSegmenter(_det("grounding_dino_tiny"), 3)
    with pytest.raises(UnknownDetectorError, match="grounding_dino_tiny"):
        GroundedSegmenter("grounding_dino_tiy", seg)


def test_pipelines_load_components_by_name(random_model):
    pipe = GroundedSegmenter(
        "owlv2_base", random_model(SEGMENTER), weights="random", device="cpu", detector_options={"config": "tiny"}
    )
    assert pipe.detector.name == "owlv2_base" and pipe.detector.weights.kind == "random"
    assert pipe.detector.weights.config == "tiny" and pipe.segmenter is random_model(SEGMENTER)
    dts = DetectThenSegment(_det("yolo11n"), SEGMENTER, weights="random", device="cpu", segmenter_options={"seed": 1})
    assert dts.segmenter.name == SEGMENTER and dts.segmenter.weights.kind == "random"
    assert dts.segmenter.weights.seed == 1 and dts.detector is _det("yolo11n")
    assert "yolo11n" in repr(dts) and "owlv2_base" in repr(pipe)


# ---------------------------------------------------------------------- DetectThenSegment
def test_detect_then_segment_equals_yolo_plus_one_batched_predict_boxes(photo, random_model, monkeypatch):
    det, seg = _det("yolo11n"), random_model(SEGMENTER)
    classes = [str(det.detect(photo, box_threshold=0.0).labels[0]), "dog"]  # a class it finds + one
    conf = _threshold_for_few(det.detect(photo, classes=classes, box_threshold=0.0).scores)
    pipe = DetectThenSegment(det, seg)
    calls = DecoderCalls(seg, monkeypatch)
    try:
        result = pipe(photo, classes=classes, conf=conf)
    finally:
        calls.remove()
    assert (calls.decoder, calls.batched, calls.single) == (1, 1, 0)
    assert result.prompt == classes and set(result.labels) <= set(classes)
    detections = det.detect(photo, classes=classes, box_threshold=conf)
    # the embedding the pipeline left set is the segmenter's own (checked independently above)
    masks, scores, _ = seg.predict_boxes(detections.boxes, multimask_output=False)
    _check_against_components(result, detections, masks, scores, photo)
    assert result[0].class_name in det.classes and result[0].confidence == pytest.approx(detections.scores[0])
    coco_ids = {name: i + 1 for i, name in enumerate(det.classes)}
    _check_coco_round_trip(result, coco_ids)


def test_detect_then_segment_classes_empty_and_errors(photo, random_model, monkeypatch):
    det, seg = _det("yolo11n"), random_model(SEGMENTER)
    pipe = DetectThenSegment(det, seg)
    seen = []
    detect = det.detect
    monkeypatch.setattr(det, "detect", lambda image, **kw: seen.append(kw) or detect(image, **kw))
    empty = pipe(photo, conf=1.0)
    assert len(empty) == 0 and empty.detect_ms > 0
    assert math.isnan(empty.encoder_ms) and math.isnan(empty.decoder_ms)
    assert empty.prompt is None and empty.to_coco(0, {}) == []
    pipe(photo, classes=["dog"], conf=1.0)
    assert seen == [{"classes": None, "box_threshold": 1.0}, {"classes": ["dog"], "box_threshold": 1.0}]
    with pytest.raises(PromptError, match="'dog'"):
        pipe(photo, classes=["dgo"])
    with pytest.raises(ValueError, match="box_threshold"):
        pipe(photo, conf=-0.1)
    with pytest.raises(ValueError, match="closed-set.*GroundedSegmenter"):
        DetectThenSegment(_det("grounding_dino_tiny"), seg)

"""samkit.detectors: registry, Detections, prompt checks, and parity with transformers' and
ultralytics' own post-processing on random weights saved in the official layouts."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from samkit.detectors import (
    Detections,
    UnknownDetectorError,
    get_detector_spec,
    list_detectors,
    load_detector,
    split_phrases,
)
from samkit.errors import CheckpointError, PromptError, UnsupportedError

os.environ.setdefault("HF_HUB_OFFLINE", "1")

PROMPT = "a dog. a cat."
PHRASES = ["a dog", "a cat"]
_CACHE: dict[str, object] = {}


def _det(name: str):
    if name not in _CACHE:
        config = "full" if name.startswith("yolo") else "tiny"
        det = load_detector(name, "random", config=config, device="cpu", seed=0)
        if name.startswith("yolo"):
            det.imgsz = 160  # small input keeps the test fast
        _CACHE[name] = det
    return _CACHE[name]


def _check(d: Detections, image: np.ndarray, labels: list[str]) -> None:
    h, w = image.shape[:2]
    assert d.image_size == (h, w)
    assert d.boxes.dtype == np.float32 and d.boxes.shape == (len(d), 4)
    assert d.scores.dtype == np.float32 and d.scores.shape == (len(d),)
    assert len(d) > 0
    assert (d.boxes[:, 0::2] >= 0).all() and (d.boxes[:, 0::2] <= w).all()
    assert (d.boxes[:, 1::2] >= 0).all() and (d.boxes[:, 1::2] <= h).all()
    assert (d.boxes[:, 2] >= d.boxes[:, 0]).all() and (d.boxes[:, 3] >= d.boxes[:, 1]).all()
    assert ((d.scores >= 0) & (d.scores <= 1)).all() and (np.diff(d.scores) <= 0).all()
    assert set(d.labels) <= set(labels)


def _sorted_ref(boxes, scores, h, w):
    boxes = np.asarray(boxes, np.float32).copy()
    boxes[:, 0::2] = boxes[:, 0::2].clip(0, w)
    boxes[:, 1::2] = boxes[:, 1::2].clip(0, h)
    order = np.argsort(-np.asarray(scores), kind="stable")
    return boxes[order], np.asarray(scores, np.float32)[order]


# ---------------------------------------------------------------------- registry
def test_registry_names_and_kinds():
    assert list_detectors() == [
        "grounding_dino_tiny",
        "grounding_dino_base",
        "owlv2_base",
        "yolo11n",
        "yolo11s",
        "yolo11m",
        "yolo11l",
        "yolo11x",
        "yoloe_11s",
        "yoloe_11l",
    ]
    assert list_detectors("yolo11*") == [f"yolo11{s}" for s in "nsmlx"]
    assert list_detectors(kind="open_vocab") == [
        "grounding_dino_tiny",
        "grounding_dino_base",
        "owlv2_base",
        "yoloe_11s",
        "yoloe_11l",
    ]
    spec = get_detector_spec("grounding_dino_tiny")
    assert spec.hub_repo == "IDEA-Research/grounding-dino-tiny" and spec.layout == "hf"
    assert get_detector_spec("owlv2_base").hub_repo == "google/owlv2-base-patch16-ensemble"
    assert get_detector_spec("yolo11n").url.endswith("/yolo11n.pt")
    for name in list_detectors():
        s = get_detector_spec(name)
        assert s.kind in ("open_vocab", "closed_set") and s.license and s.source and s.params_source
    with pytest.raises(UnknownDetectorError, match="grounding_dino_tiny"):
        get_detector_spec("grounding_dino_tiy")
    with pytest.raises(ValueError, match="kind"):
        list_detectors(kind="text")


# ---------------------------------------------------------------------- Detections
def test_detections_record_dataframe_and_coco():
    d = Detections([[1, 2, 11, 22], [0, 0, 5, 5]], [0.9, 0.5], ["a dog", "a cat"], (30, 40))
    assert len(d) == 2 and d.boxes.dtype == np.float32 and d.scores.dtype == np.float32
    df = d.to_dataframe()
    assert list(df.columns) == ["label", "score", "x0", "y0", "x1", "y1"] and len(df) == 2
    coco = d.to_coco(7, {"a dog": 18, "a cat": 17})
    assert coco[0] == {"image_id": 7, "category_id": 18, "bbox": [1.0, 2.0, 10.0, 20.0], "score": pytest.approx(0.9)}
    json.dumps(coco)
    with pytest.raises(KeyError, match="a cat"):
        d.to_coco(7, {"a dog": 18})
    empty = Detections.empty((30, 40))
    assert len(empty) == 0 and empty.to_coco(1, {}) == [] and len(empty.to_dataframe()) == 0
    with pytest.raises(ValueError, match="same length"):
        Detections([[0, 0, 1, 1]], [0.1, 0.2], ["x"], (3, 3))


def test_boxes_past_the_edge_are_clipped_to_prompt_and_kept_to_score(monkeypatch):
    """A DETR-style box past the image: ``boxes`` clipped (the segmenter's prompt), ``raw_boxes``
    and `to_coco` as the detector gave it (what COCO box AP scores), through the pipeline too."""
    from samkit.detectors.base import _sorted_clipped
    from samkit.pipelines.segment import segment_detections

    raw = Detections([[-5, 2, 50, 22], [1, 1, 4, 4]], [0.4, 0.9], ["a dog", "a cat"], (30, 40))
    d = _sorted_clipped(raw)
    np.testing.assert_array_equal(d.boxes, [[1, 1, 4, 4], [0, 2, 40, 22]])
    np.testing.assert_array_equal(d.raw_boxes, [[1, 1, 4, 4], [-5, 2, 50, 22]])
    assert d.to_coco(1, {"a dog": 1, "a cat": 2})[1]["bbox"] == [-5.0, 2.0, 55.0, 20.0]
    with pytest.raises(ValueError, match="1 raw_boxes for 2 boxes"):
        Detections([[0, 0, 1, 1], [0, 0, 2, 2]], [0.1, 0.2], ["x", "y"], (3, 3), raw_boxes=[[0, 0, 1, 1]])

    class Prompted:
        name, device = "seg", None

        def predict_boxes(self, boxes, multimask_output=False):
            self.boxes = np.asarray(boxes)
            n = len(boxes)
            return np.zeros((n, 1, 30, 40), bool), np.ones((n, 1), np.float32), np.zeros((n, 1, 8, 8), np.float32)

    seg = Prompted()
    result = segment_detections(
        d, np.zeros((30, 40, 3), np.uint8), seg, 1.0, "det", "a dog", lambda f, _: (f(), 0.0), embed=False
    )
    np.testing.assert_array_equal(seg.boxes, d.boxes)  # prompted with the clipped boxes
    np.testing.assert_array_equal(result.objects[1].box, [0, 2, 40, 22])
    np.testing.assert_array_equal(result.objects[1].detector_box, [-5, 2, 50, 22])


def test_split_phrases():
    assert split_phrases("A dog.  a cat. a dog.") == PHRASES
    assert split_phrases(["a dog", "a cat"]) == PHRASES
    for bad in ("", " . ", []):
        with pytest.raises(PromptError, match="empty"):
            split_phrases(bad)


# ---------------------------------------------------------------------- open vocabulary
@pytest.mark.parametrize("name", ["grounding_dino_tiny", "owlv2_base"])
def test_open_vocab_detect_shapes_and_labels(name, photo):
    det = _det(name)
    d = det.detect(photo, text=PROMPT, box_threshold=0.0, text_threshold=0.0)
    _check(d, photo, PHRASES)
    same = det.detect(photo, classes=PHRASES, box_threshold=0.0, text_threshold=0.0)
    np.testing.assert_array_equal(same.boxes, d.boxes)
    assert len(det.detect(photo, text=PROMPT, box_threshold=1.0)) == 0  # nothing found: empty
    with pytest.raises(PromptError, match="empty"):
        det.detect(photo, text=" ")
    with pytest.raises(PromptError, match="text="):
        det.detect(photo)
    with pytest.raises(ValueError, match="box_threshold"):
        det.detect(photo, text=PROMPT, box_threshold=1.5)


def test_grounding_dino_long_prompts_are_queried_in_groups(photo):
    """A vocabulary longer than max_text_len tokens (32 in the tiny config) runs one pass per group
    of phrases that fits, the detections of all groups together; a phrase that alone does not fit
    is a clear error."""
    det = _det("grounding_dino_tiny")
    phrases = [
        f"{w} thing"
        for w in (
            "red",
            "blue",
            "green",
            "tall",
            "small",
            "round",
            "shiny",
            "wooden",
            "striped",
            "fluffy",
            "metal",
            "old",
        )
    ]
    groups = det._chunks(phrases)
    assert len(groups) > 1 and sum(groups, []) == phrases
    assert all(len(det.processor.tokenizer(" ".join(f"{p}." for p in g))["input_ids"]) <= 32 for g in groups)
    whole = det.detect(photo, text=phrases, box_threshold=0.0, text_threshold=0.0)
    parts = [det.detect(photo, text=g, box_threshold=0.0, text_threshold=0.0) for g in groups]
    assert len(whole) == sum(len(p) for p in parts) > 0 and set(whole.labels) <= set(phrases)
    ref_scores = np.sort(np.concatenate([p.scores for p in parts]))[::-1]
    np.testing.assert_array_equal(whole.scores, ref_scores)
    with pytest.raises(PromptError, match="at most 32"):
        det.detect(photo, text=[" ".join(["word"] * 40)])


def test_grounding_dino_parity_with_transformers(photo, tmp_path):
    import torch
    import transformers as T

    from samkit.backends.transformers import save_folder

    save_folder(_det("grounding_dino_tiny").model, _det("grounding_dino_tiny").processor, tmp_path / "gd")
    det = load_detector("grounding_dino_tiny", checkpoint=tmp_path / "gd", device="cpu")
    assert det.weights.kind == "pretrained" and det.weights.official is None
    ours = det.detect(photo, text=PROMPT, box_threshold=0.3, text_threshold=0.0)

    processor = T.AutoProcessor.from_pretrained(str(tmp_path / "gd"), local_files_only=True)
    model = T.GroundingDinoForObjectDetection.from_pretrained(str(tmp_path / "gd"), local_files_only=True)
    inputs = processor(images=photo, text=PROMPT, return_tensors="pt")
    with torch.inference_mode():
        out = model.eval()(**inputs)
    ref = processor.post_process_grounded_object_detection(
        out, inputs.input_ids, threshold=0.3, text_threshold=0.0, target_sizes=[photo.shape[:2]]
    )[0]
    boxes, scores = _sorted_ref(ref["boxes"].numpy(), ref["scores"].numpy(), *photo.shape[:2])
    assert len(ours) == len(scores) > 0
    np.testing.assert_allclose(ours.scores, scores, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.boxes, boxes, rtol=1e-4, atol=1e-3)
    # a box is kept only if a token of its best phrase passes text_threshold
    assert len(det.detect(photo, text=PROMPT, box_threshold=0.0, text_threshold=1.0)) == 0


def test_owlv2_parity_with_transformers(photo, tmp_path):
    import torch
    import transformers as T

    from samkit.backends.transformers import save_folder

    save_folder(_det("owlv2_base").model, _det("owlv2_base").processor, tmp_path / "owl")
    det = load_detector("owlv2_base", checkpoint=tmp_path / "owl", device="cpu")
    ours = det.detect(photo, text=PHRASES, box_threshold=0.0)

    processor = T.AutoProcessor.from_pretrained(str(tmp_path / "owl"), local_files_only=True)
    model = T.Owlv2ForObjectDetection.from_pretrained(str(tmp_path / "owl"), local_files_only=True)
    inputs = processor(
        images=photo, text=[PHRASES], return_tensors="pt", padding="max_length", truncation=True, max_length=16
    )
    with torch.inference_mode():
        out = model.eval()(**inputs)
    ref = processor.post_process_grounded_object_detection(
        out, threshold=0.0, target_sizes=[photo.shape[:2]], text_labels=[PHRASES]
    )[0]
    boxes, scores = _sorted_ref(ref["boxes"].numpy(), ref["scores"].numpy(), *photo.shape[:2])
    order = np.argsort(-ref["scores"].numpy(), kind="stable")
    assert len(ours) == len(scores) > 0
    np.testing.assert_allclose(ours.scores, scores, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.boxes, boxes, rtol=1e-4, atol=1e-3)
    assert list(ours.labels) == [ref["text_labels"][i] for i in order]


# ---------------------------------------------------------------------- closed set
def test_yolo_detect_classes_and_errors(photo):
    det = _det("yolo11n")
    assert det.classes[:3] == ["person", "bicycle", "car"] and len(det.classes) == 80
    assert round(det.num_parameters() / 1e6, 1) == det.spec.params_published_m  # 2.6M
    d = det.detect(photo, box_threshold=0.0)
    _check(d, photo, det.classes)
    only = det.detect(photo, classes=["person", "dog"], box_threshold=0.0)
    _check(only, photo, ["person", "dog"])  # random init: "person" (class 0) wins every box
    assert set(det.detect(photo, classes=["dog"], box_threshold=0.0).labels) <= {"dog"}
    with pytest.raises(UnsupportedError, match="grounding_dino_tiny"):
        det.detect(photo, text="a dog.")
    with pytest.raises(PromptError, match="'dog'"):
        det.detect(photo, classes=["dgo"])


def test_yolo_parity_with_ultralytics(photo, tmp_path):
    from samkit.backends.ultralytics import import_ultralytics
    from samkit.detectors.yolo import save_checkpoint

    path = save_checkpoint(_det("yolo11n").model, tmp_path / "yolo11n.pt")
    det = load_detector("yolo11n", checkpoint=path, device="cpu")
    det.imgsz = 160
    ours = det.detect(photo, box_threshold=0.0)
    ultralytics = import_ultralytics()
    ref = ultralytics.YOLO(str(path))(
        np.ascontiguousarray(photo[..., ::-1]), conf=0.0, iou=0.7, imgsz=160, device="cpu", verbose=False
    )[0]
    boxes, scores = _sorted_ref(ref.boxes.xyxy.numpy(), ref.boxes.conf.numpy(), *photo.shape[:2])
    assert len(ours) == len(scores) > 0
    np.testing.assert_allclose(ours.scores, scores, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(ours.boxes, boxes, rtol=1e-5, atol=1e-3)


# ---------------------------------------------------------------------- loading
@pytest.mark.parametrize("name", ["grounding_dino_tiny", "owlv2_base", "yolo11n"])
def test_missing_checkpoint_is_a_clear_error(name, isolated_checkpoints):
    with pytest.raises(CheckpointError, match=f"samkit weights download {name}"):
        load_detector(name, download=False)


def test_load_detector_argument_errors(isolated_checkpoints):
    with pytest.raises(ValueError, match="weights"):
        load_detector("yolo11n", weights="imagenet")
    auto = load_detector("owlv2_base", weights="auto", config="tiny", device="cpu")
    assert auto.weights.kind == "random"  # no official weights here: random, and it says so
    with pytest.raises(ValueError, match="config"):
        load_detector("owlv2_base", "random", config="huge")
    with pytest.raises(ValueError, match="random"):
        load_detector("owlv2_base", config="tiny")
    with pytest.raises(UnknownDetectorError, match="Did you mean"):
        load_detector("yolo11q")


def test_cli_lists_and_verifies_detectors(capsys):
    from samkit import cli

    assert cli.main(["detectors"]) == 0
    out = capsys.readouterr().out
    assert "grounding_dino_tiny" in out and "AGPL-3.0" in out and "missing" in out
    assert cli.main(["detectors", "yolo11*"]) == 0
    assert "owlv2_base" not in capsys.readouterr().out
    assert cli.main(["weights", "verify", "yolo11n", "owlv2_base"]) == 0
    assert "yolo11n.pt" in capsys.readouterr().out
    assert cli.main(["weights", "verify", "--strict", "yolo11n"]) == 1


@pytest.mark.slow
@pytest.mark.parametrize("size", "nsmlx")
def test_yolo_random_full_architecture_counts_published_params(size):
    """Ultralytics publishes the counts rounded to 0.1M (of the Conv+BN-fused model)."""
    det = load_detector(f"yolo11{size}", "random", device="cpu")
    assert abs(det.num_parameters() / 1e6 - det.spec.params_published_m) < 0.1


@pytest.mark.slow
@pytest.mark.parametrize("name", ["grounding_dino_tiny", "owlv2_base"])
def test_full_random_transformers_detectors_run(name, photo):
    det = load_detector(name, "random", device="cpu")
    assert det.num_parameters() > 100e6 and det.weights.config == "full"
    _check(det.detect(photo, text=PROMPT, box_threshold=0.0, text_threshold=0.0), photo, PHRASES)


#: float32 bytes of the official checkpoints (no parameter count is published for these three; see
#: their `params_source`): hub model.safetensors 689 MB / 933 MB (IDEA-Research/grounding-dino-tiny,
#: -base), 620 MB (google/owlv2-base-patch16-ensemble), and "Size 590 MiB" for OWLv2 CLIP B/16 in
#: the google-research/scenic owl_vit README
_OFFICIAL_BYTES = {"grounding_dino_tiny": [689e6], "grounding_dino_base": [933e6], "owlv2_base": [620e6, 590 * 2**20]}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(_OFFICIAL_BYTES))
def test_full_random_transformers_architectures_match_official_checkpoint_sizes(name):
    """4 bytes x our full architecture's parameters is each official float32 checkpoint's size within
    1% (the files also hold a few index buffers; the hub and README round to 1 MB / 1 MiB)."""
    import torch

    from samkit.detectors.base import detector_class

    spec = get_detector_spec(name)
    with torch.device("meta"):  # the count without allocating the weights
        model, _ = detector_class(spec).build_random(spec, 0, "full")
    n = sum(p.numel() for p in model.parameters())
    for size in _OFFICIAL_BYTES[name]:
        assert abs(4 * n / size - 1) < 0.01, (name, n, size)


@pytest.mark.slow
@pytest.mark.parametrize("name, text_m, visual_m", [("yoloe_11s", 10, 12), ("yoloe_11l", 26, 32)])
def test_yoloe_random_full_architecture_counts_authors_params(name, text_m, visual_m):
    """The YOLOE authors' counts (THU-MIG/yoloe README, zero-shot detection table, Params T / V,
    rounded to 1M) are of the re-parameterized detection model with LVIS's 1203 class embeddings
    folded in (no mask head) and of the same plus the SAVPE visual-prompt encoder."""
    from samkit.detectors.yoloe import fused_num_parameters

    model = _det(name).model
    head = model.model[-1]
    mask_head = sum(p.numel() for m in (head.proto, head.cv5) for p in m.parameters())
    detection = (fused_num_parameters(model, num_classes=1203) - mask_head) / 1e6
    savpe = sum(p.numel() for p in head.savpe.parameters()) / 1e6
    assert round(detection) == text_m and round(detection + savpe) == visual_m, (detection, savpe)

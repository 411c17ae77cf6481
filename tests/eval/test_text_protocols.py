"""The text and detector_boxes protocols: COCO AP from rows equals pycocotools' COCOeval run on the
json files directly; oracle models score AP 1; real tiny random models run end to end; bad input
(detections of unknown images, a model without text or boxes) is a clear error row."""

from __future__ import annotations

import contextlib
import io
import json
import math
import os

import numpy as np
import pandas as pd
import pytest
import torch

import samkit
from samkit.data import CocoDataset, SyntheticDataset
from samkit.eval import get_protocol, summarize
from samkit.eval._coco_ap import AP_NAMES, coco_ap, detections_json, ground_truth
from samkit.eval.detector_boxes import run_detector_boxes
from samkit.eval.text import run_text
from samkit.pipelines import PipelineResult, SegmentedObject
from samkit.weights import WeightsInfo

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def coco(tmp_path_factory):
    """A COCO-format copy of 4 synthetic images (exact masks; categories ellipse/rectangle/polygon)."""
    root = tmp_path_factory.mktemp("coco")
    path = SyntheticDataset(num_images=4, size=(56, 72), max_shapes=4, seed=5).write_coco(root)
    return CocoDataset(path, root / "images"), path


def _masks_of(dataset, sample):
    from pycocotools import mask as mask_utils

    anns = dataset.coco.imgToAnns[sample.meta["source_image_id"]]
    return anns, [mask_utils.decode(dataset.coco.annToRLE(a)).astype(bool) for a in anns]


def test_coco_ap_of_rows_equals_cocoeval_on_the_files(coco, tmp_path):
    """Perturbed detections (shifted, eroded, dropped, a wrong class, a false positive) scored
    from rows, and by COCOeval on the original json + a results json: the same 12 numbers."""
    from pycocotools import mask as mask_utils
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    dataset, path = coco
    rng = np.random.default_rng(0)
    names = {c["id"]: c["name"] for c in json.loads(path.read_text())["categories"]}
    results, rows = [], []
    for sample in dataset:
        anns, masks = _masks_of(dataset, sample)
        cats, scores, boxes, out_masks = [], [], [], []
        for k, (ann, mask) in enumerate(zip(anns, masks)):
            if k == 1:
                continue  # a missed object
            m = np.roll(mask, int(rng.integers(0, 4)), axis=int(rng.integers(0, 2)))
            cat = ann["category_id"] if k != 2 else 1 + ann["category_id"] % 3  # a wrong class
            cats.append(cat)
            scores.append(float(rng.uniform(0.2, 1.0)))
            ys, xs = np.nonzero(m) if m.any() else (np.array([0]), np.array([0]))
            boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
            out_masks.append(m)
        fp = np.zeros(sample.image.shape[:2], bool)
        fp[2:9, 3:12] = True  # a false positive
        cats.append(1), scores.append(0.5), boxes.append([3, 2, 12, 9]), out_masks.append(fp)
        boxes = np.asarray(boxes, np.float64)
        for cat, score, box, m in zip(cats, scores, boxes, out_masks):
            rle = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
            rle["counts"] = rle["counts"].decode()
            results.append(
                {
                    "image_id": sample.meta["source_image_id"],
                    "category_id": cat,
                    "score": score,
                    "segmentation": rle,
                    "bbox": [box[0], box[1], box[2] - box[0], box[3] - box[1]],
                }
            )
        truth = ground_truth(dataset, sample)
        rows.append(
            {
                "dataset": sample.dataset,
                "image_id": sample.image_id,
                "height": truth.size[0],
                "width": truth.size[1],
                "gt": json.dumps(truth.annotations),
                "detections": detections_json([names[c] for c in cats], np.asarray(scores), boxes, np.stack(out_masks)),
            }
        )
    ours = coco_ap(pd.DataFrame(rows))
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(path))
        for iou_type, label in (("segm", "mask"), ("bbox", "box")):
            dts = [
                {k: v for k, v in r.items() if k != ("bbox" if iou_type == "segm" else "segmentation")} for r in results
            ]
            ev = COCOeval(gt, gt.loadRes(dts), iou_type)
            ev.evaluate(), ev.accumulate(), ev.summarize()
            ref = [float(v) if v >= 0 else math.nan for v in ev.stats[:6]]
            got = [ours[f"{label}_{n}"] for n in AP_NAMES]
            np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12, err_msg=iou_type)
    assert 0 < ours["mask_AP"] < 1 and 0 < ours["box_AP"] < 1


class OracleText:
    """A Segmenter-shaped model that answers text and boxes with the ground truth of its image."""

    name, family, dtype = "oracle_text", "fake", "float32"

    def __init__(self, dataset, native: bool = True):
        self.dataset = dataset
        caps = {"box", "points", "text"} if native else {"box", "points"}
        self.spec = type("Spec", (), {"capabilities": frozenset(caps)})()
        self.capabilities = self.spec.capabilities
        self.model = torch.nn.Linear(1, 1)
        self.device = torch.device("cpu")
        self.weights = WeightsInfo("pretrained", sha256="0" * 64, official=True, path="oracle.pt")
        self.by_image = {s.image.tobytes(): s for s in dataset}

    def require(self, capability, what=None):
        if capability not in self.capabilities:
            raise samkit.errors.UnsupportedError(f"no {capability}")

    def set_image(self, image):
        self.sample = self.by_image[np.asarray(image).tobytes()]
        self.anns, self.masks = _masks_of(self.dataset, self.sample)

    def predict(self, point_coords=None, point_labels=None, box=None, multimask_output=True, **_):
        h, w = self.sample.image.shape[:2]
        return np.zeros((1, h, w), bool), np.ones(1, np.float32), np.zeros((1, 256, 256), np.float32)

    def predict_text(self, phrases, box_threshold=None, text_threshold=None):
        cats = {c["id"]: c["name"] for c in self.dataset.coco.dataset["categories"]}
        objects = []
        for ann, mask in zip(self.anns, self.masks):
            if cats[ann["category_id"]] in phrases:
                x, y, bw, bh = ann["bbox"]
                objects.append(SegmentedObject(cats[ann["category_id"]], 0.9, [x, y, x + bw, y + bh], mask, 0.9))
        return PipelineResult(
            objects, self.sample.image.shape[:2], math.nan, math.nan, 1.0, "native", self.name, phrases
        )

    def predict_boxes(self, boxes, multimask_output=False):
        boxes = np.asarray(boxes)
        gt_boxes = np.asarray(
            [[a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2], a["bbox"][1] + a["bbox"][3]] for a in self.anns]
        )
        picks = [int(np.argmin(np.abs(gt_boxes - b).sum(1))) for b in boxes]
        masks = np.stack([self.masks[i] for i in picks])[:, None]
        return masks, np.ones((len(boxes), 1), np.float32), np.zeros((len(boxes), 1, 256, 256), np.float32)


def test_text_protocol_oracle_scores_ap_one(coco, tmp_path):
    dataset, _ = coco
    frame = get_protocol("text").run(
        OracleText(dataset), dataset, detector="native", progress=False, out_path=tmp_path / "rows.parquet"
    )
    ok = frame[frame["status"] == "ok"]
    assert len(ok) == len(dataset) and (ok["detector"] == "native").all()
    assert (ok["text_source"] == "native").all() and ok["detector_weights"].isna().all()
    assert ok["num_detections"].tolist() == ok["n_gt"].tolist()
    assert json.loads(ok.iloc[0]["phrases"]) and ok["encoder_ms"].notna().all()
    summary = summarize(frame)
    assert len(summary) == 1
    assert summary.loc[0, "text_mask_AP"] == pytest.approx(1.0)
    assert summary.loc[0, "text_box_AP"] == pytest.approx(1.0)
    reloaded = pd.read_parquet(tmp_path / "rows.parquet")  # rows alone are enough for the AP
    assert summarize(reloaded).loc[0, "text_mask_AP"] == pytest.approx(1.0)


def _gt_detections_file(dataset, path, tmp_path, extra=()):
    data = json.loads(path.read_text())
    records = [
        {
            "image_id": a["image_id"],
            "category_id": a["category_id"],
            "bbox": a["bbox"],
            "score": 0.5 + 0.01 * (a["id"] % 10),
        }
        for a in data["annotations"]
    ] + list(extra)
    out = tmp_path / "detections.json"
    out.write_text(json.dumps(records))
    return out


def test_detector_boxes_from_a_file_oracle_scores_ap_one(coco, tmp_path):
    dataset, path = coco
    file = _gt_detections_file(dataset, path, tmp_path)
    frame = run_detector_boxes(OracleText(dataset, native=False), dataset, detections=str(file), progress=False)
    ok = frame[frame["status"] == "ok"]
    assert len(ok) == len(dataset) and (ok["detector"] == "file:detections.json").all()
    summary = get_protocol("detector_boxes").summarize(ok)
    assert summary["mask_AP"] == pytest.approx(1.0) and summary["box_AP"] == pytest.approx(1.0)
    only_strong = run_detector_boxes(
        OracleText(dataset, native=False),
        dataset,
        detections=str(file),
        score_threshold=0.55,
        max_detections=1,
        progress=False,
    )
    assert only_strong["num_detections"].max() <= 1


def test_detections_file_errors(coco, tmp_path):
    dataset, path = coco
    model = OracleText(dataset, native=False)
    bad = _gt_detections_file(
        dataset, path, tmp_path, extra=[{"image_id": 999, "category_id": 1, "bbox": [0, 0, 2, 2], "score": 1}]
    )
    frame = run_detector_boxes(model, dataset, detections=str(bad), progress=False)
    assert len(frame) == 1 and frame.iloc[0]["status"] == "error"
    assert "1 image id(s) that are not in the dataset" in frame.iloc[0]["error"] and "999" in frame.iloc[0]["error"]
    bad.write_text(json.dumps([{"image_id": 0, "bbox": [0, 0, 1, 1], "score": 1}]))
    frame = run_detector_boxes(model, dataset, detections=str(bad), progress=False)
    assert "needs image_id, category_id, bbox and score" in frame.iloc[0]["error"]
    bad.write_text(json.dumps([{"image_id": 0, "category_id": 77, "bbox": [0, 0, 1, 1], "score": 1}]))
    frame = run_detector_boxes(model, dataset, detections=str(bad), progress=False)
    assert "category id(s) [77]" in frame.iloc[0]["error"]
    with pytest.raises(ValueError, match="exactly one source of boxes"):
        run_detector_boxes(model, dataset, progress=False)
    with pytest.raises(ValueError, match="exactly one source of boxes"):
        run_detector_boxes(model, dataset, detections=str(bad), detector="yolo11n", progress=False)


def test_models_without_text_or_boxes_get_a_clear_row(coco, random_model):
    dataset, _ = coco
    frame = run_text(random_model("mobile_sam"), dataset, detector="native", progress=False)
    row = frame.iloc[0]
    assert len(frame) == 1 and row["status"] == "unsupported"
    assert "sam3" in row["error"] and "protocol.detector=grounding_dino_tiny" in row["error"]
    frame = run_text(random_model("mobile_sam"), dataset, detector="yolo11n", progress=False)
    assert "open-vocabulary" in frame.iloc[0]["error"]
    no_box = OracleText(dataset, native=False)
    no_box.capabilities = no_box.spec.capabilities = frozenset({"points"})
    frame = run_detector_boxes(no_box, dataset, detector="yolo11n", progress=False)
    assert frame.iloc[0]["status"] == "unsupported"


def test_text_protocol_real_models_end_to_end(coco, random_model, tmp_path):
    """mobile_sam + tiny Grounding DINO (random) and SAM 3 tiny natively, on 2 images: ok rows,
    typed detector columns, AP in [0, 1], one summary row per (model, detector), random noted."""
    dataset, _ = coco
    two = CocoDataset(dataset.annotations_file, dataset.images_dir, max_images=2)
    frames = [
        run_text(
            random_model("mobile_sam"),
            two,
            detector="grounding_dino_tiny",
            detector_config="tiny",
            box_threshold=0.9999,
            text_threshold=0.9999,
            max_detections=5,
            warmup=False,
            progress=False,
        )
    ]
    sam3 = samkit.load("sam3", weights="random", config="tiny", device="cpu")
    frames.append(
        run_text(sam3, two, detector="native", box_threshold=0.0, max_detections=5, warmup=False, progress=False)
    )
    frame = pd.concat(frames, ignore_index=True)
    assert (frame["status"] == "ok").all(), frame["error"].dropna().tolist()
    assert frame["num_detections"].between(1, 5).all()
    dino = frame[frame["model"] == "mobile_sam"]
    assert (dino["detector_weights"] == "random(seed=0, config=tiny)").all()
    assert (dino["detector_weights_kind"] == "random").all() and dino["detect_ms"].gt(0).all()
    assert frame[frame["model"] == "sam3"]["detect_ms"].isna().all()  # no separate detector
    summary = summarize(frame)
    assert sorted(summary["detector"]) == ["grounding_dino_tiny", "native"]
    for col in ("text_mask_AP", "text_box_AP", "text_mask_AP50"):
        assert summary[col].between(0, 1).all()
    assert summary["note"].str.startswith("RANDOM WEIGHTS").all()


def test_detector_boxes_with_a_registered_closed_set_detector(coco, random_model, tmp_path):
    """yolo11n (random) boxes of COCO classes: those the dataset has (here renamed to COCO names)
    are kept with their category, the others counted as dropped."""
    dataset, path = coco
    data = json.loads(path.read_text())
    for cat, name in zip(data["categories"], ("person", "car", "dog")):
        cat["name"] = name
    renamed = tmp_path / "renamed.json"
    renamed.write_text(json.dumps(data))
    two = CocoDataset(renamed, dataset.images_dir, max_images=1)
    frame = run_detector_boxes(
        random_model("mobile_sam"), two, detector="yolo11n", box_threshold=0.0, max_detections=8, progress=False
    )
    row = frame.iloc[0]
    assert row["status"] == "ok", row["error"]
    assert row["detector"] == "yolo11n" and row["detector_weights_kind"] == "random"
    kept = json.loads(row["detections"])
    assert {d["category"] for d in kept} <= {"person", "car", "dog"}
    assert row["num_detections"] == len(kept) <= 8 and row["dropped_detections"] >= 0
    assert row["num_detections"] + row["dropped_detections"] > 0


def test_ap_table_and_report(coco, tmp_path):
    """The report's AP table: one row per (model, detector) and protocol, AP columns of that
    protocol only, random detector weights warned about even when the model's are pretrained."""
    from samkit.eval.text import ap_table
    from samkit.results import write_report

    dataset, path = coco
    native = get_protocol("text").run(OracleText(dataset), dataset, detector="native", progress=False)
    boxes = run_detector_boxes(
        OracleText(dataset, native=False),
        dataset,
        detections=str(_gt_detections_file(dataset, path, tmp_path)),
        progress=False,
    )
    random_detector = native.copy()
    random_detector["detector"], random_detector["detector_weights_kind"] = "some_detector", "random"
    random_detector["detector_weights"] = "random(seed=0)"
    frame = pd.concat([native, boxes, random_detector], ignore_index=True)
    table = ap_table(frame)
    assert sorted(zip(table["protocol"], table["detector"])) == [
        ("detector_boxes", "file:detections.json"),
        ("text", "native"),
        ("text", "some_detector"),
    ]
    text_rows, box_rows = table[table["protocol"] == "text"], table[table["protocol"] == "detector_boxes"]
    assert text_rows["text_mask_AP"].tolist() == pytest.approx([1.0, 1.0]) and text_rows["mask_AP"].isna().all()
    assert box_rows["mask_AP"].iloc[0] == pytest.approx(1.0) and box_rows["text_mask_AP"].isna().all()
    assert (table["images"] == len(dataset)).all()
    notes = dict(zip(table["detector"], table["note"]))
    assert notes["some_detector"].startswith("RANDOM WEIGHTS") and not notes["native"]
    written = write_report(frame, tmp_path / "report")
    md = written["ap_md"].read_text()
    assert "text_mask_AP" in md and "some_detector" in md and "RANDOM WEIGHTS" in md

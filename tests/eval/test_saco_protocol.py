"""The saco protocol on the small SA-Co/Gold and Silver of ``tests/data/saco_layout.py``: an oracle
scores cgF1 1 natively and through a detector; the summary from rows equals the official scorer
run on the dataset's files and the written predictions file; the predictions file is valid JSON
after every image and survives an interrupted, resumed run; a tiny random SAM 3 runs end to end."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parents[1] / "data"))  # saco_layout.py

import saco_layout as L  # noqa: E402

import samkit  # noqa: E402
from samkit.data import SacoDataset, SyntheticDataset  # noqa: E402
from samkit.detectors.detections import Detections  # noqa: E402
from samkit.errors import DatasetError, ParameterError  # noqa: E402
from samkit.eval import get_protocol, summarize  # noqa: E402
from samkit.eval.saco import (  # noqa: E402
    run_saco,
    saco_scores,
    saco_subset_of,
    saco_table,
    write_saco_predictions,
)
from samkit.instances import PipelineResult, SegmentedObject  # noqa: E402
from samkit.masks import mask_box, to_pycoco_rle  # noqa: E402
from samkit.metrics.scoring.saco import score_saco  # noqa: E402
from samkit.weights import WeightsInfo  # noqa: E402


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    """The layout with every Gold image on disk (the loader's tests keep one missing)."""
    written = L.write_saco(tmp_path_factory.mktemp("saco"))
    L._write_image(written.gold_images / L.MISSING, L.image(3, L.GOLD_HW))
    return written


@pytest.fixture(scope="module")
def gold(layout):
    return SacoDataset(layout.gold_gt, layout.gold_images)


@pytest.fixture(scope="module")
def silver(layout):
    return SacoDataset(layout.silver_gt, layout.silver_images)


def _decode(ann, h, w):
    from pycocotools import mask as mask_utils

    return mask_utils.decode(to_pycoco_rle(ann["segmentation"], h, w)).astype(bool)


class OracleSaco:
    """A Segmenter-shaped model that answers each phrase with annotator a's objects of that pair in
    its image (score 0.9). ``noise``: some answers are wrong (a missed cup, a shifted kite, a false
    positive on the sky, a low-scored duplicate car). ``interrupt_at``: the n-th ``set_image``
    raises KeyboardInterrupt (a run stopped from outside)."""

    name, family, dtype = "oracle_saco", "fake", "float32"

    def __init__(self, dataset, native=True, noise=False, interrupt_at=None):
        self.dataset, self.noise, self.interrupt_at = dataset, noise, interrupt_at
        caps = {"box", "points", "text"} if native else {"box", "points"}
        self.spec = type("Spec", (), {"capabilities": frozenset(caps)})()
        self.capabilities = self.spec.capabilities
        self.model = torch.nn.Linear(1, 1)
        self.device = torch.device("cpu")
        self.weights = WeightsInfo("pretrained", sha256="0" * 64, official=True, path="oracle.pt")
        self.samples = {s.image.tobytes(): s for s in dataset}
        self.set_calls = 0
        self.file_checks: list[int] = []
        self.check_file: Path | None = None

    def require(self, capability, what=None):
        if capability not in self.capabilities:
            raise samkit.errors.UnsupportedError(f"no {capability}")

    def set_image(self, image):
        self.set_calls += 1
        if self.check_file is not None and self.check_file.exists():  # valid JSON between images
            self.file_checks.append(len(json.loads(self.check_file.read_text())))
        if self.set_calls == self.interrupt_at:
            raise KeyboardInterrupt
        self.sample = self.samples[np.asarray(image).tobytes()]

    def predict(self, point_coords=None, point_labels=None, box=None, multimask_output=True, **_):
        h, w = self.sample.image.shape[:2]
        return np.zeros((1, h, w), bool), np.ones(1, np.float32), np.zeros((1, 256, 256), np.float32)

    def answers(self, phrase):
        """``[(mask, score)]`` for ``phrase`` on the current image."""
        pair = next((p for p in self.sample.meta["pairs"] if p["text_input"] == phrase), None)
        if pair is None:
            return []
        h, w = self.sample.image.shape[:2]
        anns = self.dataset.pair_ground_truth(pair["pair_id"])[0]["annotations"]
        out = [(_decode(a, h, w), 0.9) for a in anns if not a["iscrowd"]]
        if self.noise:
            if phrase == "cup":
                out = out[:1]
            elif phrase == "kite":
                out = [(np.roll(m, 3, axis=1), s) for m, s in out]
            elif phrase == "sky":
                out = [(L.rect(0, 6, 0, 56), 0.7)]
            elif phrase == "car":
                out = out + [(out[0][0], 0.3)]
        return out

    def predict_text(self, phrases, box_threshold=None, text_threshold=None):
        objects = [SegmentedObject(phrases[0], s, mask_box(m), m, s) for m, s in self.answers(phrases[0])]
        return PipelineResult(
            objects, self.sample.image.shape[:2], math.nan, math.nan, 1.0, "native", self.name, phrases
        )

    def predict_boxes(self, boxes, multimask_output=False):
        masks = [m for m, _ in self.answers(self.phrase)]
        picks = [int(np.argmin([np.abs(mask_box(m) - b).sum() for m in masks])) for b in np.asarray(boxes)]
        out = np.stack([masks[i] for i in picks])[:, None]
        return out, np.ones((len(picks), 1), np.float32), np.zeros((len(picks), 1, 256, 256), np.float32)


class OracleDetector:
    """An open-vocabulary detector that finds the oracle's objects (their boxes, score 0.9)."""

    name = "oracle_detector"

    def __init__(self, oracle):
        self.oracle = oracle
        self.device = torch.device("cpu")
        self.weights = WeightsInfo("random", seed=0, config="tiny")

    def detect(self, rgb, text=None, classes=None, box_threshold=None, text_threshold=None):
        self.oracle.phrase = text[0]
        answers = self.oracle.answers(text[0])
        boxes = np.asarray([mask_box(m) for m, _ in answers], np.float32).reshape(-1, 4)
        return Detections(boxes, [s for _, s in answers], [text[0]] * len(answers), rgb.shape[:2])


def test_oracle_natively_scores_cgf1_one(gold, layout, tmp_path):
    frame = get_protocol("saco").run(
        OracleSaco(gold), gold, detector="native", progress=False, out_path=tmp_path / "rows.parquet"
    )
    assert len(frame) == 11 and (frame["protocol"] == "saco").all()
    assert frame["image_id"].tolist() == [p["file_name"] for p in _file_order(layout.gold, by_image=True)]
    skipped = frame[frame["status"] == "skipped"]
    assert sorted(skipped["phrase"]) == ["tree", "wheel"] and skipped["error"].str.contains("not score").all()
    ok = frame[frame["status"] == "ok"]
    assert len(ok) == 9 and (ok["detector"] == "native").all() and (ok["text_source"] == "native").all()
    assert ok["num_detections"].tolist() == ok["n_gt"].tolist()
    assert ok.loc[~ok["positive"].astype(bool), "num_detections"].eq(0).all()  # negatives: nothing found
    assert ok["encoder_ms"].notna().all() and ok.groupby("image_id")["encoder_ms"].nunique().eq(1).all()
    assert (ok["annotators"] == 3).all() and ok["decoder_ms"].notna().all()
    # the predictions file: SA-Co's results format, the rows' predictions, beside the rows
    pred_path = tmp_path / "rows_coco_predictions_segm.json"
    assert (frame["predictions_file"] == str(pred_path)).all()
    written = json.loads(pred_path.read_text())
    assert written == [r for p in ok["predictions"] for r in json.loads(p)] and len(written) == ok["n_gt"].sum()
    assert all(set(r) == {"image_id", "category_id", "segmentation", "score", "area", "bbox"} for r in written)
    assert {r["category_id"] for r in written} == {1} and all(0 < v <= 1 for r in written for v in r["bbox"][2:])
    summary = summarize(frame)
    assert len(summary) == 1
    row = summary.iloc[0]
    for col in ("saco_cgF1", "saco_IL_MCC", "saco_pmF1", "saco_cgF1@0.5", "saco_box_cgF1"):
        assert row[col] == pytest.approx(1.0, abs=1e-3), col
    assert row["saco_pairs"] == 9 and row["skipped"] == 2 and row["errors"] == 0
    reloaded = pd.read_parquet(tmp_path / "rows.parquet")  # the rows alone are enough
    assert summarize(reloaded).iloc[0]["saco_cgF1"] == row["saco_cgF1"]


def _file_order(pairs, by_image=False):
    """The pairs in the file's order (``by_image``: grouped by image, images in sorted order)."""
    listed = [pairs[i] for i in L.GOLD_ORDER]
    if by_image:
        listed = sorted(listed, key=lambda p: L.GOLD_IMAGES.index(p.file_name))  # stable
    return [{"file_name": p.file_name, "phrase": p.phrase} for p in listed]


def test_summary_from_rows_equals_the_official_scorer_on_the_files(gold, layout, tmp_path):
    """A noisy oracle (cgF1 strictly between 0 and 1): the scores from the rows equal
    `score_saco` on the dataset's own ground-truth files and the written predictions file, key by
    key and bit for bit, for masks and boxes; a subset of rows scores its pairs only."""
    frame = run_saco(
        OracleSaco(gold, noise=True), gold, detector="native", progress=False, out_path=tmp_path / "rows.parquet"
    )
    pred_path = tmp_path / "rows_coco_predictions_segm.json"
    for iou_type in ("segm", "bbox"):
        official = score_saco(layout.gold_gt, pred_path, "image", iou_type=iou_type)
        assert saco_scores(frame, iou_type) == official, iou_type
    assert 0 < saco_scores(frame)["cgF1_eval_segm_cgF1"] < 0.99
    shuffled = pd.concat([frame.iloc[::-1], frame.iloc[:3]])  # order and repeats do not matter
    assert saco_scores(shuffled) == saco_scores(frame)
    again = tmp_path / "again.json"
    write_saco_predictions(frame, again)
    assert json.loads(again.read_text()) == json.loads(pred_path.read_text())
    part = frame[frame["phrase"].isin(["cup", "sky", "red block"])]
    got = saco_scores(part)
    assert got["cgF1_eval_segm_IL_MCC"] == pytest.approx(0.0, abs=1e-3)  # a FP on the only negative
    assert get_protocol("saco").summarize(part[part["status"] == "ok"])["saco_pairs"] == 3
    assert saco_scores(frame.iloc[0:0]) == {}


def test_oracle_through_a_detector(silver, layout, monkeypatch, tmp_path):
    oracle = OracleSaco(silver, native=False)
    monkeypatch.setattr("samkit.eval.saco.load_run_detector", lambda *a: OracleDetector(oracle))
    frame = run_saco(oracle, silver, detector="grounding_dino_tiny", progress=False, image_batch=1)
    ok = frame[frame["status"] == "ok"]
    assert len(ok) == len(frame) == 3 and (ok["detector"] == "oracle_detector").all()
    assert (ok["text_source"] == "detector").all() and (ok["detector_weights_kind"] == "random").all()
    assert ok["detect_ms"].notna().all() and ok["predictions_file"].isna().all()  # no out_path: no file
    summary = get_protocol("saco").summarize(ok)
    assert summary["saco_cgF1"] == pytest.approx(1.0, abs=1e-3) and summary["saco_pairs"] == 3
    assert summary["saco_box_cgF1"] == pytest.approx(1.0, abs=1e-3)
    assert summarize(frame).iloc[0]["note"].startswith("RANDOM WEIGHTS")  # the detector's are random


def test_predictions_file_survives_an_interrupted_run(gold, tmp_path):
    """Valid JSON between images; a run stopped at its third image keeps the first two images'
    predictions (file and rows); the resumed run's file equals an uninterrupted run's."""
    whole = tmp_path / "whole.parquet"
    run_saco(OracleSaco(gold, noise=True), gold, detector="native", warmup=False, progress=False, out_path=whole)
    expected = json.loads((tmp_path / "whole_coco_predictions_segm.json").read_text())

    rows, pred_path = tmp_path / "rows.parquet", tmp_path / "rows_coco_predictions_segm.json"
    model = OracleSaco(gold, noise=True, interrupt_at=3)
    model.check_file = pred_path
    with pytest.raises(KeyboardInterrupt):
        run_saco(model, gold, detector="native", warmup=False, progress=False, out_path=rows)
    saved = pd.read_parquet(rows)
    assert saved["image_id"].unique().tolist() == gold.image_ids[:2]
    kept = json.loads(pred_path.read_text())
    n_rows = sum(len(json.loads(p)) for p in saved["predictions"].dropna())
    assert 0 < len(kept) == n_rows < len(expected) and kept == expected[: len(kept)]
    assert len(model.file_checks) == 3 and model.file_checks[0] == 0 and model.file_checks[-1] == len(kept)
    # a cut file (a crash while appending) is rewritten from the rows when the run resumes
    pred_path.write_bytes(pred_path.read_bytes()[:-7])
    model = OracleSaco(gold, noise=True)
    model.check_file = pred_path
    frame = run_saco(model, gold, detector="native", warmup=False, progress=False, out_path=rows, resume=True)
    assert json.loads(pred_path.read_text()) == expected
    assert len(frame) == 11 and frame["pair_id"].is_unique
    assert model.set_calls == 2 and model.file_checks == sorted(model.file_checks)


def test_a_pair_an_annotator_file_lacks(layout, tmp_path):
    """Predictions for a pair that a later annotator's file lacks: the official evaluator stops,
    and so does the summary, naming the pair and the file."""
    data = json.loads(layout.gold_gt[1].read_text())
    string = next(p["id"] for p in data["images"] if p["text_input"] == "string")
    data["images"] = [p for p in data["images"] if p["id"] != string]
    data["annotations"] = [a for a in data["annotations"] if a["image_id"] != string]
    gap = tmp_path / "gold_metaclip_merged_b_release_test.json"
    gap.write_text(json.dumps(data))
    dataset = SacoDataset([layout.gold_gt[0], gap, layout.gold_gt[2]], layout.gold_images)
    frame = run_saco(OracleSaco(dataset), dataset, detector="native", progress=False)
    assert (frame["status"] != "error").all()
    with pytest.raises(
        DatasetError, match=rf"pair {string} \('string'\).*gold_metaclip_merged_b_release_test.json lacks"
    ):
        saco_scores(frame)
    no_string = frame[frame["phrase"] != "string"]
    assert saco_scores(no_string)["cgF1_eval_segm_cgF1"] == pytest.approx(1.0, abs=1e-3)


def test_bad_models_datasets_and_parameters(gold, layout):
    frame = get_protocol("saco").run(OracleSaco(gold, native=False), gold, detector="native", progress=False)
    assert len(frame) == 1 and frame.iloc[0]["status"] == "unsupported" and "sam3" in frame.iloc[0]["error"]
    frame = run_saco(OracleSaco(gold, native=False), gold, detector="native", progress=False)
    assert (
        frame.iloc[0]["status"] == "unsupported" and "protocol.detector=grounding_dino_tiny" in frame.iloc[0]["error"]
    )
    frame = run_saco(OracleSaco(gold), gold, detector="yolo11n", progress=False)
    assert "open-vocabulary" in frame.iloc[0]["error"]
    with pytest.raises(ValueError, match="needs an SA-Co dataset"):
        run_saco(OracleSaco(gold), SyntheticDataset(num_images=1), detector="native", progress=False)
    with pytest.raises(ParameterError, match="max_detections"):
        get_protocol("saco").make_params(max_detections=0)
    assert get_protocol("saco").capability_for(get_protocol("saco").make_params(detector="native")) == "text"
    every = run_saco(OracleSaco(gold), gold, detector="native", skip_unscored=False, max_detections=1, progress=False)
    assert (every["status"] == "ok").all() and every["num_detections"].max() == 1
    assert sorted(every.loc[~every["scored"].astype(bool), "phrase"]) == ["tree", "wheel"]


def test_saco_table_and_report(gold, tmp_path):
    from samkit.results import write_report

    frame = run_saco(OracleSaco(gold), gold, detector="native", progress=False)
    table = saco_table(frame)
    assert len(table) == 1 and table.iloc[0]["saco_cgF1"] == pytest.approx(1.0, abs=1e-3)
    assert table.iloc[0]["saco_pairs"] == 9 and "encoder_ms" in table.columns and "note" in table.columns
    assert saco_table(frame.assign(protocol="text")).empty
    written = write_report(frame, tmp_path / "report")
    md = written["saco_md"].read_text()
    assert "saco_cgF1" in md and "oracle_saco" in md
    assert table.iloc[0]["published_saco_source"].startswith("none published for this model")


def test_saco_table_published_beside_native_rows_only(gold):
    """SAM 3's published SA-Co/Gold figures (samkit/published_accuracy.csv) stand beside a native
    row of the subset measured, as printed; a detector + segmenter row of the same model gets none
    (the published figures are SAM 3's own text path) and says so."""
    frame = run_saco(OracleSaco(gold), gold, detector="native", progress=False)
    assert saco_subset_of(str(frame["dataset"].iloc[0]))[0] == "SA-Co/Gold"
    assert saco_subset_of("saco:silver_fathomnet_test") == ("SA-Co/Silver", "fathomnet")
    assert saco_subset_of("coco:val2017") is None
    native = frame.assign(model="sam3", dataset="saco:gold_metaclip_merged_a_release_test")
    boxes = native.assign(detector="owlv2")
    table = saco_table(pd.concat([native, boxes], ignore_index=True))
    assert len(table) == 2
    mine = table[table["detector"] == "native"].iloc[0]
    other = table[table["detector"] == "owlv2"].iloc[0]
    assert (mine["published_cgF1 (%)"], mine["published_IL_MCC"], mine["published_pmF1 (%)"]) == (47.26, 0.81, 58.58)
    assert "scripts/eval/gold/README.md" in mine["published_saco_source"]
    assert mine["saco_cgF1"] == pytest.approx(1.0, abs=1e-3)  # measured stays measured
    assert np.isnan(other["published_cgF1 (%)"]) and "owlv2 boxes" in other["published_saco_source"]


def test_sam3_tiny_random_end_to_end(gold, tmp_path):
    """SAM 3 (tiny config, random weights) natively on two images, two at a time: every queried
    pair an ok row with its predictions, the file valid, the summary computed (numbers meaningless)."""
    two = SacoDataset(gold.gt_files, gold.images_dir, max_images=2)
    sam3 = samkit.load("sam3", weights="random", config="tiny", device="cpu")
    frame = run_saco(
        sam3,
        two,
        detector="native",
        box_threshold=0.0,
        max_detections=3,
        warmup=False,
        image_batch=2,
        progress=False,
        out_path=tmp_path / "rows.parquet",
    )
    ok = frame[frame["status"] == "ok"]
    assert (frame["status"].isin(["ok", "skipped"])).all(), frame["error"].dropna().tolist()
    assert len(frame) == two.num_pairs and len(ok) == int(frame["scored"].astype(bool).sum())
    assert ok["num_detections"].between(1, 3).all() and (ok["image_batch"] == 2).all()
    assert ok["decoder_ms"].gt(0).all() and ok["detect_ms"].isna().all() and ok["encoder_ms"].gt(0).all()
    written = json.loads((tmp_path / "rows_coco_predictions_segm.json").read_text())
    assert len(written) == ok["num_detections"].sum()
    assert all(r["segmentation"]["size"] == list(L.GOLD_HW) for r in written)
    summary = summarize(frame).iloc[0]
    assert -1 <= summary["saco_cgF1"] <= 1 and summary["saco_pairs"] == len(ok)
    assert summary["note"].startswith("RANDOM WEIGHTS")

"""Evaluation runners on exact synthetic ground truth: an oracle model, a failing model, and real models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from samkit.data import SyntheticDataset
from samkit.eval import get_protocol, run_automatic, run_box, run_interactive, summarize
from samkit.metrics import next_click
from samkit.rows import COLUMNS, load_results
from samkit.weights import WeightsInfo


class OracleModel:
    """Segmenter-shaped fake: returns the ground-truth object under the first positive click (or in the box)."""

    name, family = "oracle", "fake"
    capabilities = frozenset({"points", "box", "automatic"})

    def __init__(self, dataset, fail_on: tuple[str, str] | None = None):
        self.by_image = {s.image.tobytes(): s for s in dataset}
        self.model = torch.nn.Linear(1, 1)
        self.device = torch.device("cpu")
        self.weights = WeightsInfo("pretrained", sha256="0" * 64, official=True, path="oracle.pt")
        self.fail_on = fail_on
        self.set_image_calls = 0

    def set_image(self, image):
        self.sample = self.by_image[np.asarray(image).tobytes()]
        self.set_image_calls += 1

    def _object_at(self, x, y):
        hits = [i for i, m in enumerate(self.sample.masks) if m[int(y), int(x)]]
        return hits[-1] if hits else None

    def predict(
        self,
        point_coords=None,
        point_labels=None,
        box=None,
        mask_input=None,
        multimask_output=True,
        return_logits=False,
    ):
        if box is not None:  # the object whose mask has exactly this box
            index = int(np.argmin(np.abs(self.sample.boxes - np.asarray(box)).sum(1)))
        else:
            x, y = point_coords[0]
            index = self._object_at(x, y)
        if index is None:  # background click (the warm-up): nothing
            mask = np.zeros((self.sample.height, self.sample.width), bool)
        elif self.fail_on == (self.sample.image_id, self.sample.object_ids[index]):
            raise RuntimeError("CUDA out of memory (simulated)")
        else:
            mask = self.sample.masks[index]
        n = 3 if multimask_output else 1
        masks = np.stack([mask] + [np.zeros_like(mask)] * (n - 1))
        scores = np.array([0.9] + [0.1] * (n - 1), dtype=np.float32)
        return masks, scores, np.zeros((n, 256, 256), np.float32)

    def predict_boxes(self, boxes, multimask_output=False):  # the box protocol's batched call
        outs = [self.predict(box=b, multimask_output=multimask_output) for b in boxes]
        return tuple(np.stack([o[i] for o in outs]) for i in range(3))

    def generate(self, image, **params):
        self.set_image(image)
        return [{"segmentation": m, "predicted_iou": 0.9, "stability_score": 0.9} for m in self.sample.masks]


@pytest.fixture(scope="module")
def dataset():
    return SyntheticDataset(num_images=3, size=(64, 80), max_shapes=3, seed=1)


def test_interactive_oracle_rows_and_summary(dataset):
    model = OracleModel(dataset)
    frame = run_interactive(model, dataset, max_clicks=3, progress=False, run_id="r1")
    assert list(frame.columns[: len(COLUMNS)]) == COLUMNS
    ok = frame[frame["status"] == "ok"]
    n_objects = sum(s.num_objects for s in dataset)
    assert len(ok) == 3 * n_objects
    assert sorted(ok["clicks"].unique().tolist()) == [1, 2, 3]
    assert (ok["iou"] == 1.0).all() and (ok["boundary_iou"] == 1.0).all()
    assert (ok[ok["clicks"] == 1]["oracle_iou"] == 1.0).all()
    assert (ok["run_id"] == "r1").all() and (ok["protocol"] == "interactive").all()
    assert model.set_image_calls == len(dataset) + 1  # one warm-up, then each image embedded once
    first = ok[ok["clicks"] == 1].iloc[0]
    sample = dataset[0]
    gt = sample.masks[sample.object_ids.index(first["object_id"])]
    assert (first["click_x"], first["click_y"], first["click_positive"]) == next_click(gt, np.zeros_like(gt))
    summary = summarize(frame).iloc[0]
    assert summary["mIoU@1"] == summary["mIoU@3"] == 1.0
    assert summary["NoC@85"] == summary["NoC@90"] == 1.0 and summary["NoC@90_failures"] == 0
    assert summary["objects"] == n_objects and summary["note"] == ""


def test_rows_without_a_recorded_budget_summarize_with_their_clicks(dataset):
    """Rows from before ``max_clicks`` was recorded, alone or merged with newer rows, summarize:
    their budget is the clicks they ran (no NaN budget)."""
    from samkit.eval.interactive import summarize_interactive

    frame = run_interactive(OracleModel(dataset), dataset, max_clicks=2, progress=False)
    ok = frame[frame["status"] == "ok"]
    old = ok.assign(max_clicks=np.nan, image_id=ok["image_id"] + "_old")
    mixed = summarize_interactive(pd.concat([ok, old], ignore_index=True))
    only_old = summarize_interactive(old)
    assert mixed["NoC@90"] == only_old["NoC@90"] == summarize_interactive(ok)["NoC@90"] == 1.0
    assert only_old["NoC@90_failures"] == 0


def test_failures_and_skips_are_rows_and_the_run_goes_on(dataset):
    victim = dataset[0].object_ids[0]
    model = OracleModel(dataset, fail_on=(dataset[0].image_id, victim))
    frame = run_interactive(model, dataset, max_clicks=2, progress=False)
    errors = frame[frame["status"] == "oom"]  # out-of-memory failures are labelled as such
    assert len(errors) == 1 and errors.iloc[0]["object_id"] == victim
    assert (frame["status"] != "error").all()
    assert "out of memory" in errors.iloc[0]["error"]
    assert len(frame[frame["status"] == "ok"]) == 2 * (sum(s.num_objects for s in dataset) - 1)
    skipped = sum(len(s.skipped) for s in dataset)
    assert (frame["status"] == "skipped").sum() == skipped
    assert summarize(frame).iloc[0]["errors"] == 1


def test_box_protocol_with_oracle(dataset):
    frame = run_box(OracleModel(dataset), dataset, progress=False)
    ok = frame[frame["status"] == "ok"]
    assert len(ok) == sum(s.num_objects for s in dataset)
    assert (ok["iou"] == 1.0).all() and (ok["prompt"] == "box").all()
    assert summarize(frame).iloc[0]["box_mIoU"] == 1.0


def test_automatic_protocol_pools_recall(dataset):
    frame = run_automatic(OracleModel(dataset), dataset, progress=False, points_per_side=4)
    assert len(frame) == len(dataset) + sum(len(s.skipped) for s in dataset)
    ok = frame[frame["status"] == "ok"]
    assert ok["n_gt"].tolist() == [s.num_objects for s in dataset]
    summary = summarize(frame).iloc[0]
    assert summary["AR@100"] == pytest.approx(1.0) and summary["AR@1000"] == pytest.approx(1.0)


def test_incremental_save_survives_and_reloads(dataset, tmp_path):
    path = tmp_path / "rows.parquet"
    frame = run_box(OracleModel(dataset), dataset, progress=False, out_path=path)
    reloaded = load_results(tmp_path)
    pd.testing.assert_frame_equal(reloaded, frame)
    assert [p.name for p in tmp_path.iterdir()] == ["rows.parquet"]


def test_real_model_interactive_is_deterministic_and_the_registry_runs_the_same(random_model):
    model = random_model("mobile_sam")
    dataset = SyntheticDataset(num_images=1, size=(64, 80), max_shapes=3, seed=1)
    a = run_interactive(model, dataset, max_clicks=2, progress=False, run_id="r")
    b = get_protocol("interactive").run(model, dataset, max_clicks=2, progress=False, run_id="r")
    same = [c for c in a.columns if not c.endswith("_ms") and c != "peak_mem_mib"]
    pd.testing.assert_frame_equal(a[same], b[same])
    ok = a[a["status"] == "ok"]
    assert ok["iou"].between(0, 1).all() and (ok["encoder_ms"] > 0).all() and (ok["decoder_ms"] > 0).all()
    assert (ok["peak_mem_mib"] > 100).all() and (ok["mem_method"] == "cpu_process_peak_rss").all()
    assert (ok["weights"] == "random(seed=0)").all() and (ok["dtype"] == "float32").all()
    summary = summarize(a).iloc[0]
    assert summary["note"].startswith("RANDOM WEIGHTS")


def test_bad_runner_options(dataset):
    with pytest.raises(ValueError, match="feedback must be one of"):
        run_interactive(OracleModel(dataset), dataset, feedback="masks")
    with pytest.raises(ValueError, match="max_clicks"):
        run_interactive(OracleModel(dataset), dataset, max_clicks=0)


def test_void_pixels_leave_the_iou_and_the_clicks_as_in_ritm():
    """RITM's ignore label (GrabCut's 128, PascalVOC's 255): a prediction that also covers the void
    band scores IoU 1, and no click lands in the void."""
    from samkit.eval.interactive import _click_object

    gt = np.zeros((20, 24), bool)
    gt[5:15, 6:18] = True
    void = np.zeros_like(gt)
    void[3:17, 4:20] = True
    void &= ~gt  # a band around the object, as GrabCut's boundary_GT has

    class CoversVoid:
        device = torch.device("cpu")

        def predict(self, point_coords=None, point_labels=None, multimask_output=True, **_):
            n = 3 if multimask_output else 1
            masks = np.repeat((gt | void)[None], n, axis=0)
            return masks, np.linspace(0.9, 0.5, n).astype(np.float32), np.zeros((n, 8, 8), np.float32)

    rows = _click_object(CoversVoid(), gt, {"object_id": "1"}, 3, "none", void=void)
    assert [r["iou"] for r in rows] == [1.0, 1.0, 1.0] and rows[0]["oracle_iou"] == 1.0
    assert not any(void[r["click_y"], r["click_x"]] for r in rows)
    plain = _click_object(CoversVoid(), gt, {"object_id": "1"}, 1, "none")
    assert plain[0]["iou"] == gt.sum() / (gt | void).sum()

"""Result rows, provenance, atomic parquet store and summaries, on hand-made rows with known answers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from samkit.eval import summarize
from samkit.rows import COLUMNS, load_results, provenance, rows_to_frame, save_results, weights_columns
from samkit.weights import WeightsInfo
from samkit.wording import RANDOM_WEIGHTS_WARNING


def _interactive(model, weights, curves):
    rows = []
    for obj, curve in enumerate(curves):
        for k, iou in enumerate(curve, start=1):
            rows.append(
                dict(
                    model=model,
                    **weights_columns(weights),
                    device="cpu",
                    dtype="float32",
                    dataset="d",
                    image_id="img",
                    object_id=str(obj),
                    protocol="interactive",
                    prompt="points",
                    clicks=k,
                    iou=iou,
                    decoder_ms=10.0 + k,
                    encoder_ms=100.0,
                    status="ok",
                    oracle_iou=(min(1.0, iou + 0.1) if k == 1 else np.nan),
                )
            )
    return rows


def test_rows_to_frame_orders_columns_and_leaves_missing_empty():
    frame = rows_to_frame([{"model": "m", "iou": 0.5, "extra": 1}])
    assert list(frame.columns) == COLUMNS + ["extra"]
    assert frame["boundary_iou"].isna().all() and frame["error"].isna().all()
    assert frame["iou"].dtype == "float64" and str(frame["clicks"].dtype) == "Int64"


def test_summarize_interactive_known_values():
    curves = [
        [0.5, 0.86, 0.95] + [0.95] * 6,  # NoC@85 = 2, NoC@90 = 3
        [0.2, 0.3, 0.4] + [0.5] * 6,  # never: NoC = max_clicks (9), a failure
    ]
    frame = rows_to_frame(_interactive("m", WeightsInfo("random", seed=0), curves))
    row = summarize(frame).iloc[0]
    assert row["mIoU@1"] == pytest.approx((0.5 + 0.2) / 2)
    assert row["mIoU@3"] == pytest.approx((0.95 + 0.4) / 2)
    assert row["mIoU@9"] == pytest.approx((0.95 + 0.5) / 2)
    assert row["oracle_mIoU@1"] == pytest.approx((0.6 + 0.3) / 2)
    assert row["NoC@85"] == pytest.approx((2 + 9) / 2) and row["NoC@85_failures"] == 1
    assert row["NoC@90"] == pytest.approx((3 + 9) / 2) and row["NoC@90_failures"] == 1
    assert row["encoder_ms"] == 100.0 and row["decoder_ms"] == pytest.approx(15.0)
    assert row["objects"] == 2 and row["note"] == RANDOM_WEIGHTS_WARNING


def test_rows_carry_typed_weights_columns():
    random_row = rows_to_frame([weights_columns(WeightsInfo("random", seed=7))]).iloc[0]
    assert random_row["weights"] == "random(seed=7)" and random_row["weights_kind"] == "random"
    assert random_row["weights_seed"] == 7 and pd.isna(random_row["weights_sha256"])
    file = WeightsInfo("pretrained", sha256="ab" * 32, official=False, path="mine.pt")
    frame = rows_to_frame([weights_columns(file)])
    assert frame.iloc[0]["weights_kind"] == "pretrained" and frame.iloc[0]["weights_sha256"] == "ab" * 32
    assert not frame.iloc[0]["weights_official"] and pd.isna(frame.iloc[0]["weights_seed"])
    assert str(frame["weights_seed"].dtype) == "Int64" and str(frame["weights_official"].dtype) == "boolean"


def test_summarize_pools_automatic_recall_and_separates_models():
    pretrained = weights_columns(WeightsInfo("pretrained", sha256="abc", official=True))
    rows = [
        dict(
            model="a",
            **pretrained,
            device="cpu",
            dtype="float32",
            dataset="d",
            image_id="1",
            protocol="automatic",
            status="ok",
            n_gt=2,
            **{"ar_hits@100": 2.0, "ar_hits@1000": 2.0},
        ),
        dict(
            model="a",
            **pretrained,
            device="cpu",
            dtype="float32",
            dataset="d",
            image_id="2",
            protocol="automatic",
            status="ok",
            n_gt=6,
            **{"ar_hits@100": 0.0, "ar_hits@1000": 3.0},
        ),
        dict(
            model="b",
            **pretrained,
            device="cpu",
            dtype="float32",
            dataset="d",
            image_id="1",
            object_id="1",
            protocol="box",
            status="ok",
            iou=0.25,
        ),
        dict(
            model="b",
            **pretrained,
            device="cpu",
            dtype="float32",
            dataset="d",
            image_id="1",
            object_id="2",
            protocol="box",
            status="error",
            error="boom",
        ),
    ]
    table = summarize(rows_to_frame(rows)).set_index("model")
    assert table.loc["a", "AR@100"] == pytest.approx(2 / 8)  # pooled, not the mean of 1.0 and 0.0
    assert table.loc["a", "AR@1000"] == pytest.approx(5 / 8)
    assert table.loc["b", "box_mIoU"] == 0.25 and table.loc["b", "errors"] == 1
    assert table.loc["a", "note"] == ""


def test_save_and_load_are_atomic_and_keep_provenance(tmp_path):
    frame = rows_to_frame(_interactive("m", WeightsInfo("random", seed=0), [[0.5, 0.7]]))
    path = save_results(frame, tmp_path / "run" / "rows.parquet", {"run_id": "r", "seed": 0})
    assert sorted(p.name for p in path.parent.iterdir()) == ["rows.parquet", "rows.provenance.json"]
    assert json.loads((path.parent / "rows.provenance.json").read_text())["seed"] == 0
    pd.testing.assert_frame_equal(load_results(path), frame)
    pd.testing.assert_frame_equal(load_results([tmp_path]), frame)
    with pytest.raises(FileNotFoundError, match="No result file or folder at"):
        load_results(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="No result files"):
        load_results(tmp_path / "empty")


def test_provenance_names_versions_device_and_weights(random_model):
    model = random_model("mobile_sam")
    record = provenance([model], config={"max_clicks": 3}, seed=0, run_id="r")
    for key in ("samkit", "git_commit", "python", "torch", "cuda", "devices", "config", "seed"):
        assert key in record
    assert record["models"]["mobile_sam"]["weights"] == "random"
    assert record["models"]["mobile_sam"]["seed"] == 0 and record["config"] == {"max_clicks": 3}
    assert record["devices"][0].startswith("cpu")
    json.dumps(record, default=str)

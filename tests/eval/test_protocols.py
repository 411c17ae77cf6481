"""The protocol registry: listing, parameters, the same `unsupported` row everywhere, summaries."""

from __future__ import annotations

import numpy as np
import pytest

from fakes import FakeModel
from samkit.data import SyntheticDataset
from samkit.errors import UnknownProtocolError
from samkit.eval import get_protocol, list_protocols, run_box, run_interactive, summarize


@pytest.fixture(scope="module")
def dataset():
    return SyntheticDataset(num_images=2, size=(48, 64), max_shapes=2, seed=2)


def test_registry_lists_every_protocol_module():
    assert list_protocols() == [
        "agreement",
        "automatic",
        "benchmark",
        "box",
        "detector_boxes",
        "interactive",
        "saco",
        "saco_video",
        "text",
        "video",
        "video_benchmark",
    ]
    assert list_protocols(capability="box") == ["box", "detector_boxes"]
    interactive = get_protocol("interactive")
    assert interactive.capability == "points" and interactive.uses_dataset
    assert not get_protocol("benchmark").uses_dataset


def test_unknown_protocol_suggests_the_closest():
    with pytest.raises(UnknownProtocolError, match="Did you mean 'interactive'") as info:
        get_protocol("interactiv")
    assert (
        "Registered protocols: agreement, automatic, benchmark, box, detector_boxes, interactive, saco, "
        "saco_video, text, video, video_benchmark"
    ) in str(info.value)


def test_parameters_are_checked():
    protocol = get_protocol("interactive")
    assert protocol.make_params().max_clicks == 20
    with pytest.raises(TypeError, match=r"Unknown parameter\(s\) \['max_click'\]"):
        protocol.make_params(max_click=3)
    with pytest.raises(ValueError, match="feedback must be one of"):
        protocol.make_params(feedback="masks")
    with pytest.raises(ValueError, match="max_clicks must be an integer >= 1, got 0"):
        protocol.make_params(max_clicks=0)
    with pytest.raises(ValueError, match="phases\\[1\\] must be one of"):
        get_protocol("benchmark").make_params(phases=["set_image", "encode"])


@pytest.mark.parametrize("name", ["interactive", "box", "automatic"])
def test_a_model_without_the_capability_gets_the_same_unsupported_row(name, dataset, tmp_path):
    protocol = get_protocol(name)
    model = FakeModel(capabilities=())
    frame = protocol.run(model, dataset, run_id="r", out_path=tmp_path / "rows.parquet")
    assert len(frame) == 1 and model.calls == []  # nothing was run
    row = frame.iloc[0]
    assert row["status"] == "unsupported" and row["protocol"] == name and row["model"] == "fake"
    assert row["weights_kind"] == "random" and row["weights_seed"] == 3
    assert (
        f"fake does not support the {name} protocol: it needs the {protocol.capability!r} "
        f"capability, which these models have: "
    ) in row["error"]
    assert "mobile_sam" in row["error"]  # names the models that can
    assert (tmp_path / "rows.parquet").is_file()


def test_feedback_logits_passes_the_previous_chosen_logits(dataset):
    model = FakeModel()
    frame = run_interactive(model, [dataset[0]], max_clicks=3, feedback="logits", warmup=False, progress=False)
    ok = frame[frame["status"] == "ok"]
    first_object = ok[ok["object_id"] == ok.iloc[0]["object_id"]]
    assert first_object["clicks"].tolist() == [1, 2, 3]
    predicts = [kw for method, kw in model.calls if method == "predict"]
    assert predicts[0]["mask_input"] is None and predicts[0]["multimask_output"]
    # click 2 gets click 1's best-score (first) mask logits, click 3 gets click 2's only mask
    call_of_click1 = [m for m, _ in model.calls].index("predict") + 1
    assert predicts[1]["mask_input"].shape == (1, 256, 256)
    assert np.all(predicts[1]["mask_input"] == call_of_click1)
    assert np.all(predicts[2]["mask_input"] == call_of_click1 + 1)
    plain = FakeModel()
    run_interactive(plain, [dataset[0]], max_clicks=3, warmup=False, progress=False)
    assert all(kw["mask_input"] is None for m, kw in plain.calls if m == "predict")


def test_summarize_asks_each_protocol(dataset):
    model = FakeModel()
    rows = [run_interactive(model, dataset, max_clicks=2, progress=False), run_box(model, dataset, progress=False)]
    import pandas as pd

    table = summarize(pd.concat(rows, ignore_index=True))
    assert len(table) == 1
    row = table.iloc[0]
    for column in ("mIoU@1", "mIoU@2", "NoC@85", "NoC@90_failures", "box_mIoU", "encoder_ms"):
        assert column in table.columns and pd.notna(row[column]), column
    assert row["note"].startswith("RANDOM WEIGHTS")


def test_a_click_the_model_cannot_take_ends_the_object_and_keeps_earlier_clicks(dataset):
    """EfficientSAM takes at most 6 points: clicks 1-2 here stay rows, click 3 is one unsupported row."""
    from samkit.errors import UnsupportedError

    class TwoPointModel(FakeModel):
        def predict(self, point_coords=None, **kwargs):
            if point_coords is not None and len(point_coords) > 2:
                raise UnsupportedError("fake takes at most 2 prompt points, got 3")
            return super().predict(point_coords=point_coords, **kwargs)

    frame = run_interactive(TwoPointModel(), [dataset[0]], max_clicks=5, warmup=False, progress=False)
    for _, obj in frame.groupby("object_id"):
        assert obj["clicks"].tolist() == [1, 2, 3]
        assert obj["status"].tolist() == ["ok", "ok", "unsupported"]
        assert "at most 2 prompt points" in obj.iloc[2]["error"]
    summary = summarize(frame).iloc[0]
    assert summary["mIoU@1"] >= 0 and np.isnan(summary["mIoU@5"])  # no 5th click was made
    # an object the model stopped on is a failure at the run's budget (5), not at its 2 clicks
    assert summary["NoC@90_failures"] == frame["object_id"].nunique()
    assert summary["NoC@90"] == 5

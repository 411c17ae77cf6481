"""run_benchmark on a fake model: every phase, and failure rows (oom, unsupported) that let the rest run."""

from __future__ import annotations

import pytest
import torch

from fakes import FakeModel
from samkit.eval import run_benchmark
from samkit.eval.benchmark import DEFAULT_PHASES

FAST = dict(image_size=16, batch=3, warmup=1, repeats=2)


def test_every_phase_gives_a_row():
    model = FakeModel()
    frame = run_benchmark(model, **FAST, run_id="b")
    assert frame["phase"].tolist() == list(DEFAULT_PHASES) and (frame["status"] == "ok").all()
    assert (frame["median_ms"] > 0).all() and (frame["p95_ms"] >= frame["median_ms"]).all()
    assert (frame["repeats"] == 2).all() and (frame["params"] == 15).all()
    # one nn.Linear(4, 3) call per model call: 2 * 4 * 3 FLOPs; end_to_end calls it twice
    flops = dict(zip(frame["phase"], frame["flops"]))
    assert flops["set_image"] == flops["predict_point"] == flops["predict_boxes_batch"] == 24
    assert flops["end_to_end"] == 48 and frame.loc[frame["phase"] == "generate", "flops"].isna().all()
    assert frame.loc[frame["phase"] == "set_image", "encoder_ms"].notna().all()
    assert frame.loc[frame["phase"] == "predict_box", "decoder_ms"].notna().all()
    assert (frame["weights_kind"] == "random").all() and (frame["image_size"] == 16).all()
    assert (frame["mem_method"] == "cpu_process_peak_rss").all()
    boxes = [kw["boxes"] for m, kw in model.calls if m == "predict_boxes"]
    assert boxes and all(b.shape == (3, 4) for b in boxes)


def test_an_out_of_memory_phase_is_an_oom_row_and_the_others_run():
    model = FakeModel(fail={"predict_boxes": torch.cuda.OutOfMemoryError("CUDA out of memory.")})
    frame = run_benchmark(
        model, **FAST, phases=["set_image", "predict_boxes_batch", "predict_box"], flops=False, memory=False
    )
    status = dict(zip(frame["phase"], frame["status"]))
    assert status == {"set_image": "ok", "predict_boxes_batch": "oom", "predict_box": "ok"}
    failed = frame[frame["phase"] == "predict_boxes_batch"].iloc[0]
    assert "out of memory" in failed["error"] and failed[["median_ms", "p95_ms"]].isna().all()


def test_a_phase_the_model_cannot_do_is_unsupported_without_being_called():
    model = FakeModel(capabilities=("points",))
    frame = run_benchmark(model, **FAST, phases=["predict_point", "predict_box", "generate"], flops=False, memory=False)
    status = dict(zip(frame["phase"], frame["status"]))
    assert status == {"predict_point": "ok", "predict_box": "unsupported", "generate": "unsupported"}
    assert "needs the 'box' capability" in frame.iloc[1]["error"]
    assert not any(m in ("generate", "predict_boxes") for m, _ in model.calls)
    assert all(kw["box"] is None for m, kw in model.calls if m == "predict")


def test_a_failing_phase_is_an_error_row():
    model = FakeModel(fail={"generate": RuntimeError("boom")})
    frame = run_benchmark(model, **FAST, phases=["generate"], flops=False, memory=False)
    assert frame.iloc[0]["status"] == "error" and "RuntimeError: boom" in frame.iloc[0]["error"]


def test_bad_options():
    with pytest.raises(ValueError, match="Unknown benchmark phase"):
        run_benchmark(FakeModel(), phases=["encode"])
    with pytest.raises(ValueError, match="repeats must be an integer >= 1, got 0"):
        run_benchmark(FakeModel(), repeats=0)
    with pytest.raises(ValueError, match="image_batch must be an integer >= 1, got 0"):
        run_benchmark(FakeModel(), image_batch=0)

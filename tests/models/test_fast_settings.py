"""Fast settings: dtype checks, torch.compile of the encoder, the agreement protocol and its tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import samkit
from samkit.errors import UnsupportedError
from samkit.eval import get_protocol
from samkit.eval.agreement import BELOW, UNMEASURED, agreement_table, flag_agreement
from samkit.eval.benchmark import fast_settings_table, settings_table
from samkit.fast_settings import AGREEMENT_THRESHOLD, CompileError, compile_encoder, encoder_module, setting_label

TINY = dict(weights="random", config="tiny", device="cpu")
POINT = dict(point_coords=[[40, 30]], point_labels=[1])


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 255, (64, 80, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def reference(image):
    model = samkit.load("sam3", **TINY)
    model.set_image(image)
    return model


def test_float16_on_cpu_is_a_clear_error():
    with pytest.raises(UnsupportedError, match="float16.*CPU.*bfloat16"):
        samkit.load("mobile_sam", weights="random", device="cpu", dtype="float16")


def test_compile_refused_where_it_cannot_work():
    with pytest.raises(UnsupportedError, match="cannot compile.*fastsam"):
        samkit.load("fastsam_s", weights="random", device="cpu", compile=True)
    with pytest.raises(ValueError, match="compile_options without compile=True"):
        samkit.load("mobile_sam", weights="random", device="cpu", compile_options={"mode": "default"})


def test_compiled_encoder_gives_the_eager_masks(image, reference):
    # dynamo traces the real encoder; the eager backend keeps the test fast (inductor: slow test)
    model = samkit.load("sam3", **TINY, compile=True, compile_options={"backend": "eager"})
    assert model.compiled and model.compile_ms > 0 and "compiled" in repr(model)
    assert encoder_module(model)._compiled_call_impl is not None
    assert not model.is_image_set  # the warm-up image is forgotten
    assert set(model.model.state_dict()) == set(reference.model.state_dict())  # keys unchanged
    model.set_image(image)
    got, want = model.predict(**POINT), reference.predict(**POINT)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_allclose(got[1], want[1], atol=1e-6)
    rows = get_protocol("benchmark").run(
        model, image_size=64, repeats=1, warmup=0, phases=["set_image"], flops=False, memory=False
    )
    assert bool(rows["compile"].iloc[0]) and rows["compile_ms"].iloc[0] == model.compile_ms


def test_a_failing_compile_leaves_the_model_eager(monkeypatch):
    def broken_backend(gm, example_inputs):
        raise RuntimeError("no kernels today")

    with pytest.raises(CompileError, match="torch.compile of detector.vision_encoder.backbone failed"):
        samkit.load("sam3", **TINY, compile=True, compile_options={"backend": broken_backend})
    model = samkit.load("sam3", **TINY)
    with pytest.raises(CompileError, match="no kernels today"):
        compile_encoder(model, {"backend": broken_backend})
    assert encoder_module(model)._compiled_call_impl is None and not model.compiled
    model.set_image(np.zeros((32, 32, 3), np.uint8))  # still works, eagerly
    monkeypatch.setenv("CXX", "no-such-compiler")
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(CompileError, match="C\\+\\+ compiler"):
        samkit.load("sam3", **TINY, compile=True)


def test_agreement_of_float32_eager_with_itself_is_exact():
    model = samkit.load("sam3", **TINY)
    rows = get_protocol("agreement").run(
        model, synthetic_images=1, synthetic_size=[64, 80], photos=["coffee"], max_objects=2
    )
    assert (rows["status"] == "ok").all() and set(rows["prompt"]) == {"point", "box"}
    assert set(rows["dataset"]) == {"synthetic", "photo"}
    assert (rows["iou"] == 1.0).all() and (rows["score_diff"] == 0.0).all()
    assert rows["weights"].iloc[0] == "random(seed=0, config=tiny)"
    table = agreement_table(rows)
    assert len(table) == 1 and table["agreement_mIoU"].iloc[0] == 1.0
    assert table["agreement_flag"].iloc[0] == "" and "RANDOM WEIGHTS" in table["note"].iloc[0]


def test_agreement_of_bfloat16_is_measured_not_assumed(image):
    model = samkit.load("sam3", **TINY, dtype="bfloat16")
    rows = get_protocol("agreement").run(model, synthetic_images=1, synthetic_size=[64, 80], photos=[], max_objects=1)
    assert (rows["dtype"] == "bfloat16").all()
    # the rows' numbers are the masks' own IoU, recomputed here from both models
    ref = samkit.load("sam3", **TINY)
    from samkit.eval.agreement import agreement_inputs

    ((_, img, prompts),) = agreement_inputs(1, (64, 80), [], 1)
    model.set_image(img)
    ref.set_image(img)
    for (_obj, _prompt, kwargs), iou in zip(prompts, rows["iou"]):
        a, b = model.predict(**kwargs)[0], ref.predict(**kwargs)[0]
        want = np.mean([(x & y).sum() / max((x | y).sum(), 1) if (x | y).any() else 1.0 for x, y in zip(a, b)])
        assert iou == pytest.approx(want)


def _bench(
    model: str, dtype: str, compiled: bool, batch: int, set_image_ms: float, per_image_ms: float | None = None
) -> list[dict]:
    base = dict(
        protocol="benchmark",
        model=model,
        family="sam",
        weights="random(seed=0)",
        weights_kind="random",
        device="cpu",
        device_name="cpu: x86_64 x2",
        dtype=dtype,
        compile=compiled,
        image_batch=batch,
        image_size=1024,
        batch=8,
        status="ok",
        repeats=5,
    )
    rows = [
        dict(base, phase="set_image", median_ms=set_image_ms, p95_ms=set_image_ms),
        dict(base, phase="predict_point", median_ms=10.0, p95_ms=11.0),
    ]
    if per_image_ms is not None:
        rows.append(
            dict(
                base,
                phase="set_images",
                median_ms=per_image_ms * batch,
                per_image_ms=per_image_ms,
                p95_ms=per_image_ms * batch,
            )
        )
    return rows


def _agree(model: str, dtype: str, compiled: bool, iou: float) -> dict:
    return dict(
        protocol="agreement",
        model=model,
        weights="random(seed=0)",
        weights_kind="random",
        device="cpu",
        device_name="cpu: x86_64 x2",
        dtype=dtype,
        compile=compiled,
        dataset="synthetic",
        iou=iou,
        min_iou=iou,
        score_diff=0.01,
        max_score_diff=0.02,
        status="ok",
    )


def test_plain_vs_best_never_picks_a_setting_below_the_threshold():
    bench = pd.DataFrame(
        _bench("m", "float32", False, 1, 100.0)
        + _bench("m", "bfloat16", False, 1, 50.0)
        + _bench("m", "bfloat16", True, 1, 20.0)
        + _bench("m", "float32", True, 8, 90.0, 40.0)
    )
    agree = pd.DataFrame([_agree("m", "bfloat16", False, 0.995), _agree("m", "bfloat16", True, 0.95)])
    settings = settings_table(bench, agree)
    by = settings.set_index("setting")
    assert by.loc["bfloat16 + compile", "agreement_flag"] == BELOW
    assert by.loc["float32 + compile, batch 8", "agreement_flag"] == UNMEASURED
    assert by.loc["float32 + compile, batch 8", "encoder_ms"] == 40.0  # per image of the batch
    assert by.loc["bfloat16", "speedup"] == pytest.approx(2.0)
    best = fast_settings_table(bench, agree).iloc[0]
    assert best["best_setting"] == "bfloat16" and best["best_encoder_ms"] == 50.0
    assert best["speedup"] == pytest.approx(2.0) and best["best_agreement_mIoU"] == 0.995
    assert best["fastest_setting"] == "bfloat16 + compile" and best["fastest_flag"] == BELOW
    assert best["plain_encoder_ms"] == 100.0 and "RANDOM WEIGHTS" in best["note"]


def test_flag_agreement_marks_every_setting():
    table = pd.DataFrame(
        {
            "model": ["m", "m", "m"],
            "weights": ["w"] * 3,
            "device": ["cpu"] * 3,
            "dtype": ["float32", "bfloat16", "float32"],
            "compile": [False, False, True],
        }
    )
    agree = pd.DataFrame([_agree("m", "bfloat16", False, AGREEMENT_THRESHOLD - 0.001)]).assign(weights="w")
    flagged = flag_agreement(table, agreement_table(agree))
    assert flagged["agreement_flag"].tolist() == ["", BELOW, UNMEASURED]
    assert flagged["agreement_mIoU"].iloc[0] == 1.0


def test_setting_labels():
    assert setting_label("float32", False) == "float32"
    assert setting_label("bfloat16", True, 8) == "bfloat16 + compile, batch 8"


@pytest.mark.slow
def test_inductor_compiled_mobile_sam_agrees_with_eager():
    model = samkit.load("mobile_sam", weights="random", device="cpu", compile=True)
    rows = get_protocol("agreement").run(model, synthetic_images=1, photos=["astronaut"], max_objects=2)
    assert rows["iou"].mean() >= AGREEMENT_THRESHOLD


def test_report_shows_plain_and_best_settings_with_agreement(tmp_path):
    from samkit.results import write_report
    from samkit.rows import rows_to_frame

    rows = rows_to_frame(
        _bench("m", "float32", False, 1, 100.0)
        + _bench("m", "bfloat16", False, 1, 50.0)
        + [_agree("m", "bfloat16", False, 0.9)]
    )
    written = write_report(rows, tmp_path)
    assert {"fast_settings_md", "agreement_md", "benchmark_md"} <= set(written)
    bench = pd.read_csv(tmp_path / "benchmark.csv")
    assert bench.set_index("dtype").loc["bfloat16", "agreement_flag"] == BELOW
    best = pd.read_csv(tmp_path / "fast_settings.csv").iloc[0]
    assert best["best_setting"] == "float32" and best["fastest_setting"] == "bfloat16"
    text = (tmp_path / "fast_settings.md").read_text()
    assert "RANDOM WEIGHTS" in text and "cpu" in text


def test_benchmark_image_batch_axis():
    model = samkit.load("sam3", **TINY)
    rows = get_protocol("benchmark").run(
        model,
        image_size=64,
        repeats=1,
        warmup=0,
        image_batch=3,
        phases=["set_image", "set_images"],
        flops=False,
        memory=False,
    )
    assert (rows["status"] == "ok").all() and (rows["image_batch"] == 3).all()
    batch = rows[rows["phase"] == "set_images"].iloc[0]
    assert batch["per_image_ms"] == pytest.approx(batch["median_ms"] / 3)
    assert batch["encoder_ms"] == batch["per_image_ms"]
    assert model.is_image_set and model.original_size == (64, 64)  # one image left set, as before
    from samkit.eval.benchmark import benchmark_table

    table = benchmark_table(rows).iloc[0]
    assert table["set_images_per_image_ms"] == pytest.approx(batch["per_image_ms"])

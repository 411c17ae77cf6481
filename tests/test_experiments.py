"""The Hydra entry points: config validation, sweeps, resume after a killed job, failure rows, report."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException
from omegaconf.errors import ValidationError

from samkit.results import load_results

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = ROOT / "experiments"
SMALL = ["dataset.num_images=3", "dataset.size=[64,80]", "dataset.max_shapes=2", "weights=random",
         "progress=false"]

sys.path.insert(0, str(EXPERIMENTS))
import schemas  # noqa: E402

schemas.register()


def _run(script: str, *args: str, timeout: int = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(EXPERIMENTS / script), *args], cwd=ROOT, text=True,
                          capture_output=True, timeout=timeout, env={**os.environ, **(env or {})})


def _compose(name: str, overrides: list[str]):
    with initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
        return compose(name, overrides=overrides)


def test_model_configs_are_in_sync_with_the_registry():
    out = _run("gen_model_configs.py", "--check")
    assert out.returncode == 0, out.stderr


def test_configs_compose_with_typed_defaults():
    cfg = _compose("benchmark", ["model=sam2.1_hiera_tiny", "dtype=bfloat16"])
    assert cfg.model.name.name == "sam2.1_hiera_tiny" and cfg.dtype.name == "bfloat16"
    cfg = _compose("evaluate", ["+experiment=sam_paper_interactive"])
    assert cfg.dataset._target_ == "samkit.data.CocoDataset" and cfg.protocol.max_clicks == 20
    cfg = _compose("benchmark", ["+experiment=seeds_perf_table"])
    assert cfg.repeats == 20 and cfg.warmup == 3 and cfg.image_size == 1024


@pytest.mark.parametrize("override, error", [
    ("imag_size=512", "imag_size"),               # a typo in a key
    ("dtype=float33", "float33"),                  # a value outside the enum
    ("weights=imagenet", "imagenet"),
    ("image_size=big", "big"),                     # wrong type
    ("phases=[set_image,encode]", "encode"),
])
def test_bad_benchmark_configs_fail_at_compose_time(override, error):
    with pytest.raises((ConfigCompositionException, ValidationError)) as info:
        _compose("benchmark", [override])
    assert error in str(info.value) or error in str(info.value.__cause__)


def test_unknown_model_name_fails_at_compose_time():
    with pytest.raises(ConfigCompositionException, match="model/sam_vit_x"):
        _compose("benchmark", ["model=sam_vit_x"])


def test_range_checks():
    with pytest.raises(ValueError, match="image_size must be >= 1"):
        schemas.check(_compose("benchmark", ["image_size=0"]))
    with pytest.raises(ValueError, match="max_clicks must be >= 1"):
        schemas.check(_compose("evaluate", ["protocol.max_clicks=0"]))


def test_bad_dataset_option_fails_before_any_model_loads(tmp_path):
    out = _run("evaluate.py", "dataset.num_imags=2", f"hydra.run.dir={tmp_path}")
    assert out.returncode != 0
    assert "num_imags" in out.stderr
    assert not (tmp_path / "rows.parquet").exists()


def test_sweep_of_two_models_with_report(tmp_path):
    sweep = tmp_path / "sweep"
    out = _run("evaluate.py", "-m", "model=mobile_sam,sam2.1_hiera_tiny", "protocol=box", *SMALL,
               f"hydra.sweep.dir={sweep}")
    assert out.returncode == 0, out.stderr[-3000:]
    rows = load_results(sweep)
    assert set(rows["model"]) == {"mobile_sam", "sam2.1_hiera_tiny"}
    assert (rows["protocol"] == "box").all() and (rows["weights"] == "random(seed=0)").all()
    ok = rows[rows["status"] == "ok"]
    assert ok.groupby("model").size().nunique() == 1  # the same objects for both models
    assert len(list(sweep.rglob("done.json"))) == 2 and len(list(sweep.rglob("*.provenance.json"))) == 2
    report = tmp_path / "report"
    out = _run("report.py", f"runs={sweep}", f"out={report}", env={"MPLBACKEND": "Agg"})
    assert out.returncode == 0, out.stderr[-3000:]
    table = pd.read_csv(report / "accuracy.csv")
    assert sorted(table["model"]) == ["mobile_sam", "sam2.1_hiera_tiny"]
    assert {"box_mIoU", "encoder_ms", "decoder_ms", "peak_mem_mib", "weights", "note"} <= set(table.columns)
    assert "RANDOM WEIGHTS" in (report / "accuracy.md").read_text()
    # same seed, same config, same weights -> the same numbers
    again = tmp_path / "again"
    out = _run("evaluate.py", "-m", "model=mobile_sam", "protocol=box", *SMALL, f"hydra.sweep.dir={again}")
    assert out.returncode == 0, out.stderr[-3000:]
    first = ok[ok["model"] == "mobile_sam"].sort_values(["image_id", "object_id"])["iou"].to_numpy()
    second = load_results(again).query("status == 'ok'").sort_values(["image_id", "object_id"])["iou"]
    assert list(second) == list(first)


def test_missing_checkpoint_is_a_row_and_the_sweep_goes_on(tmp_path):
    sweep = tmp_path / "sweep"
    args = ["-m", "model=mobile_sam", "protocol=box", "weights=pretrained,random",
            *[a for a in SMALL if not a.startswith("weights")], f"hydra.sweep.dir={sweep}"]
    out = _run("evaluate.py", *args)
    assert out.returncode == 0, out.stderr[-3000:]
    rows = load_results(sweep)
    failed = rows[rows["status"] == "missing_checkpoint"]
    assert len(failed) == 1 and "samkit weights download mobile_sam" in failed.iloc[0]["error"]
    assert (rows[rows["status"] == "ok"]["weights"] == "random(seed=0)").all()
    assert len(list(sweep.rglob("done.json"))) == 1  # the failed job is retried on the next run


def test_killed_sweep_resumes_without_loss_or_duplicates(tmp_path):
    sweep = tmp_path / "sweep"
    args = ["-m", "model=mobile_sam,sam2.1_hiera_tiny", "protocol=interactive", "protocol.max_clicks=3",
            *SMALL, f"hydra.sweep.dir={sweep}"]
    proc = subprocess.Popen([sys.executable, str(EXPERIMENTS / "evaluate.py"), *args], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    second_job = None
    while time.time() < deadline and proc.poll() is None:
        done = list(sweep.rglob("done.json"))
        partial = [p for p in sweep.rglob("rows.parquet") if not (p.parent / "done.json").exists()]
        if len(done) == 1 and partial:
            second_job = partial[0].parent
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert second_job is not None, "the sweep finished before it could be killed mid-way"
    first_job = next(sweep.rglob("done.json")).parent
    before_first = pd.read_parquet(first_job / "rows.parquet")
    interrupted = pd.read_parquet(second_job / "rows.parquet")
    saved_images = set(interrupted["image_id"])
    assert saved_images and saved_images <= {"0", "1", "2"}
    assert not (second_job / "done.json").exists()

    out = _run("evaluate.py", *args)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "skipped (resume=true)" in out.stdout
    pd.testing.assert_frame_equal(pd.read_parquet(first_job / "rows.parquet"), before_first)
    rows = load_results(sweep)
    keys = ["model", "image_id", "object_id", "clicks", "status"]
    assert not rows.duplicated(keys).any()
    for model, group in rows[rows["status"] == "ok"].groupby("model"):
        assert set(group["image_id"]) == {"0", "1", "2"}, model
        assert (group.groupby(["image_id", "object_id"]).size() == 3).all()
    resumed = pd.read_parquet(second_job / "rows.parquet")
    kept = resumed[resumed["run_id"].isin(set(interrupted["run_id"]))]
    assert set(kept["image_id"]) == saved_images  # finished images were kept, not recomputed


def test_benchmark_job_writes_phase_rows(tmp_path):
    out = _run("benchmark.py", "model=mobile_sam", "weights=random", "image_size=128", "repeats=2",
               "warmup=1", "batch=3", "phases=[set_image,predict_point,predict_boxes_batch]",
               "progress=false", f"hydra.run.dir={tmp_path}")
    assert out.returncode == 0, out.stderr[-3000:]
    rows = load_results(tmp_path)
    assert list(rows["phase"]) == ["set_image", "predict_point", "predict_boxes_batch"]
    assert (rows["status"] == "ok").all() and (rows["median_ms"] > 0).all()
    assert (rows["flops"] > 0).all() and (rows["params"] == 10_130_092).all()
    assert (rows["image_size"] == 128).all() and (rows["batch"] == 3).all()
    assert rows["device_name"].iloc[0].startswith("cpu")
    assert (rows["mem_method"] == "cpu_process_peak_rss").all()

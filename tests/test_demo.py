"""The main job: library function and its Hydra entry point."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import samkit
from samkit.demo import resolve_models, run_demo
from samkit.loading import choose_weights

ROOT = Path(__file__).resolve().parents[1]


def test_resolve_models():
    assert resolve_models("default") == ["sam_vit_b", "sam2_hiera_tiny", "sam2.1_hiera_tiny", "mobile_sam"]
    assert resolve_models("all") == samkit.list_models()
    assert resolve_models(["mobile_sam", "sam2.1*"])[:2] == ["mobile_sam", "sam2.1_hiera_tiny"]
    with pytest.raises(KeyError, match="Did you mean"):
        resolve_models("mobilesam")
    with pytest.raises(ValueError, match="No registered model matches"):
        resolve_models("sam9*")


def test_auto_weights_use_random_without_checkpoint():
    assert choose_weights("mobile_sam", "auto") == "random"
    assert choose_weights("mobile_sam", "pretrained") == "pretrained"


def test_run_demo_writes_overlays_and_timings(tmp_path):
    table = run_demo(tmp_path, ["mobile_sam"], ["chelsea", "coffee"], repeats=2, progress=False)
    assert list(table["image"]) == ["chelsea", "coffee"]
    assert (table["weights"] == "random").all() and (table["weights_id"] == "random(seed=0)").all()
    assert (table["device"] == "cpu").all()
    for col in ("set_image_ms", "predict_point_ms", "predict_box_ms"):
        assert (table[col] > 0).all()
    saved = pd.read_csv(tmp_path / "timings.csv")
    pd.testing.assert_frame_equal(saved, table, check_dtype=False)
    for photo in ("chelsea", "coffee"):
        png = tmp_path / "overlays" / f"{photo}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = (tmp_path / "summary.txt").read_text()
    assert "mobile_sam" in summary and "random" in summary and "cpu" in summary


def test_demo_entry_point_runs_with_hydra_overrides(tmp_path):
    cmd = [
        sys.executable,
        str(ROOT / "experiments" / "demo.py"),
        "models=[mobile_sam]",
        "photos=[astronaut]",
        "repeats=1",
        "progress=false",
        f"hydra.run.dir={tmp_path}",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert f"Overlays, timings.csv and summary.txt in {tmp_path}" in out.stdout
    assert (tmp_path / "overlays" / "astronaut.png").is_file()
    assert len(pd.read_csv(tmp_path / "timings.csv")) == 1

"""Packaging: the optional parts are extras, and a missing one is a `MissingExtraError` that names
``pip install 'samkit[<extra>]'``.

The fast tests simulate a missing package (``sys.modules[name] = None``; in a subprocess where the
test process must stay as it was). The slow test builds a fresh virtual environment with the core
install only (``pip install <repo>``, no extras) and uses samkit there.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from samkit.errors import MissingExtraError, SamkitError, check_extra, require_extra

ROOT = Path(__file__).resolve().parents[1]

#: the optional top-level modules and the extra that installs each
OPTIONAL = {
    "transformers": "hf",
    "ultralytics": "ultralytics",
    "av": "video",
    "fastapi": "serve",
    "uvicorn": "serve",
    "anywidget": "widgets",
}


# ------------------------------------------------------------------------------- require_extra
def test_require_extra_missing_module(monkeypatch):
    monkeypatch.setitem(sys.modules, "samkit_test_optional", None)  # import of it fails
    with pytest.raises(MissingExtraError) as info:
        require_extra("samkit_test_optional", "hf", "The thing")
    err = info.value
    assert str(err) == ("The thing needs samkit_test_optional, which is not installed: pip install 'samkit[hf]'")
    assert isinstance(err, ImportError) and isinstance(err, SamkitError)
    assert (err.name, err.module, err.extra) == ("samkit_test_optional", "samkit_test_optional", "hf")
    again = pickle.loads(pickle.dumps(err))  # crosses process boundaries (launchers, jobs)
    assert (str(again), again.module, again.extra) == (str(err), err.module, err.extra)
    with pytest.raises(MissingExtraError, match=r"pip install 'samkit\[video\]'"):
        check_extra("samkit_test_optional", "video", "The thing")


def test_require_extra_present_module():
    import json as json_module

    assert require_extra("json", "hf", "x") is json_module
    check_extra("json", "hf", "x")


def test_require_extra_missing_dependency_is_named(tmp_path, monkeypatch):
    (tmp_path / "samkit_test_wrapper.py").write_text("import samkit_test_dependency_absent\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "samkit_test_wrapper", raising=False)
    with pytest.raises(MissingExtraError) as info:
        require_extra("samkit_test_wrapper", "serve", "The service")
    assert "whose dependency samkit_test_dependency_absent is not installed" in str(info.value)
    assert "pip install 'samkit[serve]'" in str(info.value)


def test_require_extra_other_import_errors_propagate(tmp_path, monkeypatch):
    (tmp_path / "samkit_test_broken.py").write_text("raise ImportError('cannot import name x')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "samkit_test_broken", raising=False)
    with pytest.raises(ImportError) as info:
        require_extra("samkit_test_broken", "hf", "x")
    assert not isinstance(info.value, MissingExtraError)


def test_check_extra_does_not_import(tmp_path, monkeypatch):
    (tmp_path / "samkit_test_heavy.py").write_text("raise RuntimeError('imported')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    check_extra("samkit_test_heavy", "hf", "x")
    assert "samkit_test_heavy" not in sys.modules


# ----------------------------------------------------------------------------------- pyproject
def test_pyproject_extras():
    import tomllib  # Python 3.11+

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"])
    extras = project["optional-dependencies"]
    for package in (
        "ultralytics",
        "transformers",
        "fastapi",
        "uvicorn",
        "python-multipart",
        "av==",
        "anywidget",
        "hydra-submitit-launcher",
        "hydra-joblib-launcher",
    ):
        assert package not in core, f"{package} is a core dependency; it belongs in an extra"
    for package in (
        "segment-anything==",
        "sam2==",
        "mobilesam-mirror",
        "timm",
        "segment-anything-hq",
        "efficientsam",
        "hydra-core",
        "omegaconf",
        "pycocotools",
        "torch",
    ):
        assert package in core
    wanted = {
        "hf": "transformers",
        "ultralytics": "ultralytics",
        "video": "av",
        "serve": "fastapi",
        "widgets": "anywidget",
        "launchers": "hydra-submitit-launcher",
    }
    for extra, package in wanted.items():
        assert any(req.startswith(package) for req in extras[extra]), (extra, extras[extra])
    everything = {e for req in extras["all"] for e in req.partition("[")[2].rstrip("]").split(",")}
    assert everything == set(extras) - {"all", "test", "docs", "slurm"}


# ---------------------------------------------------------------- missing extras, end to end
_MISSING_SCRIPT = textwrap.dedent("""
    import json, sys
    for name in {optional!r}:
        sys.modules[name] = None  # as if not installed
    import numpy as np
    import samkit
    from samkit.errors import MissingExtraError

    out = {{"models": len(samkit.list_models()), "table": len(samkit.model_table())}}

    def error(call):
        try:
            call()
        except MissingExtraError as err:
            return str(err)
        except Exception as err:
            return "WRONG " + type(err).__name__ + ": " + str(err)
        return "NO ERROR"

    out["fastsam"] = error(lambda: samkit.load("fastsam_s", weights="random", device="cpu"))
    out["sam3"] = error(lambda: samkit.load("sam3", weights="random", config="tiny", device="cpu"))
    out["edgetam"] = error(lambda: samkit.load("edgetam", weights="pretrained", download=True))
    from samkit.detectors import load_detector
    from samkit.taggers import load_tagger
    out["yolo"] = error(lambda: load_detector("yolo11n", weights="random"))
    out["grounding_dino"] = error(lambda: load_detector("grounding_dino_tiny", weights="random",
                                                        config="tiny"))
    out["clip"] = error(lambda: load_tagger("clip_vit_b32", weights="random", config="tiny"))
    from samkit.backends.transformers import transformers_module
    from samkit.backends.ultralytics import import_ultralytics
    out["transformers_module"] = error(transformers_module)
    out["import_ultralytics"] = error(import_ultralytics)
    from samkit.video_io import write_video
    out["write_video"] = error(lambda: write_video("never.mp4", np.zeros((2, 8, 8, 3), np.uint8)))
    out["serve"] = error(lambda: __import__("samkit.serve"))
    out["widgets"] = error(lambda: __import__("samkit.widgets"))
    from samkit.loading import guess_checkpoint_model
    out["guess"] = guess_checkpoint_model({{"image_encoder.x": (1,)}})
    out["leaked"] = [m for m in {optional!r} if sys.modules.get(m) is not None]
    print(json.dumps(out))
""")


def test_missing_extras_are_named_errors(tmp_path):
    """With every optional package "uninstalled", each part that needs one names its extra, early
    (no build, no download), and the registry / model table still work."""
    script = _MISSING_SCRIPT.format(optional=sorted(OPTIONAL))
    env = {**os.environ, "SAMKIT_CHECKPOINTS": str(tmp_path / "checkpoints"), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["models"] > 20 and out["table"] == out["models"]
    expected = {
        "fastsam": "ultralytics",
        "sam3": "hf",
        "edgetam": "hf",
        "yolo": "ultralytics",
        "grounding_dino": "hf",
        "clip": "hf",
        "transformers_module": "hf",
        "import_ultralytics": "ultralytics",
        "write_video": "video",
        "serve": "serve",
        "widgets": "widgets",
    }
    for key, extra in expected.items():
        assert f"pip install 'samkit[{extra}]'" in out[key], (key, out[key])
        assert "which is not installed" in out[key]
    assert "fastsam_s" in out["fastsam"] and "sam3" in out["sam3"]
    assert out["guess"] is None and out["leaked"] == []
    assert not any(p.is_file() for p in (tmp_path / "checkpoints").rglob("*"))  # nothing downloaded


# ------------------------------------------------------------------- a fresh core-only venv
TORCH = ["torch==2.14.1", "torchvision==0.29.1"]  # the releases on this machine's disk (Makefile)
SAM2 = "sam2==1.1.0"

_CORE_SCRIPT = textwrap.dedent("""
    import importlib, json, sys
    import numpy as np
    out = {}
    for name in ("ultralytics", "transformers", "fastapi", "uvicorn", "av", "anywidget",
                 "hydra_plugins.hydra_joblib_launcher", "hydra_plugins.hydra_submitit_launcher"):
        try:
            importlib.import_module(name)
            out[name] = "importable"
        except ImportError:
            out[name] = "missing"
    import samkit
    from samkit.errors import MissingExtraError
    out["samkit_file"] = samkit.__file__
    out["models"] = len(samkit.list_models())
    out["table"] = len(samkit.model_table())
    model = samkit.load("mobile_sam", weights="random", device="cpu")
    image = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    model.set_image(image)
    masks, scores, logits = model.predict(point_coords=np.array([[30.0, 20.0]]),
                                          point_labels=np.array([1]), multimask_output=True)
    out["predict"] = [list(masks.shape), str(masks.dtype), list(scores.shape), list(logits.shape)]

    def error(call):
        try:
            call()
        except MissingExtraError as err:
            return str(err)
        except Exception as err:
            return "WRONG " + type(err).__name__ + ": " + str(err)
        return "NO ERROR"

    out["fastsam"] = error(lambda: samkit.load("fastsam_s", weights="random"))
    out["sam3"] = error(lambda: samkit.load("sam3", weights="random", config="tiny"))
    out["serve"] = error(lambda: __import__("samkit.serve"))
    out["widgets"] = error(lambda: __import__("samkit.widgets"))
    from samkit.video_io import write_video
    out["video"] = error(lambda: write_video("never.mp4", np.zeros((2, 8, 8, 3), np.uint8)))
    print(json.dumps(out))
""")


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, **kwargs)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def _source_copy(dest: Path) -> Path:
    """The repo's package sources (top-level files + samkit/) copied to ``dest``, so that building
    the wheel writes no build/ or egg-info into the working tree."""
    dest.mkdir()
    for path in ROOT.iterdir():
        if path.is_file():
            shutil.copy2(path, dest / path.name)
    shutil.copytree(ROOT / "samkit", dest / "samkit", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


@pytest.mark.slow
def test_core_install_in_fresh_venv(tmp_path):
    """``pip install samkit`` (no extras) in a new venv: SAM-family models work, the optional
    families fail with the extra named, and the optional packages are really absent."""
    venv = tmp_path / "venv"
    try:
        _check_core_install(tmp_path, venv)
    finally:  # a few GB (torch and its CUDA wheels): not kept among pytest's last three tmp folders
        shutil.rmtree(venv, ignore_errors=True)


def _check_core_install(tmp_path: Path, venv: Path) -> None:
    start = time.perf_counter()
    _run([sys.executable, "-m", "venv", str(venv)])
    py = str(venv / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    pip = [py, "-m", "pip", "install", "--quiet"]
    _run([*pip, "--upgrade", "pip", "setuptools", "wheel"], env=env)
    _run([*pip, *TORCH], env=env)
    _run([*pip, "--no-build-isolation", SAM2], env={**env, "SAM2_BUILD_CUDA": "0"})
    source = _source_copy(tmp_path / "src")
    _run([*pip, str(source)], env=env)  # not editable, core only
    installed = time.perf_counter() - start

    work = tmp_path / "work"
    work.mkdir()
    proc = _run(
        [py, "-c", _CORE_SCRIPT],
        cwd=work,
        env={**env, "SAMKIT_CHECKPOINTS": str(tmp_path / "checkpoints"), "MPLBACKEND": "Agg"},
    )
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"core venv: installed in {installed:.0f} s, checked in {time.perf_counter() - start - installed:.0f} s")

    assert str(venv) in out["samkit_file"], out["samkit_file"]  # the installed copy, not the repo
    for name in (
        "ultralytics",
        "transformers",
        "fastapi",
        "uvicorn",
        "av",
        "anywidget",
        "hydra_plugins.hydra_joblib_launcher",
        "hydra_plugins.hydra_submitit_launcher",
    ):
        assert out[name] == "missing", f"{name} is installed by the core install"
    assert out["models"] > 20 and out["table"] == out["models"]
    assert out["predict"] == [[3, 48, 64], "bool", [3], [3, 256, 256]]
    assert "pip install 'samkit[ultralytics]'" in out["fastsam"], out["fastsam"]
    assert "pip install 'samkit[hf]'" in out["sam3"], out["sam3"]
    assert "pip install 'samkit[serve]'" in out["serve"], out["serve"]
    assert "pip install 'samkit[widgets]'" in out["widgets"], out["widgets"]
    assert "pip install 'samkit[video]'" in out["video"], out["video"]

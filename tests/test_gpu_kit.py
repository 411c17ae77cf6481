"""The GPU run kit (issue 26): `experiments/gpu/run_gpu.py` as a CPU dry run (every part, SAM 3's
tiny config, seconds), its pieces (CUDA-test discovery, family round-robin, budget bookkeeping), and
`experiments/gpu/make_kit.py`'s manifest, size cap and requirement check on fake wheels (nothing is
downloaded)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from samkit.errors import UnsupportedError
from samkit.wording import RANDOM_WEIGHTS_WARNING

ROOT = Path(__file__).resolve().parents[1]
GPU = ROOT / "experiments" / "gpu"
sys.path.insert(0, str(GPU))
import make_kit  # noqa: E402
import run_gpu  # noqa: E402

# ------------------------------------------------------------------------------------- dry run


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory):
    """One dry run of the driver, in this process: (output folder, working folder)."""
    root = tmp_path_factory.mktemp("gpu_dry")
    out, work = root / "out", root / "work"
    assert run_gpu.main([str(out), "--dry-run", "--work", str(work)]) == 0
    return out, work


def test_dry_run_writes_every_output_and_no_more(dry_run):
    out, _ = dry_run
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(run_gpu.OUTPUT_FILES)
    assert len(names) <= 7  # the device tool returns 8 files; run.sh adds run.log
    summary = (out / "summary.md").read_text()
    assert summary.startswith("# samkit DRY RUN")
    assert RANDOM_WEIGHTS_WARNING in summary
    for heading in ("## CUDA tests", "## float32, eager", "## Best setting", "## Video tracking", "## Automatic masks"):
        assert heading in summary


def test_dry_run_measures_every_setting(dry_run):
    out, _ = dry_run
    perf = pd.read_csv(out / "perf.csv")
    assert set(perf["model"]) == {"sam3"}
    assert set(perf["setting"]) == {
        "float32",
        "bfloat16",
        "float32, batch 2",
        "bfloat16, batch 2",
        "bfloat16 + compile",
    }
    assert (perf["encoder_ms"] > 0).all() and (perf["errors"] == 0).all()
    assert (perf["decoder_ms"].dropna() > 0).all() and perf["decoder_ms"].notna().sum() == 3
    assert perf.loc[perf["setting"] == "float32", "agreement_mIoU"].item() == 1.0
    assert perf.loc[perf["setting"] != "float32", "agreement_mIoU"].between(0, 1).all()  # measured
    assert (perf["weights_kind"] == "random").all() and (perf["note"] == RANDOM_WEIGHTS_WARNING).all()
    video = pd.read_csv(out / "video.csv")
    assert video["model"].tolist() == ["sam3", "sam3"] and (video["fps"] > 0).all() and (video["frames"] == 2).all()
    assert video["prompt"].tolist() == ["mask", "text"] and video["instances"].tolist() == [1, 1]
    gen = pd.read_csv(out / "generate.csv")
    assert dict(zip(gen["engine"], gen["status"])) == {"samkit": "ok", "upstream": "unsupported"}


def test_dry_run_bundle_and_part_records(dry_run):
    out, work = dry_run
    with tarfile.open(out / "bundle.tar.gz") as tar:
        names = set(tar.getnames())
    for name in ("env.json", "parts.json", "rows_perf.csv", "report/benchmark.md", "report/video_benchmark.md"):
        assert f"bundle/{name}" in names
    store = run_gpu.Store.load(work)
    assert list(store.parts) == list(run_gpu.PARTS)
    assert {rec["state"] for rec in store.parts.values()} == {"done"}
    assert all(not rec["failed"] and not rec["skipped"] for rec in store.parts.values())
    assert store.parts["tests"]["tests"] == run_gpu.discover_cuda_tests()
    assert store.env["provenance"]["devices"] and store.env["modules"]["samkit"].startswith("0.")


def test_finalize_only_rewrites_the_outputs_from_the_saved_state(dry_run, tmp_path):
    _, work = dry_run
    assert run_gpu.main([str(tmp_path / "again"), "--work", str(work), "--finalize-only"]) == 0
    assert sorted(p.name for p in (tmp_path / "again").iterdir()) == sorted(run_gpu.OUTPUT_FILES)


# ---------------------------------------------------------------------------------- the pieces


def test_discover_cuda_tests(tmp_path):
    tests = tmp_path / "tests"
    (tests / "sub").mkdir(parents=True)
    (tests / "sub" / "test_a.py").write_text(
        "import pytest, torch\n"
        "@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')\n"
        "def test_gpu(): pass\n"
        "@pytest.mark.skipif(torch.cuda.is_available(), reason='CPU only')\n"
        "def test_cpu_only(): pass\n"
        "def test_plain(): pass\n"
        "@pytest.mark.skipif(not torch.cuda.is_available(), reason='x')\n"
        "class TestOnGpu:\n"
        "    def test_one(self): pass\n"
        "class TestMixed:\n"
        "    @pytest.mark.skipif(not torch.cuda.is_available(), reason='x')\n"
        "    def test_two(self): pass\n"
        "    def test_three(self): pass\n"
    )
    (tests / "test_b.py").write_text(
        "import pytest, torch\npytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason='x')\n"
        "def test_x(): pass\n"
    )
    (tests / "helper.py").write_text("def test_not_collected(): pass\n")
    assert run_gpu.discover_cuda_tests(tests) == [
        "tests/sub/test_a.py::test_gpu",
        "tests/sub/test_a.py::TestOnGpu::test_one",
        "tests/sub/test_a.py::TestMixed::test_two",
        "tests/test_b.py",
    ]


def test_the_repository_has_cuda_tests():
    ids = run_gpu.discover_cuda_tests()
    assert "tests/metrics/test_metrics_perf.py::test_cuda_peak_memory" in ids
    assert all((ROOT / i.split("::")[0]).is_file() for i in ids)


def test_round_robin_takes_one_model_of_each_family_first():
    names = ["sam_vit_b", "sam_vit_l", "sam_vit_h", "mobile_sam", "sam2_hiera_tiny", "sam2.1_hiera_tiny"]
    assert run_gpu.round_robin(names) == [
        "sam_vit_b",
        "mobile_sam",
        "sam2_hiera_tiny",
        "sam_vit_l",
        "sam2.1_hiera_tiny",
        "sam_vit_h",
    ]


def test_gpu_plan_covers_every_registered_model():
    import samkit

    plan = run_gpu.gpu_plan("cuda")
    assert sorted(plan.names) == sorted(samkit.list_models())
    assert set(plan.video_names) == {n for n in plan.names if "video" in samkit.get_spec(n).capabilities}
    assert plan.image_size == 1024 and plan.fast_dtype == "bfloat16" and not plan.dry_run
    assert run_gpu.gpu_plan("cuda", "^sam2\\.1").names == [n for n in samkit.list_models() if n.startswith("sam2.1")]


def test_each_model_records_done_failed_and_the_names_past_the_budget(tmp_path):
    clock = run_gpu.Clock(100, ["perf"])
    store = run_gpu.Store(tmp_path)
    seen = []

    def work(name: str) -> str:
        seen.append(name)
        if name == "u":
            raise UnsupportedError("u: cannot compile this family's encoder")
        if name == "b":
            clock.deadlines["perf"] = time.monotonic() - 1  # the part's time is spent while b runs
            raise RuntimeError("boom")
        return "ok"

    run_gpu.each_model("perf", ["a", "u", "b", "c", "d"], clock, store, lambda message: None, work)
    rec = store.parts["perf"]
    assert seen == ["a", "u", "b"]
    assert rec["done"] == ["a"] and rec["failed"] == {"b": "RuntimeError: boom"} and rec["skipped"] == ["c", "d"]
    assert rec["unsupported"] == {"u": "UnsupportedError: u: cannot compile this family's encoder"}
    assert rec["state"] == "done" and "2 model(s) skipped" in rec["note"]
    assert run_gpu.Store.load(tmp_path).parts["perf"]["skipped"] == ["c", "d"]  # saved after every model


def test_clock_gives_each_part_its_scaled_share():
    clock = run_gpu.Clock(run_gpu.RESERVE_S + 200, ["env", "perf", "video"])
    total = run_gpu.SHARES["perf"] + run_gpu.SHARES["video"]
    assert clock.deadlines["perf"] - clock.t0 == pytest.approx(200 * run_gpu.SHARES["perf"] / total)
    assert clock.deadlines["video"] - clock.t0 == pytest.approx(200)
    assert "env" not in clock.deadlines and clock.left("video") > clock.left("perf") > 0


def test_run_sh_is_valid_bash_and_installs_the_kit_as_the_issue_says():
    script = GPU / "run.sh"
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    text = script.read_text()
    assert "-m pip install -q --no-index --no-deps --no-compile" in text and "--target" in text
    assert "experiments/gpu/run_gpu.py" in text
    assert "gpu-kit:" in (ROOT / "Makefile").read_text()
    assert "/.whl/" in (ROOT / ".gitignore").read_text().splitlines()


# -------------------------------------------------------------------------------------- make_kit


def fake_wheel(folder: Path, name: str, version: str, requires=(), pad: int = 0) -> Path:
    """A minimal wheel (a zip with ``*.dist-info/METADATA``), ``pad`` bytes of stored payload."""
    dist = f"{name.replace('-', '_')}-{version}"
    path = folder / f"{dist}-py3-none-any.whl"
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + "".join(
        f"Requires-Dist: {r}\n" for r in requires
    )
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr(f"{dist}.dist-info/METADATA", meta)
        zf.writestr(f"{name.replace('-', '_')}/__init__.py", "x" * pad)
    return path


IMAGE = {"numpy": "2.5.2", "torch": "2.11.0", "pillow": None}


def test_manifest_lists_every_wheel_with_size_and_sha256(tmp_path):
    a = fake_wheel(tmp_path, "alpha", "1.0", ["numpy>=1.17", "beta==2.*"])
    b = fake_wheel(tmp_path, "beta", "2.3", ["torch>=2.5; python_version >= '3.10'", "pillow>=9"])
    fake_wheel(tmp_path, "gamma", "0.1", ["tomli>=1; python_version < '3.11'", "polars>=0.20", "x; extra == 'dev'"])
    path = make_kit.write_manifest(tmp_path, 1.0, IMAGE, header=["test kit"])
    text = path.read_text()
    assert text.startswith("# test kit\n")
    rows = make_kit.read_manifest(tmp_path)
    assert [r["name"] for r in rows] == ["alpha", "beta", "gamma"]
    for row, wheel in zip(rows[:2], (a, b)):
        assert row["size"] == wheel.stat().st_size and row["file"] == wheel.name
        assert row["sha256"] == hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert "# left out: gamma: polars>=0.20 (" in text  # NOT_BROUGHT says why
    assert "# unverified: beta: pillow>=9 (the image's version is not recorded)" in text
    assert "tomli" not in text and "extra" not in text  # markers evaluated for CPython 3.12 on Linux


def test_the_cap_is_checked(tmp_path):
    fake_wheel(tmp_path, "big", "1.0", pad=300_000)
    fake_wheel(tmp_path, "small", "1.0")
    with pytest.raises(make_kit.KitError, match=r"above its 0\.25 MiB cap; largest: big-1\.0"):
        make_kit.write_manifest(tmp_path, 0.25, IMAGE)
    assert not (tmp_path / make_kit.MANIFEST).exists()
    assert make_kit.check_cap(make_kit.read_kit(tmp_path), 1.0) == sum(p.stat().st_size for p in tmp_path.glob("*.whl"))


@pytest.mark.parametrize(
    "requirement, message",
    [
        ("nothere>=1", "neither the kit nor the image has it"),
        ("numpy>=3", "the image has 2.5.2"),
        ("other<2", "the kit has 2.0"),
    ],
)
def test_an_unmet_requirement_fails_the_kit(tmp_path, requirement, message):
    fake_wheel(tmp_path, "alpha", "1.0", [requirement])
    fake_wheel(tmp_path, "other", "2.0")
    with pytest.raises(make_kit.KitError, match=message):
        make_kit.write_manifest(tmp_path, 1.0, IMAGE)


def test_kit_versions_follow_pyproject_and_the_image_list():
    pins = make_kit.pyproject_pins()
    items = {make_kit.canonical(i.name): i for i in make_kit.kit_items()}
    assert len(items) == len(make_kit.kit_items())
    for name in make_kit.FROM_PYPROJECT:
        assert items[name].version == pins[name]
    assert pins["transformers"] == items["transformers"].version and items["sam2"].how == "sam2"
    assert items["samkit"].how == "self"
    image = make_kit.read_image_packages()
    assert image["torch"] == "2.11.0" and image["transformers"] == "5.17.0" and image["timm"] is None
    assert not (set(items) - {"transformers", "regex"}) & set(image)  # only newer versions of what it has

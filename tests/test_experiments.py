"""The Hydra entry points: config validation, jobs composed and run in-process, one real process per
entry point, a sweep through submitit's local executor, and resume after a killed sweep."""

from __future__ import annotations

import dataclasses
import os
import re
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

from samkit.eval import list_protocols
from samkit.results import ShardMergeError, merge_runs, write_report
from samkit.rows import load_results

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = ROOT / "experiments"
SMALL = ["dataset.num_images=3", "dataset.size=[64,80]", "dataset.max_shapes=2", "weights=random", "progress=false"]

sys.path.insert(0, str(EXPERIMENTS))
import benchmark  # noqa: E402
import evaluate  # noqa: E402
import gen_configs  # noqa: E402
import report  # noqa: E402
import schemas  # noqa: E402


def _run(script: str, *args: str, timeout: int = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(EXPERIMENTS / script), *args],
        cwd=ROOT,
        text=True,
        capture_output=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def _compose(name: str, overrides: list[str]):
    with initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
        return compose(name, overrides=overrides)


def _evaluate(out: Path, *overrides: str) -> pd.DataFrame:
    """One evaluate job composed and run in this process; its rows."""
    assert evaluate.run(_compose("evaluate", list(overrides)), str(out)) == 0
    return pd.read_parquet(out / "rows.parquet")


# ------------------------------------------------------------------------------------ configs


def test_configs_are_in_sync_with_the_registries():
    assert gen_configs.model_files() == {p.name: p.read_text() for p in (ROOT / "conf/model").glob("*.yaml")}
    protocols = {p.name: p.read_text() for p in (ROOT / "conf/protocol").glob("*.yaml")}
    assert gen_configs.protocol_files() == protocols
    assert sorted(Path(p).stem for p in protocols) == list_protocols()


def test_configs_compose_with_typed_defaults():
    cfg = _compose("benchmark", ["model=sam2.1_hiera_tiny", "dtype=bfloat16"])
    assert cfg.model.name.name == "sam2.1_hiera_tiny" and cfg.dtype.name == "bfloat16"
    cfg = _compose("evaluate", ["+experiment=sam_paper_interactive"])
    assert cfg.dataset._target_ == "samkit.data.CocoDataset" and cfg.protocol.max_clicks == 20
    cfg = _compose("benchmark", ["+experiment=seeds_perf_table"])
    assert cfg.repeats == 20 and cfg.warmup == 3 and cfg.image_size == 1024
    for name in list_protocols():  # every registered protocol composes from its generated file
        assert schemas.plain(_compose("evaluate", [f"protocol={name}"]).protocol)["name"] == name


def test_every_dataset_config_names_its_loaders_arguments():
    """Each conf/dataset/*.yaml composes, names an importable loader, and gives it only the
    arguments it takes (so a renamed argument fails here, not on a user's sweep)."""
    import importlib
    import inspect

    for path in sorted((ROOT / "conf" / "dataset").glob("*.yaml")):
        cfg = schemas.plain(_compose("evaluate", [f"dataset={path.stem}"]).dataset)
        module, _, name = cfg.pop("_target_").rpartition(".")
        loader = getattr(importlib.import_module(module), name)
        accepted = set(inspect.signature(loader.__init__).parameters) - {"self"}
        assert set(cfg) <= accepted, (path.name, sorted(set(cfg) - accepted))


@pytest.mark.parametrize(
    "override, error",
    [
        ("imag_size=512", "imag_size"),  # a typo in a key
        ("dtype=float33", "float33"),  # a value outside the enum
        ("weights=imagenet", "imagenet"),
        ("image_size=big", "big"),  # wrong type
        ("phases=[set_image,encode]", "encode"),
    ],
)
def test_bad_benchmark_configs_fail_at_compose_time(override, error):
    with pytest.raises((ConfigCompositionException, ValidationError)) as info:
        _compose("benchmark", [override])
    assert error in str(info.value) or error in str(info.value.__cause__)


@pytest.mark.parametrize(
    "override, error",
    [
        ("protocol.max_clik=3", "max_clik"),  # a typo in a protocol parameter
        ("protocol.feedback=masks", "masks"),  # a value outside the protocol's choices
        ("protocol=boxes", "boxes"),  # an unknown protocol
    ],
)
def test_bad_evaluate_configs_fail_at_compose_time(override, error):
    with pytest.raises((ConfigCompositionException, ValidationError)) as info:
        _compose("evaluate", [override])
    assert error in str(info.value) or error in str(info.value.__cause__)


def test_unknown_model_name_fails_at_compose_time():
    with pytest.raises(ConfigCompositionException, match="model/sam_vit_x"):
        _compose("benchmark", ["model=sam_vit_x"])


def test_range_checks():
    with pytest.raises(ValueError, match="image_size must be an integer >= 1"):
        schemas.check(_compose("benchmark", ["image_size=0"]))
    with pytest.raises(ValueError, match="max_clicks must be an integer >= 1"):
        schemas.check(_compose("evaluate", ["protocol.max_clicks=0"]))
    with pytest.raises(ValueError, match="warmup must be an integer >= 0"):
        schemas.check(_compose("benchmark", ["warmup=-1"]))


def test_bad_dataset_option_fails_before_any_model_loads(tmp_path, monkeypatch):
    import samkit

    monkeypatch.setattr(samkit, "load", lambda *a, **k: pytest.fail("a model was loaded"))
    with pytest.raises(ConfigCompositionException, match="num_imags"):
        _compose("evaluate", ["dataset.num_imags=2"])
    with pytest.raises(Exception, match="num_imags"):  # hydra's InstantiationException
        evaluate.run(_compose("evaluate", ["+dataset.num_imags=2"]), str(tmp_path))
    assert not (tmp_path / "rows.parquet").exists()


# ------------------------------------------------------------------------------- jobs in-process


def test_two_model_sweep_with_report_and_same_seed_rerun(tmp_path):
    sweep = tmp_path / "sweep"
    small = [*SMALL[1:], "dataset.num_images=1"]
    for name in ("mobile_sam", "sam2.1_hiera_tiny"):
        _evaluate(sweep / name, f"model={name}", "protocol=box", *small)
    rows = load_results(sweep)
    assert set(rows["model"]) == {"mobile_sam", "sam2.1_hiera_tiny"}
    assert (rows["protocol"] == "box").all() and (rows["weights"] == "random(seed=0)").all()
    assert (rows["weights_kind"] == "random").all() and (rows["weights_seed"] == 0).all()
    ok = rows[rows["status"] == "ok"]
    assert ok.groupby("model").size().nunique() == 1  # the same objects for both models
    assert len(list(sweep.rglob("done.json"))) == 2 and len(list(sweep.rglob("*.provenance.json"))) == 2
    report = tmp_path / "report"
    write_report(merge_runs(sweep), report)
    table = pd.read_csv(report / "accuracy.csv")
    assert sorted(table["model"]) == ["mobile_sam", "sam2.1_hiera_tiny"]
    assert {"box_mIoU", "encoder_ms", "decoder_ms", "peak_mem_mib", "weights", "note"} <= set(table.columns)
    assert "RANDOM WEIGHTS" in (report / "accuracy.md").read_text()
    # same seed, same config, same weights -> the same numbers
    again = _evaluate(tmp_path / "again", "model=mobile_sam", "protocol=box", *small)
    first = ok[ok["model"] == "mobile_sam"].sort_values(["image_id", "object_id"])["iou"].to_numpy()
    second = again.query("status == 'ok'").sort_values(["image_id", "object_id"])["iou"]
    assert list(second) == list(first)


def test_complete_job_is_skipped_and_a_changed_config_reruns(tmp_path, capsys):
    args = ["model=mobile_sam", "protocol=box", *SMALL[1:], "dataset.num_images=1"]
    first = _evaluate(tmp_path, *args)
    _evaluate(tmp_path, *args)
    assert "skipped (resume=true)" in capsys.readouterr().out
    assert pd.read_parquet(tmp_path / "rows.parquet")["run_id"].equals(first["run_id"])
    changed = _evaluate(tmp_path, *args, "seed=1")  # another seed: other weights, recomputed
    assert (changed["weights"] == "random(seed=1)").all() and changed["run_id"].iloc[0] != first["run_id"].iloc[0]


def test_missing_checkpoint_is_a_row_and_the_job_is_retried(tmp_path):
    rows = _evaluate(tmp_path, "model=mobile_sam", "protocol=box", "weights=pretrained", *SMALL[:3], "progress=false")
    assert rows["status"].tolist() == ["missing_checkpoint"]
    assert "samkit weights download mobile_sam" in rows.iloc[0]["error"]
    assert rows.iloc[0]["weights_kind"] == "pretrained"
    assert not (tmp_path / "done.json").exists()  # the failed job is retried on the next run


def test_protocol_a_model_cannot_run_is_an_unsupported_row(tmp_path, monkeypatch):
    import samkit
    from samkit.registry import REGISTRY

    spec = REGISTRY["mobile_sam"]
    monkeypatch.setitem(REGISTRY, "mobile_sam", dataclasses.replace(spec, capabilities=frozenset({"points"})))
    monkeypatch.setattr(samkit, "load", lambda *a, **k: pytest.fail("an unsupported job loads no model"))
    rows = _evaluate(tmp_path, "model=mobile_sam", "protocol=box", *SMALL)
    assert rows["status"].tolist() == ["unsupported"]
    assert "does not support the box protocol: it needs the 'box' capability" in rows.iloc[0]["error"]
    assert (tmp_path / "done.json").exists()  # a rerun would give the same answer


def test_benchmark_job_writes_phase_rows(tmp_path):
    cfg = _compose(
        "benchmark",
        [
            "model=mobile_sam",
            "weights=random",
            "image_size=128",
            "repeats=2",
            "warmup=1",
            "batch=3",
            "phases=[set_image,predict_point,predict_boxes_batch]",
            "progress=false",
        ],
    )
    assert benchmark.run(cfg, str(tmp_path)) == 0
    rows = load_results(tmp_path)
    assert list(rows["phase"]) == ["set_image", "predict_point", "predict_boxes_batch"]
    assert (rows["status"] == "ok").all() and (rows["median_ms"] > 0).all()
    assert (rows["flops"] > 0).all() and (rows["params"] == 10_130_092).all()
    assert (rows["image_size"] == 128).all() and (rows["batch"] == 3).all()
    assert rows["device_name"].iloc[0].startswith("cpu")
    assert (rows["mem_method"] == "cpu_process_peak_rss").all()


def test_benchmark_job_with_a_corrupt_checkpoint_is_a_bad_checkpoint_row(tmp_path, isolated_checkpoints):
    isolated_checkpoints.mkdir(parents=True)
    (isolated_checkpoints / "mobile_sam.pt").write_bytes(b"truncated")
    cfg = _compose("benchmark", ["model=mobile_sam", "weights=pretrained", "progress=false"])
    assert benchmark.run(cfg, str(tmp_path)) == 0
    row = load_results(tmp_path).iloc[0]
    assert row["status"] == "bad_checkpoint" and row["protocol"] == "benchmark"
    assert "corrupt, truncated or another model's" in row["error"]


# --------------------------------------------------------------------- real processes, launchers


@pytest.mark.slow  # four real processes (~50 s); the in-process jobs and the killed sweep run by default
def test_scripts_sweep_through_the_basic_and_submitit_launchers_then_benchmark_and_report(tmp_path):
    """One real process per entry point. A two-job evaluate sweep through submitit's local executor
    (the submission, pickling and result collection of the SLURM launcher) gives the same rows as
    the same two jobs run the basic launcher's way (composed and run one after the other in one
    process); a benchmark job and a report over both finish the pipeline."""
    job_args = ["model=mobile_sam", "protocol=box", *SMALL[1:], "dataset.num_images=2"]
    basic, submitit = tmp_path / "basic", tmp_path / "submitit"
    out = _run(
        "evaluate.py", "-m", *job_args, "dataset.seed=0,1", f"hydra.sweep.dir={submitit}", "hydra/launcher=submitit_cpu"
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert list(submitit.glob(".submitit/*/*_result.pkl")), "the jobs did not go through submitit"
    jobs = sorted(p.parent for p in submitit.rglob("done.json"))
    assert len(jobs) == 2
    for job in jobs:  # job by job: the same rows as the job run in-process
        seed = re.search(r"dataset\.seed=(\d+)", job.name).group(1)  # folders named by the overrides
        a = _evaluate(basic / f"seed{seed}", *job_args, f"dataset.seed={seed}")
        b = pd.read_parquet(job / "rows.parquet")
        columns = [c for c in a.columns if not c.endswith("_ms") and c not in ("run_id", "peak_mem_mib")]
        assert len(a) > 1 and (a["status"] == "ok").any()
        pd.testing.assert_frame_equal(a[columns], b[columns])

    out = _run(
        "benchmark.py",
        "model=mobile_sam",
        "weights=random",
        "image_size=64",
        "repeats=1",
        "warmup=0",
        "phases=[predict_point]",
        "flops=false",
        "memory=false",
        "progress=false",
        f"hydra.run.dir={basic / 'bench'}",
    )
    assert out.returncode == 0, out.stderr[-3000:]
    published = tmp_path / "published.csv"  # a user's own published figures, joined beside every table
    published.write_text("model,box_mIoU,source\nmobile_sam,0.5,a paper (Table 9)\n")
    out = _run(
        "report.py",
        f"runs={basic}",
        f"out={tmp_path / 'report'}",
        f"published={published}",
        env={"MPLBACKEND": "Agg"},
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert {"accuracy.md", "benchmark.md", "index.md"} <= {p.name for p in (tmp_path / "report").iterdir()}
    accuracy = pd.read_csv(tmp_path / "report" / "accuracy.csv")
    mine = accuracy[accuracy["model"] == "mobile_sam"]
    assert len(mine) and (mine["published_box_mIoU"] == 0.5).all() and (mine["box_mIoU"] != 0.5).all()
    assert (mine["published_source"] == "a paper (Table 9)").all()
    out = _run("report.py", f"runs={basic}", f"out={tmp_path / 'r2'}", "published=SA-Co/Gol", env={"MPLBACKEND": "Agg"})
    assert out.returncode != 0 and "no published accuracy for benchmark 'SA-Co/Gol'" in out.stderr
    assert set(load_results(basic)["protocol"]) == {"box", "benchmark"}


def test_sharded_jobs_give_the_unsharded_rows_and_the_report_refuses_a_missing_shard(tmp_path):
    """``shard=i/n``: each shard an ordinary job (own folder, rows and resume); together exactly the
    rows of the unsharded job (timings aside); the report's merge refuses a set missing a shard."""
    job_args = ["model=mobile_sam", "protocol=box", *SMALL[1:], "dataset.num_images=2"]
    whole = _evaluate(tmp_path / "whole", *job_args)
    shards = [_evaluate(tmp_path / "sharded" / f"s{i}", *job_args, f"shard={i}/2") for i in range(2)]
    assert [set(s["shard"]) for s in shards] == [{"0/2"}, {"1/2"}]
    _same_rows(pd.concat(shards, ignore_index=True), whole)
    merged = merge_runs(tmp_path / "sharded")  # complete: merges
    assert len(merged) == len(whole)
    again = _evaluate(tmp_path / "sharded" / "s1", *job_args, "shard=1/2")  # resume: complete, not rerun
    assert again["run_id"].tolist() == shards[1]["run_id"].tolist()
    (tmp_path / "sharded" / "s1" / "rows.parquet").unlink()
    with pytest.raises(ShardMergeError, match="missing shard"):
        merge_runs(tmp_path / "sharded")
    with pytest.raises(ValueError, match="shard="):
        _evaluate(tmp_path / "bad", *job_args, "shard=2/2")


def _same_rows(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """The same rows, whatever their order, timings, run ids and shard labels aside."""
    keys = ["image_id", "object_id"]
    drop = [c for c in set(a.columns) | set(b.columns) if c.endswith("_ms") or c in ("run_id", "peak_mem_mib", "shard")]
    pd.testing.assert_frame_equal(
        a.drop(columns=[c for c in drop if c in a.columns]).sort_values(keys).reset_index(drop=True),
        b.drop(columns=[c for c in drop if c in b.columns]).sort_values(keys).reset_index(drop=True),
    )


@pytest.mark.slow  # two submitit processes (~40 s)
def test_two_shards_through_the_submitit_local_executor_give_the_unsharded_rows(tmp_path):
    job_args = ["model=mobile_sam", "protocol=box", *SMALL[1:], "dataset.num_images=3"]
    sweep = tmp_path / "sweep"
    out = _run(
        "evaluate.py", "-m", *job_args, "shard=0/2,1/2", f"hydra.sweep.dir={sweep}", "hydra/launcher=submitit_cpu"
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert list(sweep.glob(".submitit/*/*_result.pkl")), "the jobs did not go through submitit"
    rows = merge_runs(sweep)
    assert set(rows["shard"]) == {"0/2", "1/2"}
    _same_rows(rows, _evaluate(tmp_path / "whole", *job_args))


def test_report_published_option(tmp_path):
    """``published=``: a user's CSV (needs a ``model`` column) or ``<benchmark>[:<split>]`` of
    samkit/published_accuracy.csv; a missing file or an unknown benchmark is an error naming it."""
    assert report.published_table(None) is None
    gold = report.published_table("SA-Co/Gold:metaclip")
    assert gold["model"].tolist() == ["sam3"] and gold["cgF1 (SA-Co/Gold metaclip, %)"].iloc[0] == 47.26
    own = tmp_path / "mine.csv"
    own.write_text("model,box_mIoU,source\nmobile_sam,0.5,a paper\n")
    assert report.published_table(str(own)).to_dict("records") == [
        {"model": "mobile_sam", "box_mIoU": 0.5, "source": "a paper"}
    ]
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        report.published_table(str(tmp_path / "nope.csv"))
    (tmp_path / "bad.csv").write_text("name,x\na,1\n")
    with pytest.raises(ValueError, match="needs a 'model' column"):
        report.published_table(str(tmp_path / "bad.csv"))
    with pytest.raises(ValueError, match="SA-Co/Gol"):
        report.published_table("SA-Co/Gol")
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("report", overrides=["runs=x", "published=SA-Co/Gold:average"])
    assert cfg.published == "SA-Co/Gold:average"


def test_killed_sweep_resumes_without_loss_or_duplicates(tmp_path):
    sweep = tmp_path / "sweep"
    args = [
        "-m",
        "model=mobile_sam",
        "dataset.seed=0,1",
        "protocol=interactive",
        "protocol.max_clicks=2",
        *SMALL,
        f"hydra.sweep.dir={sweep}",
    ]
    proc = subprocess.Popen(
        [sys.executable, str(EXPERIMENTS / "evaluate.py"), *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
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
    jobs = [p.parent for p in sweep.rglob("done.json")]
    assert sorted(jobs) == sorted([first_job, second_job])
    for job in jobs:  # each job complete, nothing lost, nothing twice
        rows = pd.read_parquet(job / "rows.parquet")
        assert not rows.duplicated(["image_id", "object_id", "clicks", "status"]).any(), job.name
        ok = rows[rows["status"] == "ok"]
        assert set(ok["image_id"]) == {"0", "1", "2"}, job.name
        assert (ok.groupby(["image_id", "object_id"]).size() == 2).all()
    resumed = pd.read_parquet(second_job / "rows.parquet")
    kept = resumed[resumed["run_id"].isin(set(interrupted["run_id"]))]
    assert set(kept["image_id"]) == saved_images  # finished images were kept, not recomputed


def _sweep_values(experiment: str, key: str) -> list[str]:
    from omegaconf import OmegaConf

    params = OmegaConf.load(ROOT / "conf/experiment" / f"{experiment}.yaml").hydra.sweeper.params
    return [v.strip() for v in str(params[key]).split(",")]


def test_detector_experiments_compose_and_name_registered_detectors():
    from samkit.detectors import get_detector_spec

    cfg = _compose("evaluate", ["+experiment=text_detectors"])
    assert schemas.plain(cfg.protocol)["name"] == "text" and cfg.dataset._target_.endswith("CocoDataset")
    for name in _sweep_values("text_detectors", "protocol.detector"):
        assert name == "native" or get_detector_spec(name).kind == "open_vocab"
    cfg = _compose("evaluate", ["+experiment=sam_paper_detector_boxes"])
    assert schemas.plain(cfg.protocol)["name"] == "detector_boxes"
    for name in _sweep_values("sam_paper_detector_boxes", "protocol.detector"):
        assert get_detector_spec(name).kind == "closed_set"


def test_text_jobs_record_the_detector_and_skip_native_text_without_loading(tmp_path):
    """A text job through a tiny random detector gives rows naming it; detector=native on a model
    without native text is one unsupported row, written without loading the model."""
    common = [
        "model=mobile_sam",
        "weights=random",
        "dataset=synthetic",
        "dataset.num_images=1",
        "dataset.size=[48,64]",
        "protocol=text",
        "progress=false",
    ]
    assert evaluate.run(_compose("evaluate", common + ["protocol.detector_config=tiny"]), str(tmp_path / "dino")) == 0
    rows = pd.read_parquet(tmp_path / "dino" / "rows.parquet")
    assert rows["status"].tolist() == ["ok"] and rows["detector"].tolist() == ["grounding_dino_tiny"]
    assert rows["detector_weights"].tolist() == ["random(seed=0, config=tiny)"]
    assert evaluate.run(_compose("evaluate", common + ["protocol.detector=native"]), str(tmp_path / "native")) == 0
    rows = pd.read_parquet(tmp_path / "native" / "rows.parquet")
    assert rows["status"].tolist() == ["unsupported"] and "sam3" in rows["error"].iloc[0]
    assert rows["weights"].iloc[0].endswith("(not loaded)")


def test_video_job_on_davis_layout(tmp_path, monkeypatch):
    """protocol=video dataset=davis on a written synthetic DAVIS folder: one ok row per object
    (SAM 2 built with a 256-pixel input, as in tests/video, to keep the CPU time small)."""
    import samkit.models.sam2 as sam2_adapter
    from samkit.data.synthetic_video import write_davis

    original = sam2_adapter.model_config

    def small(spec):
        cfg = original(spec)
        cfg.image_size = 256
        return cfg

    monkeypatch.setattr(sam2_adapter, "model_config", small)
    write_davis(tmp_path / "davis", sequences=1, num_frames=3, size=(32, 48), num_objects=1, seed=1)
    rows = _evaluate(
        tmp_path / "job",
        "model=sam2.1_hiera_tiny",
        "weights=random",
        "dataset=davis",
        f"dataset.root={tmp_path / 'davis'}",
        "protocol=video",
        "progress=false",
    )
    assert rows["status"].tolist() == ["ok"] and rows["protocol"].tolist() == ["video"]
    assert rows["frames"].tolist() == [3] and rows["J&F-Mean"].between(0, 1).all()  # frame 1 scored

"""JobDir and run_job without Hydra: completion markers, resume, config changes, failure rows."""

from __future__ import annotations

import pandas as pd
import pytest

import samkit
import samkit.loading
from fakes import FakeModel  # tests/eval/fakes.py, on the path through conftest.py
from samkit.errors import CheckpointError
from samkit.jobs import JobDir, config_hash, job_key, run_job
from samkit.rows import rows_to_frame, save_results

CONFIG = {
    "model": {"name": "mobile_sam"},
    "weights": "random",
    "device": "cpu",
    "seed": 0,
    "dtype": "float32",
    "download": False,
    "progress": False,
    "resume": True,
    "x": 1,
}


def test_config_hash_is_canonical_and_job_key_ignores_what_does_not_change_numbers():
    assert config_hash({"a": 1, "b": [1, 2]}) == config_hash({"b": [1, 2], "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})
    assert job_key({**CONFIG, "resume": False, "progress": True}) == job_key(CONFIG)
    assert job_key({**CONFIG, "x": 2}) != job_key(CONFIG)


def test_jobdir_completion_and_restart(tmp_path):
    job = JobDir(tmp_path)
    assert not job.is_complete("k")
    job.begin("k")
    save_results(rows_to_frame([{"model": "m", "image_id": "0", "status": "ok"}]), job.rows_path)
    job.mark_complete("k", 1)
    assert job.is_complete("k") and not job.is_complete("other")
    job.begin("k")  # a rerun of the same config keeps the rows (resume), forgets completion
    assert not job.is_complete("k") and job.rows_path.is_file()
    job.begin("k", resume=False)
    assert not job.rows_path.exists()


def test_rows_of_another_config_are_never_resumed(tmp_path):
    job = JobDir(tmp_path)
    job.begin("old")
    save_results(rows_to_frame([{"model": "m", "image_id": "0", "status": "ok"}]), job.rows_path)
    job.begin("new")  # interrupted under another config: its rows are discarded
    assert not job.rows_path.exists()


def _work(calls):
    def work(model, job, run_id):
        calls.append(run_id)
        return rows_to_frame([{"run_id": run_id, "model": model.name, "image_id": "0", "status": "ok"}])

    return work


@pytest.fixture
def fake_load(monkeypatch):
    loads = []

    def load(name, weights="pretrained", **kwargs):
        loads.append((name, weights, kwargs))
        model = FakeModel()
        model.name = name
        return model

    monkeypatch.setattr(samkit.loading, "load", load)
    return loads


def test_run_job_writes_rows_provenance_and_done_then_skips(tmp_path, fake_load, capsys):
    calls: list[str] = []
    assert run_job(tmp_path, CONFIG, "box", _work(calls)) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "done.json",
        "rows.parquet",
        "rows.provenance.json",
        "started.json",
    ]
    assert fake_load[0][:2] == ("mobile_sam", "random") and fake_load[0][2]["seed"] == 0
    assert run_job(tmp_path, {**CONFIG, "progress": True}, "box", _work(calls)) == 0
    assert len(calls) == 1 and "skipped (resume=true)" in capsys.readouterr().out
    assert run_job(tmp_path, {**CONFIG, "x": 2}, "box", _work(calls)) == 0  # changed: runs again
    assert len(calls) == 2 and pd.read_parquet(tmp_path / "rows.parquet")["run_id"].tolist() == [calls[1]]


def test_a_failing_run_keeps_saved_rows_and_adds_a_failure_row(tmp_path, fake_load):
    def work(model, job, run_id):
        save_results(
            rows_to_frame([{"run_id": run_id, "model": "mobile_sam", "image_id": "0", "status": "ok"}]), job.rows_path
        )  # image 0 finished
        raise RuntimeError("CUDA out of memory. Tried to allocate 2 GiB")

    assert run_job(tmp_path, CONFIG, "box", work) == 0
    rows = pd.read_parquet(tmp_path / "rows.parquet")
    assert rows["status"].tolist() == ["ok", "oom"] and "out of memory" in rows.iloc[1]["error"]
    assert rows.iloc[1]["weights_kind"] == "random"
    assert not (tmp_path / "done.json").exists()


def test_a_model_that_cannot_load_is_a_row(tmp_path, monkeypatch):
    def load(*args, **kwargs):
        raise CheckpointError("mobile_sam.pt looks like a checkpoint of sam_vit_b")

    monkeypatch.setattr(samkit.loading, "load", load)
    assert run_job(tmp_path, CONFIG, "box", _work([])) == 0
    row = pd.read_parquet(tmp_path / "rows.parquet").iloc[0]
    assert row["status"] == "bad_checkpoint" and row["weights"] == "random(not loaded)"
    assert row["model"] == "mobile_sam" and row["protocol"] == "box"

"""Shards of a dataset (`samkit.data.shard`): disjoint, covering, deterministic, balanced by size
where sizes are known, and applied through `Protocol.run(shard=...)` without changing the caller's
dataset; every row records its shard."""

from __future__ import annotations

import pytest

from samkit.data import DavisDataset, SyntheticDataset, apply_shard, parse_shard, write_davis
from samkit.data.shard import Shard, shard_ids
from samkit.data.synthetic_video import moving_shapes
from samkit.errors import ParameterError


def test_parse_shard_accepts_i_of_n_and_names_bad_values():
    assert parse_shard("1/4") == Shard(1, 4) and str(parse_shard(" 0/1 ")) == "0/1"
    assert parse_shard(None) is None and parse_shard("") is None
    for bad in ("4/4", "-1/4", "1/0", "1-4", "a/b", "1/4/2", 3):
        with pytest.raises(ParameterError, match="shard="):
            parse_shard(bad)


@pytest.mark.parametrize("n", [1, 2, 3, 7])
def test_shards_are_disjoint_cover_the_ids_and_keep_their_order(n):
    ids = [f"img{i}" for i in range(20)][::-1]  # a loader's own order
    parts = [shard_ids(ids, Shard(i, n)) for i in range(n)]
    assert sorted(sum(parts, [])) == sorted(ids)  # every id once
    for part in parts:
        assert part == [i for i in ids if i in part]  # the loader's order
    assert max(map(len, parts)) - min(map(len, parts)) <= 1  # round-robin without sizes
    assert parts == [shard_ids(list(reversed(ids)), Shard(i, n))[::-1] for i in range(n)]  # by id, not order


def test_shards_balance_sizes_greedily():
    """Largest first, each to the lightest shard (ties to the lowest index): a9 -> 0, b5 -> 1,
    c4 -> 2, d3 -> 2 (4), e3 -> 1 (5), f2 -> 2 (7): totals 9, 8, 9."""
    sizes = {"a": 9, "b": 5, "c": 4, "d": 3, "e": 3, "f": 2}
    ids = list(sizes)
    parts = [shard_ids(ids, Shard(i, 3), sizes) for i in range(3)]
    assert parts == [["a"], ["b", "e"], ["c", "d", "f"]]
    assert [sum(sizes[i] for i in p) for p in parts] == [9, 8, 9]
    with pytest.raises(ValueError, match="twice"):
        shard_ids(["a", "a"], Shard(0, 2))


def test_apply_shard_on_image_and_video_loaders(tmp_path):
    whole = SyntheticDataset(num_images=5, size=(32, 40), seed=0)
    part = apply_shard(SyntheticDataset(num_images=5, size=(32, 40), seed=0), "1/2")
    assert part.shard == "1/2" and part.image_ids == ["1", "3"]
    assert [s.image_id for s in part] == ["1", "3"] and len(part) == 2
    assert [s.image_id for s in whole][1] == part[0].image_id
    # a VOS loader: videos, balanced by their number of frames
    videos = {
        n: moving_shapes(num_frames=f, size=(32, 40), num_objects=1, seed=1)
        for n, f in (("long", 6), ("mid", 4), ("short", 3))
    }
    write_davis(tmp_path, videos)
    davis = DavisDataset(tmp_path)
    assert davis.item_sizes() == {"long": 6.0, "mid": 4.0, "short": 3.0}
    first, second = (apply_shard(DavisDataset(tmp_path), f"{i}/2") for i in range(2))
    assert (first.sequences, second.sequences) == (["long"], ["mid", "short"])
    assert [s.sequence for s in second] == ["mid", "short"]
    with pytest.raises(TypeError, match="cannot be sharded"):
        apply_shard(object(), "0/2")


@pytest.mark.slow  # ~20 s; the default suite covers the same path through evaluate.py (tests/test_experiments.py)
def test_protocol_run_shards_a_copy_and_records_the_shard(random_model, tmp_path):
    """Two shards of a box run give exactly the unsharded rows (timings aside), each row labelled
    with its shard; the caller's dataset stays whole; the benchmark (no dataset) refuses a shard."""
    import pandas as pd

    from samkit.eval import get_protocol

    model = random_model("mobile_sam")
    dataset = SyntheticDataset(num_images=3, size=(48, 64), max_shapes=2, seed=0)
    box = get_protocol("box")
    whole = box.run(model, dataset, run_id="r", progress=False)
    parts = [
        box.run(model, dataset, run_id="r", progress=False, shard=f"{i}/2", out_path=tmp_path / f"{i}.parquet")
        for i in range(2)
    ]
    assert len(dataset) == 3 and dataset.shard is None  # not changed
    assert [set(p["shard"]) for p in parts] == [{"0/2"}, {"1/2"}]
    assert set(parts[0]["image_id"]).isdisjoint(parts[1]["image_id"])
    assert all("shard" in pd.read_parquet(tmp_path / f"{i}.parquet").columns for i in range(2))
    merged = pd.concat(parts, ignore_index=True).drop(columns="shard")
    keys = ["image_id", "object_id"]
    timing = [c for c in whole.columns if c.endswith("_ms") or c == "peak_mem_mib"]
    pd.testing.assert_frame_equal(
        merged.sort_values(keys).drop(columns=timing).reset_index(drop=True),
        whole.sort_values(keys).drop(columns=timing).reset_index(drop=True),
    )
    with pytest.raises(ParameterError, match="no dataset to shard"):
        get_protocol("benchmark").run(model, shard="0/2", progress=False)


def test_one_gpu_per_job(monkeypatch):
    """``device="cuda:auto"``: the shard's index (else the sweep's job number) modulo the GPUs seen;
    other values unchanged; no GPU is a clear error."""
    import torch

    from samkit.devices import job_device

    assert job_device("cpu", 3, 5) == "cpu" and job_device(None, 1) is None
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    assert [job_device("cuda:auto", i) for i in range(6)] == [f"cuda:{i % 4}" for i in range(6)]
    assert job_device("cuda:auto", None, 6) == "cuda:2" and job_device("cuda:auto") == "cuda:0"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="no CUDA device is visible"):
        job_device("cuda:auto", 0)

"""`merge_runs` joins the shards of a run and refuses a set with a shard missing, present twice, of
mixed counts, or beside an unsharded run of the same configuration, naming the shard and files."""

from __future__ import annotations

import pytest

from samkit.results import ShardMergeError, merge_runs
from samkit.rows import rows_to_frame, save_results


def _rows(images, shard=None, model="mobile_sam", dataset="synthetic"):
    rows = [
        {
            "run_id": f"run-{shard}",
            "model": model,
            "weights": "random(seed=0)",
            "weights_kind": "random",
            "device": "cpu",
            "dtype": "float32",
            "protocol": "box",
            "dataset": dataset,
            "image_id": str(i),
            "object_id": "1",
            "iou": 0.5,
            "status": "ok",
            **({"shard": shard} if shard else {}),
        }
        for i in images
    ]
    return rows_to_frame(rows)


def _write(folder, name, frame):
    folder.joinpath(name).mkdir(parents=True)
    save_results(frame, folder / name / "rows.parquet")


def test_complete_shards_merge_into_the_whole_run(tmp_path):
    _write(tmp_path, "s0", _rows([0, 2], "0/2"))
    _write(tmp_path, "s1", _rows([1], "1/2"))
    _write(tmp_path, "other", _rows([0, 1, 2], model="sam2.1_hiera_tiny"))  # an unsharded run beside
    frame = merge_runs(tmp_path)
    mine = frame[frame["model"] == "mobile_sam"]
    assert sorted(mine["image_id"]) == ["0", "1", "2"] and set(mine["shard"]) == {"0/2", "1/2"}
    assert frame.loc[frame["model"] == "sam2.1_hiera_tiny", "shard"].isna().all()


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"s0": ([0, 2], "0/3"), "s2": ([1], "2/3")}, "missing shard(s) 1/3"),
        ({"s0": ([0], "0/2"), "s1": ([1], "1/2"), "again": ([0], "0/2")}, "shard 0/2 twice, in "),
        ({"s0": ([0], "0/2"), "s1": ([1], "1/3")}, "shards of different counts (n=2, n=3)"),
        ({"s0": ([0], "0/2"), "s1": ([1], "1/2"), "whole": ([0, 1], None)}, "unsharded rows beside its shards"),
    ],
    ids=["missing", "duplicated", "mixed_counts", "beside_unsharded"],
)
def test_incomplete_or_duplicated_shards_are_refused(tmp_path, files, message):
    for name, (images, shard) in files.items():
        _write(tmp_path, name, _rows(images, shard))
    with pytest.raises(ShardMergeError, match="model=mobile_sam") as err:
        merge_runs(tmp_path)
    assert message in str(err.value) and "dataset=synthetic" in str(err.value)
    if "twice" in message:
        assert str(tmp_path / "again" / "rows.parquet") in str(err.value)
        assert str(tmp_path / "s0" / "rows.parquet") in str(err.value)
    assert len(merge_runs(tmp_path, check=False))  # the rows are still readable on request

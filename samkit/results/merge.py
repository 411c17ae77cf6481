"""Merging runs: the rows of any set of runs as one frame, with what their provenance records add.

`merge_runs` reads result files (parquet, from any folders, searched recursively) through
`samkit.rows.load_results` and fills each row's ``device_name`` from its run's provenance record
where the row has none. Shards of one run (jobs run with ``shard="i/n"``, `samkit.data.shard`)
merge into the rows of the whole run; `check_shards` refuses a set with a shard missing or present
twice (`ShardMergeError`, naming the shard, the run and the files).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from samkit.errors import SamkitError
from samkit.rows import load_results
from samkit.wording import present

__all__ = ["merge_runs", "check_shards", "ShardMergeError", "SHARD_GROUP_KEYS"]

#: what makes rows one run whose shards must be complete: the same model, weights, device, dtype,
#: protocol and dataset
SHARD_GROUP_KEYS = ["model", "weights", "device", "dtype", "protocol", "dataset"]


class ShardMergeError(SamkitError, ValueError):
    """A set of result files whose shards do not make whole runs (one missing, or one twice)."""


def _result_files(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> list[Path]:
    items = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    files: list[Path] = []
    for item in items:
        p = Path(item)
        files += sorted(p.rglob("*.parquet")) if p.is_dir() else [p]
    return files


def _provenance_devices(files: Iterable[Path]) -> dict[str, list[str]]:
    """run_id -> the ``devices`` list of its provenance record (``<stem>.provenance.json``)."""
    out: dict[str, list[str]] = {}
    for f in files:
        prov = f.with_suffix(".provenance.json")
        if not prov.is_file():
            continue
        try:
            record = json.loads(prov.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and record.get("run_id") and isinstance(record.get("devices"), list):
            out[str(record["run_id"])] = [str(d) for d in record["devices"]]
    return out


def _name_from_provenance(device: Any, devices: list[str]) -> Any:
    """The provenance's name of ``device``: ``devices[i]`` for ``cuda:i``, the CPU entry for cpu."""
    if not present(device) or not devices:
        return pd.NA
    dev = str(device)
    if dev.startswith("cuda"):
        index = int(dev.split(":", 1)[1]) if ":" in dev and dev.split(":", 1)[1].isdigit() else 0
        gpus = [d for d in devices if not d.startswith("cpu")]
        return gpus[index] if index < len(gpus) else pd.NA
    if dev == "cpu":
        cpus = [d for d in devices if d.startswith("cpu")]
        return cpus[0] if cpus else pd.NA
    return pd.NA


def _shard_records(files: Iterable[Path]) -> pd.DataFrame:
    """One record per (file, run group, shard label) of the files' rows that carry a ``shard``."""
    import pyarrow.parquet as pq

    parts = []
    for f in files:
        names = set(pq.read_schema(f).names)
        if "shard" not in names:
            continue
        keys = [k for k in SHARD_GROUP_KEYS if k in names]
        rows = pd.read_parquet(f, columns=[*keys, "shard"]).astype("string").drop_duplicates()
        parts.append(rows.assign(file=str(f)))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def check_shards(files: Iterable[str | os.PathLike], frame: pd.DataFrame | None = None) -> None:
    """`ShardMergeError` unless the sharded rows of ``files`` make whole runs: for each run
    (`SHARD_GROUP_KEYS`), one shard count n, every shard ``0/n`` ... ``n-1/n`` present, each in one
    result file only, and no unsharded rows of the same run beside them (``frame``: the merged
    rows, to find those). Files without a ``shard`` column are whole runs and pass."""
    files = [Path(f) for f in files]
    records = _shard_records(files)
    if not len(records):
        return
    keys = [k for k in SHARD_GROUP_KEYS if k in records.columns]
    problems: list[str] = []
    for group, rows in records.groupby(keys, dropna=False, sort=True):
        labels = rows.dropna(subset=["shard"])
        what = ", ".join(f"{k}={v}" for k, v in zip(keys, group if isinstance(group, tuple) else (group,)))
        counts = sorted({int(str(s).split("/")[1]) for s in labels["shard"]})
        if len(counts) > 1:
            problems.append(f"{what}: shards of different counts ({', '.join(f'n={n}' for n in counts)})")
            continue
        if frame is not None and "shard" in frame.columns:
            mine = frame
            for k, v in zip(keys, group if isinstance(group, tuple) else (group,)):
                mine = mine[mine[k].astype("string") == v] if not pd.isna(v) else mine[mine[k].isna()]
            if mine["shard"].isna().any():
                problems.append(f"{what}: unsharded rows beside its shards (the same run twice)")
        n = counts[0]
        for label, where in labels.groupby("shard", sort=True):
            if where["file"].nunique() > 1:
                problems.append(f"{what}: shard {label} twice, in {', '.join(sorted(where['file'].unique()))}")
        missing = sorted(set(range(n)) - {int(str(s).split("/")[0]) for s in labels["shard"]})
        if missing:
            problems.append(f"{what}: missing shard(s) {', '.join(f'{i}/{n}' for i in missing)}")
    if problems:
        raise ShardMergeError(
            "the shards do not make whole runs; run or remove the shards named: " + "; ".join(problems)
        )


def merge_runs(paths: str | os.PathLike | Iterable[str | os.PathLike], check: bool = True) -> pd.DataFrame:
    """All rows of any set of runs (files, folders searched recursively): `samkit.rows.load_results`.

    Rows that carry no ``device_name`` get it from their run's provenance file
    (``<stem>.provenance.json``: ``devices[i]`` for ``cuda:i``; the CPU entry for ``cpu``), where
    one is there; otherwise it stays empty. Shards (rows with a ``shard`` column) merge into their
    whole run; ``check`` (default) first refuses a missing or duplicated shard (`check_shards`).
    """
    frame = load_results(paths)
    if check:
        check_shards(_result_files(paths), frame)
    names = _provenance_devices(_result_files(paths))
    if "device_name" not in frame.columns:
        frame["device_name"] = pd.NA
    frame["device_name"] = frame["device_name"].astype("string")
    if names:
        missing = frame["device_name"].isna()
        filled = [
            _name_from_provenance(dev, names.get(str(run), []))
            for run, dev in zip(frame.loc[missing, "run_id"], frame.loc[missing, "device"])
        ]
        frame.loc[missing, "device_name"] = pd.array(filled, dtype="string")
    return frame

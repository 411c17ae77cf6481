"""Merging runs: the rows of any set of runs as one frame, with what their provenance records add.

`merge_runs` reads result files (parquet, from any folders, searched recursively) through
`samkit.rows.load_results` and fills each row's ``device_name`` from its run's provenance record
where the row has none. Merging shards of one run (several jobs writing parts of it) belongs here too.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from samkit.rows import load_results
from samkit.wording import present

__all__ = ["merge_runs"]


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


def merge_runs(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> pd.DataFrame:
    """All rows of any set of runs (files, folders searched recursively): `samkit.rows.load_results`.

    Rows that carry no ``device_name`` get it from their run's provenance file
    (``<stem>.provenance.json``: ``devices[i]`` for ``cuda:i``; the CPU entry for ``cpu``), where
    one is there; otherwise it stays empty.
    """
    frame = load_results(paths)
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

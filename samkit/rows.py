"""Result rows: their schema, provenance, and an atomic parquet store (the layer under the protocols).

One row per measured unit (long format), with the columns of `COLUMNS` first; fields that do not
apply are empty (NA), never invented. Protocols may add columns (e.g. ``oracle_iou``, ``n_gt``).
The weights of a row are typed: ``weights_kind`` (``"pretrained"`` / ``"random"``),
``weights_seed``, ``weights_sha256`` and ``weights_official``, beside the readable ``weights``
(`weights_columns`); code reads the typed columns, never parses ``weights``. Rows of detector
pipelines (the text and detector_boxes protocols) name their ``detector`` (``"native"`` for a
model's own text path, ``file:<name>`` for a detections file) and its ``detector_weights`` /
``detector_weights_kind``; other rows leave them empty. Summaries of rows are
in `samkit.eval.summary`, which asks each protocol for its part.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from samkit.atomic import atomic_write, atomic_write_text

__all__ = [
    "COLUMNS",
    "new_run_id",
    "device_name",
    "rows_to_frame",
    "provenance",
    "save_results",
    "load_results",
    "weights_columns",
]

#: the result-row columns, in order (one row per measured unit; inapplicable fields are empty)
COLUMNS = [
    "run_id",
    "model",
    "family",
    "weights",
    "weights_kind",
    "weights_seed",
    "weights_sha256",
    "weights_official",
    "detector",
    "detector_weights",
    "detector_weights_kind",
    "device",
    "device_name",
    "dtype",
    "compile",
    "dataset",
    "image_id",
    "object_id",
    "protocol",
    "prompt",
    "clicks",
    "iou",
    "boundary_iou",
    "score",
    "encoder_ms",
    "decoder_ms",
    "peak_mem_mib",
    "status",
    "error",
]
_FLOAT = ["iou", "boundary_iou", "score", "encoder_ms", "decoder_ms", "peak_mem_mib"]
_STRING = [
    "run_id",
    "model",
    "family",
    "weights",
    "weights_kind",
    "weights_sha256",
    "detector",
    "detector_weights",
    "detector_weights_kind",
    "device",
    "device_name",
    "dtype",
    "dataset",
    "image_id",
    "object_id",
    "protocol",
    "prompt",
    "status",
    "error",
]


def weights_columns(weights: Any) -> dict[str, Any]:
    """The weights fields of a row from a model's `samkit.weights.WeightsInfo`.

    ``weights`` (readable, e.g. ``"random(seed=0)"``), ``weights_kind``, ``weights_seed`` (random
    only), ``weights_sha256`` and ``weights_official`` (pretrained only).
    """
    return {
        "weights": str(weights),
        "weights_kind": weights.kind,
        "weights_seed": weights.seed,
        "weights_sha256": weights.sha256,
        "weights_official": weights.official,
    }


def new_run_id() -> str:
    """A sortable unique run id: UTC time + random suffix."""
    return f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def rows_to_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Rows (dicts) -> DataFrame with `COLUMNS` first (missing ones NA), then any extra columns."""
    frame = pd.DataFrame(list(rows))
    for col in COLUMNS:
        if col not in frame.columns:
            frame[col] = pd.NA
    extra = [c for c in frame.columns if c not in COLUMNS]
    frame = frame[COLUMNS + extra]
    for col in _FLOAT:
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
    for col in ("clicks", "weights_seed"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("Int64")
    frame["weights_official"] = frame["weights_official"].astype("boolean")
    frame["compile"] = frame["compile"].astype("boolean")
    for col in _STRING:
        frame[col] = frame[col].astype("string")
    return frame


def device_name(device: Any) -> str:
    """Human name of a device: the GPU model for CUDA, ``"cpu: <processor> x<cores>"`` for the CPU."""
    import torch

    dev = torch.device(device)
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev.index if dev.index is not None else 0)
    return f"cpu: {platform.processor() or platform.machine()} x{os.cpu_count()}"


def _git_commit() -> str | None:
    try:
        root = Path(__file__).resolve().parents[1]
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5)
        if out.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def provenance(
    models: Iterable[Any] = (),
    config: Mapping[str, Any] | None = None,
    seed: int | None = None,
    run_id: str | None = None,
) -> dict[str, Any]:
    """Where a run's numbers come from: versions, device, config, seeds, weights of each model."""
    import torch

    from samkit.version import __version__

    cuda = torch.cuda.is_available()
    record: dict[str, Any] = {
        "run_id": run_id,
        "created": datetime.now(timezone.utc).isoformat(),
        "samkit": __version__,
        "git_commit": _git_commit(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda if cuda else None,
        "cudnn": torch.backends.cudnn.version() if cuda else None,
        "devices": [device_name(f"cuda:{i}") for i in range(torch.cuda.device_count())]
        if cuda
        else [device_name("cpu")],
        "driver": _nvidia_driver() if cuda else None,
        "seed": seed,
        "config": dict(config) if config is not None else None,
        "models": {},
    }
    for model in models:
        w = model.weights
        record["models"][model.name] = {
            "family": model.family,
            "device": str(model.device),
            "weights": w.kind,
            "sha256": w.sha256,
            "official": w.official,
            "seed": w.seed,
            "path": w.path,
        }
    return record


def _nvidia_driver() -> str | None:
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else None
    except (OSError, subprocess.SubprocessError):
        return None


def save_results(frame: pd.DataFrame, path: str | os.PathLike, prov: Mapping[str, Any] | None = None) -> Path:
    """Write rows to ``path`` (parquet) atomically, and the provenance beside it as ``<stem>.provenance.json``.

    A killed process leaves either the previous file or the complete new one, never a partial file.
    """
    path = Path(path)
    if prov is not None:
        atomic_write_text(path.with_suffix(".provenance.json"), json.dumps(prov, indent=2, default=str))
    atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False))
    return path


def load_results(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> pd.DataFrame:
    """Read and concatenate result parquet files (a file, a folder searched recursively, or a list)."""
    items = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    files: list[Path] = []
    for item in items:
        p = Path(item)
        if not p.exists():
            raise FileNotFoundError(f"No result file or folder at {p}")
        files += sorted(p.rglob("*.parquet")) if p.is_dir() else [p]
    if not files:
        raise FileNotFoundError(f"No result files (*.parquet) in {items}")
    return rows_to_frame(pd.concat([pd.read_parquet(f) for f in files], ignore_index=True).to_dict("records"))

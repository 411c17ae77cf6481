"""One job of a sweep: its folder, resume by config hash, and rows that record why a job could not run.

A job folder holds ``started.json`` (the hash of the job's resolved config, written when it starts),
``rows.parquet`` (saved image by image), ``rows.provenance.json`` and, written last, ``done.json``
with the same hash. A rerun with ``resume`` skips a job whose ``done.json`` carries the same hash; a
killed job has no ``done.json`` and is finished from where it stopped (its saved images are kept),
unless its config changed since it started: then its rows are another config's and are discarded.
`run_job` does all of that around one protocol run.
Library code, Hydra-free: the Hydra entry points (experiments/) call it with their resolved config.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from samkit.atomic import atomic_write_text

__all__ = ["config_hash", "job_key", "JobDir", "run_job", "NOT_WORK_KEYS"]

NOT_WORK_KEYS = ("resume", "progress", "download")
"""Config keys that do not change a job's numbers, so they are left out of its hash."""

ROWS = "rows.parquet"
DONE = "done.json"
STARTED = "started.json"


def config_hash(config: Mapping[str, Any]) -> str:
    """SHA-256 of a config as canonical JSON (sorted keys); the identity of a job's work."""
    text = json.dumps(config, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class JobDir:
    """The output folder of one job."""

    path: Path

    @property
    def rows_path(self) -> Path:
        return Path(self.path) / ROWS

    @property
    def done_path(self) -> Path:
        return Path(self.path) / DONE

    @property
    def started_path(self) -> Path:
        return Path(self.path) / STARTED

    def begin(self, key: str, resume: bool = True) -> None:
        """Start (or restart) the job with config hash ``key``.

        Forgets an earlier completion; keeps the rows of an interrupted run only with ``resume``
        and when that run had the same config hash (rows of another config are never mixed in).
        """
        self.clear_complete()
        try:
            started = json.loads(self.started_path.read_text()).get("config_hash")
        except (OSError, ValueError):
            started = None
        if not resume or started != key:
            self.rows_path.unlink(missing_ok=True)
        atomic_write_text(self.started_path, json.dumps({"config_hash": key}))

    def is_complete(self, key: str) -> bool:
        """True when this folder holds a finished job with config hash ``key``."""
        try:
            done = json.loads(self.done_path.read_text())
        except (OSError, ValueError):
            return False
        return done.get("config_hash") == key and self.rows_path.is_file()

    def mark_complete(self, key: str, rows: int) -> None:
        """Write ``done.json`` atomically; called only after the rows and provenance are saved."""
        atomic_write_text(self.done_path, json.dumps({"config_hash": key, "rows": rows}))

    def clear_complete(self) -> None:
        """Forget an earlier completion (the config changed, or resume is off)."""
        self.done_path.unlink(missing_ok=True)


def job_key(config: Mapping[str, Any]) -> str:
    """Hash of what a job computes: its config without `NOT_WORK_KEYS`."""
    return config_hash({k: v for k, v in config.items() if k not in NOT_WORK_KEYS})


def run_job(
    path: str | Path,
    config: Mapping[str, Any],
    protocol: str,
    work: Callable[[Any, JobDir, str], pd.DataFrame],
    *,
    capability: str | None = None,
) -> int:
    """Resume check, model loading and failure rows around ``work(model, job, run_id) -> rows``.

    ``config``: the job's resolved config as plain data, with ``model.name``, ``weights``
    (auto / pretrained / random), ``device``, ``seed``, ``dtype``, ``compile``, ``download``, ``progress`` and
    ``resume``; its hash (`job_key`) marks the job complete. ``capability``: what the protocol
    needs; a model without it gets the protocol's ``unsupported`` row without being loaded.
    A model that cannot load (missing or bad checkpoint), or a run that fails, becomes a row with
    that status (`samkit.errors.failure_status`); rows an interrupted run saved are kept.
    Returns 0 (the sweep goes on) in every case a row records.
    """
    from samkit.eval.protocol import row_header, unsupported_error
    from samkit.loading import choose_weights, load
    from samkit.registry import get_spec
    from samkit.rows import new_run_id, provenance, save_results

    job = JobDir(Path(path))
    key = job_key(config)
    name = str(config["model"]["name"])
    if config.get("resume", True) and job.is_complete(key):
        print(f"[samkit] {name}: complete results in {job.path}; skipped (resume=true)")
        return 0
    job.begin(key, resume=bool(config.get("resume", True)))
    run_id = new_run_id()
    weights = choose_weights(name, str(config["weights"]))
    spec = get_spec(name)
    base = {
        "run_id": run_id,
        "model": name,
        "family": spec.family,
        "dtype": str(config["dtype"]),
        "compile": bool(config.get("compile", False)),
        "protocol": protocol,
        "weights": f"{weights}(not loaded)",
        "weights_kind": weights,
        "device": str(config.get("device") or ""),
    }
    seed = config.get("seed")
    if capability is not None and not spec.supports(capability):
        return _record_failure(job, config, base, unsupported_error(name, protocol, capability), seed, complete=key)
    try:
        model = load(
            name,
            weights=weights,
            device=config.get("device"),
            seed=seed,
            dtype=str(config["dtype"]),
            compile=bool(config.get("compile", False)),
            download=bool(config.get("download")),
            progress=bool(config.get("progress", True)),
        )
    except Exception as err:  # noqa: BLE001 - recorded as a row; the sweep goes on
        return _record_failure(job, config, base, err, seed)
    try:
        frame = work(model, job, run_id)
    except Exception as err:  # noqa: BLE001
        return _record_failure(job, config, row_header(model, run_id, protocol), err, seed, model)
    save_results(frame, job.rows_path, provenance([model], dict(config), seed, run_id))
    job.mark_complete(key, len(frame))
    print(f"[samkit] {name}: {len(frame)} rows -> {job.rows_path}")
    return 0


def _record_failure(
    job: JobDir,
    config: Mapping[str, Any],
    base: dict[str, Any],
    err: BaseException,
    seed: Any,
    model: Any = None,
    complete: str | None = None,
) -> int:
    """Save a failure row beside the rows already there; ``complete``: mark the job done (its
    outcome cannot change on a rerun, e.g. an unsupported protocol)."""
    from samkit.eval.protocol import failure_row
    from samkit.rows import provenance, rows_to_frame, save_results

    row = failure_row(base, err)
    if config.get("shard"):  # one shard of a run: its failure row counts for that shard
        row["shard"] = str(config["shard"])
    frame = rows_to_frame([row])
    if job.rows_path.is_file():  # keep the images an interrupted run already finished
        frame = rows_to_frame(pd.concat([pd.read_parquet(job.rows_path), frame]).to_dict("records"))
    save_results(frame, job.rows_path, provenance([model] if model else [], dict(config), seed, base["run_id"]))
    if complete is not None:
        job.mark_complete(complete, len(frame))
    print(f"[samkit] {base['model']}: {row['status']}: {row['error']}", file=sys.stderr)
    return 0

"""What the Hydra entry points share: the job folder, resume, loading the model, recording failures."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

import samkit
from samkit.jobs import JobDir, config_hash, failure_status
from samkit.loading import choose_weights
from samkit.results import device_name, new_run_id, provenance, rows_to_frame, save_results

_NOT_WORK = ("resume", "progress", "download")


def plain(cfg: DictConfig) -> dict[str, Any]:
    """The resolved config as plain data (enums as strings)."""
    return OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)


def job_key(cfg: DictConfig) -> str:
    """Hash of what the job computes (options that do not change the numbers are left out)."""
    return config_hash({k: v for k, v in plain(cfg).items() if k not in _NOT_WORK})


def run_job(cfg: DictConfig, protocol: str, work: Callable[[Any, JobDir, str], pd.DataFrame]) -> int:
    """Resume check, model loading and failure rows around ``work(model, job, run_id) -> rows``.

    Returns the process exit code: 0 when the job finished or recorded why it could not run (so a
    sweep goes on), never raising for a per-job failure.
    """
    job = JobDir(Path(HydraConfig.get().runtime.output_dir))
    key = job_key(cfg)
    name = cfg.model.name.name if hasattr(cfg.model.name, "name") else str(cfg.model.name)
    if cfg.resume and job.is_complete(key):
        print(f"[samkit] {name}: complete results in {job.path}; skipped (resume=true)")
        return 0
    job.clear_complete()
    if not cfg.resume:
        job.rows_path.unlink(missing_ok=True)
    run_id = new_run_id()
    weights = choose_weights(name, str(cfg.weights.name))
    base = {"run_id": run_id, "model": name, "family": samkit.get_spec(name).family,
            "dtype": str(cfg.dtype.name), "protocol": protocol}
    try:
        model = samkit.load(name, weights=weights, device=cfg.device, seed=cfg.seed,
                            dtype=str(cfg.dtype.name), download=cfg.download, progress=cfg.progress)
    except Exception as err:  # noqa: BLE001 - recorded as a row; the sweep goes on
        return _record_failure(cfg, job, base, err, weights)
    try:
        frame = work(model, job, run_id)
    except Exception as err:  # noqa: BLE001
        return _record_failure(cfg, job, {**base, "weights": str(model.weights),
                                          "device": str(model.device)}, err, weights, model)
    save_results(frame, job.rows_path, provenance([model], plain(cfg), cfg.seed, run_id))
    job.mark_complete(key, len(frame))
    print(f"[samkit] {name}: {len(frame)} rows -> {job.rows_path}")
    return 0


def _record_failure(cfg: DictConfig, job: JobDir, base: dict[str, Any], err: BaseException,
                    weights: str, model: Any = None) -> int:
    status = failure_status(err)
    message = traceback.format_exception_only(type(err), err)[-1].strip()
    row = {"weights": f"{weights}(not loaded)", "device": str(cfg.device or ""), **base,
           "device_name": device_name(model.device) if model is not None else None,
           "status": status, "error": message[:1000]}
    frame = rows_to_frame([row])
    if job.rows_path.is_file():  # keep the images an interrupted run already finished
        frame = rows_to_frame(pd.concat([pd.read_parquet(job.rows_path), frame]).to_dict("records"))
    save_results(frame, job.rows_path, provenance([model] if model else [], plain(cfg), cfg.seed,
                                                   base["run_id"]))
    print(f"[samkit] {base['model']}: {status}: {message}", file=sys.stderr)
    return 0

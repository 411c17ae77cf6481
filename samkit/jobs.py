"""One job of a sweep: its folder, resume by config hash, and rows that record why a job could not run.

A job folder holds ``rows.parquet`` (saved image by image), ``rows.provenance.json`` and, written
last, ``done.json`` with the hash of the job's resolved config. A rerun with ``resume`` skips a job
whose ``done.json`` carries the same hash; a killed job has no ``done.json`` and is finished from
where it stopped (its saved images are kept). Library code: the Hydra entry points call it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from samkit.atomic import atomic_write_text

__all__ = ["config_hash", "JobDir", "failure_status"]

ROWS = "rows.parquet"
DONE = "done.json"


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


def failure_status(err: BaseException) -> str:
    """Row status for a job-level failure: ``missing_checkpoint``, ``oom``, ``unsupported`` or ``error``."""
    from samkit.errors import CheckpointError

    text = str(err).lower()
    if isinstance(err, CheckpointError):
        return "missing_checkpoint" if "download" in text or "no checkpoint" in text else "bad_checkpoint"
    if type(err).__name__ == "OutOfMemoryError" or "out of memory" in text:
        return "oom"
    if isinstance(err, NotImplementedError):
        return "unsupported"
    return "error"

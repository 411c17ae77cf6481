"""`resolve_device`: a device argument (None, "cpu", "cuda:1", a torch.device) -> a checked torch device.

A module of its own (it imports only torch) so that models, detectors and taggers share it without
importing one another.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

__all__ = ["resolve_device", "job_device", "ONE_GPU_PER_JOB"]

#: the device value that gives each job of a sweep one GPU of the node (`job_device`)
ONE_GPU_PER_JOB = "cuda:auto"


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None`` -> CUDA if available else CPU; a CUDA device that is not there is a clear error."""
    import torch

    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device={str(device)!r} was requested but CUDA is not available here; use device='cpu'.")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise RuntimeError(f"device={str(device)!r}: only {torch.cuda.device_count()} CUDA device(s).")
    return dev


def job_device(device: str | None, shard_index: int | None = None, job_number: int | None = None) -> str | None:
    """One GPU per job: ``"cuda:auto"`` -> ``"cuda:k"`` with k the job's shard index (else its
    sweep job number, else 0) modulo the GPUs this process sees; any other value unchanged.

    n shards on a node of n GPUs (joblib, or submitit's local executor with every GPU visible to
    every job) then run one per GPU; under SLURM with one GPU per job, every job gets its own
    ``cuda:0``. A RuntimeError when no GPU is visible."""
    if device != ONE_GPU_PER_JOB:
        return device
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count == 0:
        raise RuntimeError(f"device={ONE_GPU_PER_JOB!r} (one GPU per job) but no CUDA device is visible here")
    index = shard_index if shard_index is not None else (job_number or 0)
    return f"cuda:{index % count}"

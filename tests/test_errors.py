"""The one failure classifier behind every failure row (protocols, benchmark, jobs)."""

from __future__ import annotations

import pytest
import torch

from samkit.errors import (
    FAILURE_STATUSES,
    CheckpointError,
    ChecksumError,
    DownloadError,
    UnsupportedError,
    failure_status,
)


@pytest.mark.parametrize(
    "err, status",
    [
        (DownloadError("Could not download the mobile_sam checkpoint from https://..."), "missing_checkpoint"),
        (CheckpointError("No checkpoint for mobile_sam; run samkit weights download mobile_sam"), "missing_checkpoint"),
        (CheckpointError("Checkpoint file 'x.pt' for mobile_sam does not exist."), "missing_checkpoint"),
        (ChecksumError("The file downloaded from https://... has SHA-256 ab, not the published cd"), "bad_checkpoint"),
        (CheckpointError("x.pt looks like a checkpoint of sam_vit_b, not mobile_sam"), "bad_checkpoint"),
        (torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB"), "oom"),
        (RuntimeError("DefaultCPUAllocator: can't allocate memory: out of memory"), "oom"),
        (MemoryError(), "oom"),
        (UnsupportedError("fake does not support the box protocol"), "unsupported"),
        (NotImplementedError("no mask prompt"), "unsupported"),
        (ValueError("anything else"), "error"),
    ],
)
def test_failure_status(err, status):
    assert failure_status(err) == status and status in FAILURE_STATUSES

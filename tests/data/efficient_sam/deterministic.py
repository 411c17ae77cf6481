"""A deterministic EfficientSAM checkpoint derived from key names and shapes alone.

Shared by ``make_golden.py`` (which builds it from the *official* model's state dict and runs the
official code) and ``tests/models/test_efficient_sam.py`` (which builds it from samkit's model and loads
it through ``samkit.load``): equal keys and shapes give bit-identical files' tensors, so the two
codebases see the same weights without any checkpoint being committed.

Each tensor is drawn from a ``torch.Generator`` seeded with ``zlib.crc32(key)``:

- 1-D ``*.weight`` (layer / group norms): ``1 + 0.02 N(0, 1)``;
- ``*.bias``: ``0.02 N(0, 1)``;
- the prompt encoder's ``positional_encoding_gaussian_matrix``: ``N(0, 1)`` (as its own init);
- ``image_encoder.pos_embed``: ``0.02 N(0, 1)``;
- every other tensor (linear / conv weights, embeddings): ``N(0, 1) / sqrt(fan_in)`` with
  ``fan_in = numel / shape[0]``, so activations keep their scale through the layers.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping
from pathlib import Path

import torch


def deterministic_tensor(key: str, shape: tuple[int, ...]) -> torch.Tensor:
    """The float32 tensor of ``key`` (see the module docstring for the rule)."""
    gen = torch.Generator().manual_seed(zlib.crc32(key.encode()))
    noise = torch.randn(shape, generator=gen, dtype=torch.float32)
    if key.endswith(".weight") and len(shape) == 1:
        return 1 + 0.02 * noise
    if key.endswith(".bias"):
        return 0.02 * noise
    if key.endswith("positional_encoding_gaussian_matrix"):
        return noise
    if key.endswith("pos_embed"):
        return 0.02 * noise
    fan_in = max(1, math.prod(shape) // shape[0])
    return noise / math.sqrt(fan_in)


def deterministic_state_dict(shapes: Mapping[str, tuple[int, ...]]) -> dict[str, torch.Tensor]:
    """``{key: deterministic_tensor(key, shape)}`` in the order of ``shapes``."""
    return {key: deterministic_tensor(key, tuple(shape)) for key, shape in shapes.items()}


def save_checkpoint(shapes: Mapping[str, tuple[int, ...]], path: str | Path) -> Path:
    """Save the deterministic state dict in the official layout ``{"model": state_dict}``."""
    path = Path(path)
    torch.save({"model": deterministic_state_dict(shapes)}, path)
    return path

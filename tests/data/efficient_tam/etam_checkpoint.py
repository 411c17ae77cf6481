"""The deterministic EfficientTAM checkpoint of ``make_golden.py`` and ``tests/models/test_efficient_tam.py``.

Every tensor is EfficientSAM's deterministic rule (``tests/data/efficient_sam/deterministic.py``:
drawn from a generator seeded with the key's CRC-32, scaled by fan-in) except the bias of the mask
decoder's object-score head, which is set to +10: with the drawn weights alone some models (the
ViT-S ones) score the prompted objects as absent, and SAM 2 then outputs a constant "no object"
mask (-1024 logits) on every later frame, which would leave the video memory untested.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "efficient_sam"))

from deterministic import deterministic_state_dict  # noqa: E402

#: key -> constant value, replacing the drawn tensor
OVERRIDES = {"sam_mask_decoder.pred_obj_score_head.layers.2.bias": 10.0}


def save_etam_checkpoint(shapes: Mapping[str, tuple[int, ...]], path: str | Path) -> Path:
    """Save the deterministic state dict of ``shapes`` with `OVERRIDES` as ``{"model": state_dict}``."""
    path = Path(path)
    state = deterministic_state_dict(shapes)
    for key, value in OVERRIDES.items():
        state[key] = torch.full(tuple(shapes[key]), value)
    torch.save({"model": state}, path)
    return path

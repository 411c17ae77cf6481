"""Checking a state dict against a model's architecture: `match_checkpoint` (key for key, shape for
shape, else a `CheckpointError` that names what differs and, where it can, the model the file is for)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from samkit.errors import CheckpointError, MissingExtraError
from samkit.registry import REGISTRY, ModelSpec

if TYPE_CHECKING:
    import torch

__all__ = ["match_checkpoint", "guess_checkpoint_model"]


def match_checkpoint(model: torch.nn.Module, state_dict: dict[str, Any], spec: ModelSpec, path: str) -> None:
    """Raise `CheckpointError` unless ``state_dict`` has exactly the keys and shapes of ``model``."""
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    got = {k: tuple(v.shape) for k, v in state_dict.items()}
    missing = [k for k in expected if k not in got]
    unexpected = [k for k in got if k not in expected]
    wrong = [f"{k}: file {got[k]} vs model {expected[k]}" for k in expected if k in got and got[k] != expected[k]]
    if not (missing or unexpected or wrong):
        return
    parts = []
    for label, items in (("missing keys", missing), ("unexpected keys", unexpected), ("shape mismatches", wrong)):
        if items:
            parts.append(f"{len(items)} {label} (e.g. {items[:3]})")
    owner = guess_checkpoint_model(got, exclude=spec.name)
    hint = f" It looks like a checkpoint for {owner!r}." if owner else ""
    raise CheckpointError(f"{path} does not fit {spec.name}: {'; '.join(parts)}.{hint} Nothing was loaded.")


def guess_checkpoint_model(shapes: dict[str, tuple], exclude: str | None = None) -> str | None:
    """Name of the registered model whose architecture has exactly these keys and shapes, if any.

    Only models whose family's marker key is in ``shapes`` are built (on the ``meta`` device where
    the family allows it, else on the CPU), so this is cheap enough for an error message.
    """
    for name, spec in REGISTRY.items():
        try:
            cls = REGISTRY.family_class(spec)
        except MissingExtraError:  # a family that is not installed made no checkpoint here
            continue
        if name == exclude or cls.checkpoint_marker not in shapes:
            continue
        model = _build_for_shapes(cls, spec)
        if {k: tuple(v.shape) for k, v in model.state_dict().items()} == shapes:
            return name
    return None


def _build_for_shapes(cls: Any, spec: ModelSpec) -> torch.nn.Module:
    import torch

    try:
        with torch.device("meta"):
            return cls.build_architecture(spec)
    except RuntimeError:  # sam2 and mobile_sam call .item() while building
        return cls.build_architecture(spec)

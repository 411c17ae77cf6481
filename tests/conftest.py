"""Shared fixtures: an isolated checkpoint folder, small photos, and cached random-weight models."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import samkit

sys.path.insert(0, str(Path(__file__).parent / "eval"))  # tests/eval/fakes.py: Segmenter-shaped fakes


@pytest.fixture(autouse=True)
def isolated_checkpoints(tmp_path, monkeypatch):
    """Every test gets its own empty SAMKIT_CHECKPOINTS folder; the user's cache is never touched."""
    folder = tmp_path / "checkpoints"
    monkeypatch.setenv("SAMKIT_CHECKPOINTS", str(folder))
    return folder


@pytest.fixture(scope="session")
def photo() -> np.ndarray:
    """scikit-image's 'chelsea' photo downscaled to 120x180 (HxWx3 uint8 RGB)."""
    import skimage.data
    import skimage.transform

    image = skimage.data.chelsea()
    small = skimage.transform.resize(image, (120, 180), anti_aliasing=True, preserve_range=True)
    return small.round().astype(np.uint8)


_MODELS: dict[str, samkit.models.Segmenter] = {}


@pytest.fixture(scope="session")
def random_model():
    """Factory: ``random_model(name)`` -> a cached CPU model with random weights (seed 0)."""

    def get(name: str):
        if name not in _MODELS:
            _MODELS[name] = samkit.load(name, weights="random", seed=0, device="cpu")
        return _MODELS[name]

    return get

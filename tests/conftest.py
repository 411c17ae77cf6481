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


_MODELS: dict[tuple, samkit.models.Segmenter] = {}


def cached_random_model(name: str, **options):
    """A cached CPU model with random weights (seed 0); ``options``: more `samkit.load` arguments
    (e.g. ``config="tiny"``), part of the cache key."""
    key = (name, tuple(sorted(options.items())))
    if key not in _MODELS:
        _MODELS[key] = samkit.load(name, weights="random", seed=0, device="cpu", **options)
    return _MODELS[key]


@pytest.fixture(scope="session")
def random_model():
    """Factory: ``random_model(name, **options)`` -> `cached_random_model` (one cache for the session)."""
    return cached_random_model


#: the input side of the small SAM 2 builds of the video and video-widget tests (1024 when released)
SMALL_SIDE = 256


@pytest.fixture(scope="module")
def small_input():
    """Build every SAM 2 model of the module with a SMALL_SIDE-pixel input (samkit's and sam2's builders
    alike: tests pass ``++model.image_size=SMALL_SIDE`` to sam2's): the same architecture and weights,
    ~16x cheaper per frame on a CPU; slow tests restore the released size."""
    import samkit.models.sam2 as sam2_adapter

    original = sam2_adapter.model_config

    def config(spec):
        cfg = original(spec)
        cfg.image_size = SMALL_SIDE
        return cfg

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sam2_adapter, "model_config", config)
        yield SMALL_SIDE


@pytest.fixture(scope="module")
def small_sam2(small_input):
    """SAM 2.1 tiny, random weights (seed 0), CPU, built at the small input (one per module)."""
    built = samkit.load("sam2.1_hiera_tiny", weights="random", seed=0, device="cpu")
    assert built.model.image_size == small_input
    return built

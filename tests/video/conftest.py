"""Video tests build SAM 2 models with a small input (``image_size`` SIDE instead of 1024): the same
architecture and weights, ~16x cheaper per frame on a CPU; slow tests restore the released size."""

from __future__ import annotations

import pytest

SIDE = 256


@pytest.fixture(scope="module", autouse=True)
def small_input():
    """Build every SAM 2 model of the module with a SIDE-pixel input (samkit's and sam2's builders
    alike: tests pass ``++model.image_size=SIDE`` to sam2's)."""
    import samkit.models.sam2 as sam2_adapter

    original = sam2_adapter.model_config

    def config(spec):
        cfg = original(spec)
        cfg.image_size = SIDE
        return cfg

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sam2_adapter, "model_config", config)
        yield SIDE

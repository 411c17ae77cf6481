"""Video tests build SAM 2 models with a small input (`small_input` of tests/conftest.py: ``image_size``
256 instead of 1024): the same architecture and weights, ~16x cheaper per frame on a CPU; slow tests
restore the released size."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module", autouse=True)
def _small_video_input(small_input):
    """Every module of tests/video builds SAM 2 at the small input."""
    yield small_input

"""samkit: a Jupyter-first research and evaluation toolkit for the Segment Anything family.

``import samkit`` is light: torch and the model packages are imported when a model is loaded.
"""

from __future__ import annotations

from typing import Any

from samkit.registry import get_spec, list_models
from samkit.version import __version__

__all__ = ["load", "list_models", "model_table", "get_spec", "__version__"]


def load(name: str, weights: str = "pretrained", **kwargs: Any):
    """Load a registered model behind the `Segmenter` (SamPredictor-shaped) interface.

    ``weights``: ``"pretrained"``, ``"random"`` (the real architecture, seeded) or ``"auto"``;
    the other arguments (checkpoint, device, seed, dtype, compile, download, family options) are
    `samkit.loading.load`'s, and ``text_detector=`` / ``text_detector_options=`` give a model
    without native text prompts ``predict(text=...)`` (`samkit.pipelines.text.load`).
    """
    from samkit.pipelines.text import load as _load

    return _load(name, weights, **kwargs)


def model_table(pattern: str | None = None, **kwargs: Any):
    """A pandas table of registered models; see `samkit.catalog.model_table`."""
    from samkit.catalog import model_table as _model_table

    return _model_table(pattern, **kwargs)

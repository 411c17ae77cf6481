"""`load_component`: what loading a detector and loading a tagger share (checked weights kind, ``auto``,
random ``config``, checkpoint, device) -> the family class's model and processor, with `WeightsInfo`."""

from __future__ import annotations

import os
from typing import Any

from samkit.weights import WeightsInfo

__all__ = ["load_component"]


def load_component(cls: Any, spec: Any, weights: str, *, checkpoint: str | os.PathLike | None,
                   device: Any, seed: int, config: str, configs: tuple[str, ...], download: bool,
                   progress: bool) -> tuple[Any, Any, WeightsInfo, Any]:
    """``(model, processor, weights_info, device)`` of ``spec`` built by its family class ``cls``.

    ``weights``: ``"pretrained"`` (official file or ``checkpoint``), ``"random"`` (``cls.build_random``
    under ``seed`` with ``config``, one of ``configs``) or ``"auto"`` (pretrained when the official
    weights are present, else random). A class with ``fetch_parts`` gets its extra files found (or
    downloaded) before ``cls.load_checkpoint``. The model is in eval mode, without gradients, on the device.
    """
    from samkit.devices import resolve_device
    from samkit.weights import resolve_checkpoint, verify

    if weights not in ("pretrained", "random", "auto"):
        raise ValueError(f"weights must be 'pretrained', 'random' or 'auto', got {weights!r} (pass a "
                         "checkpoint with checkpoint=...).")
    if weights == "auto":  # as samkit.load: the official weights when present, else random
        present = checkpoint is not None or verify(spec).status in ("ok", "unpublished")
        weights = "pretrained" if present else "random"
    if config not in configs:
        raise ValueError(f"config must be one of {configs}, got {config!r}")
    if weights == "random" and checkpoint is not None:
        raise ValueError("weights='random' and checkpoint=... contradict each other; choose one.")
    if weights == "pretrained" and config != "full":
        raise ValueError(f"config={config!r} applies to weights='random' only.")
    dev = resolve_device(device)
    if weights == "random":
        model, processor = cls.build_random(spec, int(seed), config)
        info = WeightsInfo("random", seed=int(seed), config=config)
    else:
        info = resolve_checkpoint(spec, checkpoint, download_missing=download, progress=progress)
        if hasattr(cls, "fetch_parts"):
            cls.fetch_parts(spec, info.path, download=download, progress=progress)
        model, processor = cls.load_checkpoint(spec, info.path)
    return model.eval().requires_grad_(False).to(dev), processor, info, dev

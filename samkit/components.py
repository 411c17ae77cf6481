"""The one loading path of models, detectors and taggers: `choose_weights_kind` (the checked weights
kind, ``auto`` resolved, a checkpoint that contradicts ``random`` refused) and `ready_for_inference`
(eval mode, no gradients, on the device) are what `samkit.loading.load` and `load_component` share;
`load_component` is the rest for detectors and taggers (random ``config``, checkpoint with its extra
parts) -> the family class's model and processor, with `WeightsInfo`."""

from __future__ import annotations

import os
from typing import Any

from samkit.weights import WeightsInfo

__all__ = ["load_component", "choose_weights_kind", "ready_for_inference", "WEIGHT_KINDS"]

#: the ``weights`` values of every loader
WEIGHT_KINDS = ("pretrained", "random", "auto")


def choose_weights_kind(spec: Any, weights: str, checkpoint: str | os.PathLike | None = None) -> str:
    """``"pretrained"`` or ``"random"`` for loading ``spec`` (a model, detector or tagger spec).

    ``"auto"``: pretrained when ``checkpoint`` is given or the official file is present (verified
    where a SHA-256 is published), else random. Another value than `WEIGHT_KINDS`, or ``"random"``
    with a ``checkpoint``, is a ``ValueError``.
    """
    from samkit.weights import verify

    if weights not in WEIGHT_KINDS:
        raise ValueError(f"weights must be one of {WEIGHT_KINDS}, got {weights!r} (pass a file with checkpoint=...).")
    if weights == "auto":  # "unpublished": the file is there but no checksum is published to verify it
        present = checkpoint is not None or verify(spec).status in ("ok", "unpublished")
        weights = "pretrained" if present else "random"
    if weights == "random" and checkpoint is not None:
        raise ValueError("weights='random' and checkpoint=... contradict each other; choose one.")
    return weights


def ready_for_inference(model: Any, device: Any) -> Any:
    """``model`` in eval mode with ``requires_grad=False`` on every parameter, on ``device``
    (samkit is for inference; this also lets FLOP counting trace it)."""
    return model.eval().requires_grad_(False).to(device)


def load_component(
    cls: Any,
    spec: Any,
    weights: str,
    *,
    checkpoint: str | os.PathLike | None,
    device: Any,
    seed: int,
    config: str,
    configs: tuple[str, ...],
    download: bool,
    progress: bool,
) -> tuple[Any, Any, WeightsInfo, Any]:
    """``(model, processor, weights_info, device)`` of ``spec`` built by its family class ``cls``.

    ``weights``: ``"pretrained"`` (official file or ``checkpoint``), ``"random"`` (``cls.build_random``
    under ``seed`` with ``config``, one of ``configs``) or ``"auto"`` (pretrained when the official
    weights are present, else random). A class with ``fetch_parts`` gets its extra files found (or
    downloaded) before ``cls.load_checkpoint``. The model is in eval mode, without gradients, on the device.
    """
    from samkit.devices import resolve_device
    from samkit.weights import resolve_checkpoint

    weights = choose_weights_kind(spec, weights, checkpoint)
    if config not in configs:
        raise ValueError(f"config must be one of {configs}, got {config!r}")
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
    return ready_for_inference(model, dev), processor, info, dev

"""The one loading path of models, detectors and taggers: `load_weights` (the weights kind chosen by
`choose_weights_kind`, then the family class's ``build_random`` or the checkpoint found, verified or
downloaded and read by its ``load_checkpoint``) and `ready_for_inference` (eval mode, no gradients,
on the device). `samkit.loading.load` (models) and `load_component` (detectors, taggers) add only
their own options around them."""

from __future__ import annotations

import os
from typing import Any

from samkit.weights import WeightsInfo

__all__ = ["load_weights", "load_component", "choose_weights_kind", "ready_for_inference", "WEIGHT_KINDS"]

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


def load_weights(
    cls: Any,
    spec: Any,
    weights: str,
    *,
    checkpoint: str | os.PathLike | None = None,
    seed: int = 0,
    build_options: dict[str, Any] | None = None,
    download: bool = True,
    progress: bool = True,
) -> tuple[Any, WeightsInfo]:
    """``(what cls builds, weights_info)``: the one loading path of models, detectors and taggers.

    ``weights`` (see `choose_weights_kind`): ``"random"`` -> ``cls.build_random(spec, seed,
    **build_options)``; ``"pretrained"`` -> the checkpoint found, verified or downloaded
    (`samkit.weights.resolve_checkpoint`), its extra parts fetched where ``cls`` has
    ``fetch_parts``, then ``cls.load_checkpoint(spec, path)``. A model family returns its module,
    a detector or tagger family ``(model, processor)``; not yet on a device (`ready_for_inference`).
    """
    from samkit.weights import resolve_checkpoint

    weights = choose_weights_kind(spec, weights, checkpoint)
    build_options = dict(build_options or {})
    if weights == "random":
        built = cls.build_random(spec, int(seed), **build_options)
        return built, WeightsInfo("random", seed=int(seed), config=build_options.get("config"))
    info = resolve_checkpoint(spec, checkpoint, download_missing=download, progress=progress)
    if hasattr(cls, "fetch_parts"):
        cls.fetch_parts(spec, info.path, download=download, progress=progress)
    return cls.load_checkpoint(spec, info.path), info


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
    """``(model, processor, weights_info, device)`` of a detector or tagger ``spec`` built by its
    family class ``cls`` through `load_weights`, in eval mode, without gradients, on the device.

    ``config`` (one of ``configs``) chooses the random architecture; a checkpoint carries its own.
    """
    from samkit.devices import resolve_device

    weights = choose_weights_kind(spec, weights, checkpoint)
    if config not in configs:
        raise ValueError(f"config must be one of {configs}, got {config!r}")
    if weights == "pretrained" and config != "full":
        raise ValueError(f"config={config!r} applies to weights='random' only.")
    dev = resolve_device(device)
    (model, processor), info = load_weights(
        cls,
        spec,
        weights,
        checkpoint=checkpoint,
        seed=seed,
        build_options={"config": config} if weights == "random" else None,
        download=download,
        progress=progress,
    )
    return ready_for_inference(model, dev), processor, info, dev

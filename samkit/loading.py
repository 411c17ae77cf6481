"""`load`: registry name -> ready `Segmenter`, with pretrained or seeded random weights."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from samkit.components import choose_weights_kind, load_weights, ready_for_inference
from samkit.devices import resolve_device
from samkit.errors import UnsupportedError
from samkit.models.checkpoints import guess_checkpoint_model, match_checkpoint
from samkit.registry import REGISTRY, ModelSpec, get_spec

if TYPE_CHECKING:
    import torch

    from samkit.models.base import Segmenter

__all__ = [
    "load",
    "adapter_class",
    "build_random",
    "resolve_device",
    "match_checkpoint",
    "guess_checkpoint_model",
    "choose_weights",
]


def choose_weights(name: str, weights: str) -> str:
    """``"auto"`` -> ``"pretrained"`` when the official checkpoint is present (and verified where a
    SHA-256 is published), else ``"random"``.

    ``"pretrained"`` and ``"random"`` are returned as they are.
    """
    return choose_weights_kind(get_spec(name), weights)


def adapter_class(spec: ModelSpec) -> type[Segmenter]:
    """The `Segmenter` subclass of the family of ``spec`` (imports that family's package).

    A family whose optional package is not installed (the registry's ``FAMILY_EXTRAS``) is a
    `MissingExtraError` naming the extra, before anything is built or downloaded.
    """
    return REGISTRY.family_class(spec)


def build_random(spec: ModelSpec, seed: int, **build_options: Any) -> torch.nn.Module:
    """The real architecture of ``spec`` with its upstream default initialisation under ``seed``.

    ``build_options`` are the family's (its adapter's ``build_options``, e.g. ``config="tiny"``).
    The global torch RNG state is left as it was.
    """
    return adapter_class(spec).build_random(spec, seed, **build_options)


def load(
    name: str | ModelSpec,
    weights: str = "pretrained",
    *,
    checkpoint: str | os.PathLike | None = None,
    device: str | torch.device | None = None,
    seed: int = 0,
    dtype: str = "float32",
    compile: bool = False,
    compile_options: dict[str, Any] | None = None,
    download: bool = True,
    progress: bool = True,
    **options: Any,
) -> Segmenter:
    """Load a registered model behind the `Segmenter` (SamPredictor-shaped) interface.

    Args:
        name: registered name, e.g. ``"sam2.1_hiera_tiny"`` (see `samkit.list_models`).
        weights: ``"pretrained"`` (the official checkpoint, or ``checkpoint``), ``"random"``
            (the real architecture with seeded random weights: real latency, memory, FLOPs and
            parameter counts; meaningless accuracy), or ``"auto"`` (pretrained when the official
            checkpoint is present and verified, else random; ``model.weights`` says which).
        checkpoint: explicit checkpoint file in the family's official layout (a folder with
            ``config.json`` + ``model.safetensors`` for hub-layout models); implies pretrained.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``...; default CUDA if available, else CPU.
        seed: torch seed of the random initialisation (``weights="random"`` only).
        dtype: ``"float32"`` or ``"bfloat16"`` / ``"float16"`` (autocast; weights stay float32).
            A precision the device cannot run (float16 on a CPU) is an `UnsupportedError`.
        compile: ``torch.compile`` the image encoder (static shapes) and warm it up here; the
            compilation time is ``model.compile_ms``, never inside a later call. No compiler, or
            a family samkit cannot compile (FastSAM), is a clear error. See `samkit.fast_settings`;
            how far a setting moves the masks: the ``agreement`` protocol.
        compile_options: ``torch.compile`` keyword arguments (``{"mode": "max-autotune"}``).
        download: download a missing official checkpoint (with a progress bar) instead of failing.
        progress: show the download progress bar.
        **options: family options of the adapter (its ``load_options``), e.g.
            ``hq_token_only=True`` for the ``sam_hq`` models; another name is a ``TypeError``.
            Families built from transformers configs (``sam3``, ``edgetam``) also take
            ``config="full"`` (default: the released architecture) or ``config="tiny"`` (a tiny
            architecture for tests and smoke runs, never for measurements) with
            ``weights="random"``; ``model.weights.config`` records it.

    Text prompts through a detector (``text_detector=``) are `samkit.load`'s
    (`samkit.pipelines.text.load`), which calls this.

    A checkpoint is read safely (tensors only), must match the architecture key for key and shape
    for shape (else `CheckpointError`, nothing half-loaded), and a file in the default location
    must carry the published SHA-256. ``model.weights`` records what was loaded. The module is in
    eval mode with ``requires_grad=False`` on every parameter (samkit is for inference).
    """
    spec = get_spec(name)
    from samkit.models.base import DTYPES

    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
    weights = choose_weights_kind(spec, weights, checkpoint)
    _check_options(spec, options)
    if compile_options and not compile:
        raise ValueError("compile_options without compile=True")
    if compile and adapter_class(spec).encoder_path is None:
        raise UnsupportedError(
            f"{spec.name}: samkit cannot compile the {spec.family} family's encoder; load it with compile=False."
        )
    build_options = _build_options(spec, options, weights)
    dev = resolve_device(device)
    from samkit.fast_settings import check_dtype, compile_encoder

    check_dtype(dtype, dev)
    model, info = load_weights(
        adapter_class(spec),
        spec,
        weights,
        checkpoint=checkpoint,
        seed=seed,
        build_options=build_options,
        download=download,
        progress=progress,
    )
    model = ready_for_inference(model, dev)
    segmenter = adapter_class(spec)(spec, model, info, dtype, **options)
    if compile:
        segmenter.compile_ms = compile_encoder(segmenter, compile_options)
        segmenter.compiled = True
    return segmenter


def _check_options(spec: ModelSpec, options: dict[str, Any]) -> None:
    """Reject options the family's adapter does not take, before any model is built."""
    if not options:
        return
    cls = adapter_class(spec)
    allowed = {**cls.load_options, **getattr(cls, "build_options", {})}
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        offer = ", ".join(f"{k}={v!r}" for k, v in allowed.items()) or "none"
        raise TypeError(
            f"load() got unknown option(s) {unknown} for {spec.name} "
            f"(family {spec.family}); its options (defaults): {offer}."
        )


def _build_options(spec: ModelSpec, options: dict[str, Any], weights: str) -> dict[str, Any]:
    """Take the family's build options (e.g. ``config``) out of ``options``, with their defaults.

    They choose the architecture of a random build; a checkpoint carries its own, so giving one
    with ``weights="pretrained"`` is an error.
    """
    defaults = getattr(adapter_class(spec), "build_options", {})
    given = {k: options.pop(k) for k in list(options) if k in defaults}
    if given and weights != "random":
        raise ValueError(
            f"{', '.join(sorted(given))}= choose the architecture of weights='random' only; "
            f"a {spec.name} checkpoint carries its own config."
        )
    return {**defaults, **given}

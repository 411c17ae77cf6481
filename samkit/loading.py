"""`load`: registry name -> ready `Segmenter`, with pretrained or seeded random weights."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from samkit.components import choose_weights_kind, ready_for_inference
from samkit.devices import resolve_device
from samkit.errors import CheckpointError, MissingExtraError, UnsupportedError
from samkit.registry import REGISTRY, ModelSpec, get_spec
from samkit.weights import WeightsInfo, resolve_checkpoint

if TYPE_CHECKING:
    import torch

    from samkit.models.base import Segmenter

__all__ = ["load", "adapter_class", "build_random", "resolve_device", "match_checkpoint", "choose_weights"]


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
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return adapter_class(spec).build_architecture(spec, **build_options)


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
            cls = adapter_class(spec)
        except MissingExtraError:  # a family that is not installed made no checkpoint here
            continue
        if name == exclude or cls.checkpoint_marker not in shapes:
            continue
        model = _build_for_shapes(cls, spec)
        if {k: tuple(v.shape) for k, v in model.state_dict().items()} == shapes:
            return name
    return None


def _build_for_shapes(cls: type[Segmenter], spec: ModelSpec) -> torch.nn.Module:
    import torch

    try:
        with torch.device("meta"):
            return cls.build_architecture(spec)
    except RuntimeError:  # sam2 and mobile_sam call .item() while building
        return cls.build_architecture(spec)


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
    if weights == "random":
        model = build_random(spec, seed, **build_options)
        info = WeightsInfo("random", seed=int(seed), config=build_options.get("config"))
    elif hasattr(adapter_class(spec), "load_checkpoint"):  # hub folders: config.json decides the model
        info = resolve_checkpoint(spec, checkpoint, download_missing=download, progress=progress)
        model = adapter_class(spec).load_checkpoint(spec, info.path)
    else:
        info = resolve_checkpoint(spec, checkpoint, download_missing=download, progress=progress)
        state_dict = adapter_class(spec).read_checkpoint(info.path, spec)
        model = adapter_class(spec).build_architecture(spec)
        match_checkpoint(model, state_dict, spec, info.path)
        model.load_state_dict(state_dict, strict=True)
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

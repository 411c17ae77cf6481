"""Fast settings of a loaded model: reduced precision and ``torch.compile`` of the image encoder.

``samkit.load(name, dtype="bfloat16", compile=True)`` uses these. Reduced precision runs the model
under ``torch.autocast`` (weights stay float32; outputs are float32 / bool numpy). ``compile=True``
compiles the family's image encoder in place (``nn.Module.compile``, static shapes) and runs one
warm-up encoder pass at load time, so the compilation is paid there and measured
(``model.compile_ms``), never inside a timed call.

A setting a device cannot run is a clear `UnsupportedError`, never a silent slow or wrong path:
float16 on a CPU (PyTorch's CPU kernels emulate it, tens of times slower than float32), bfloat16
on a GPU without bfloat16 support, and compilation without a compiler (a C++ compiler for the CPU,
Triton for CUDA) or on a family whose encoder samkit cannot compile.

How far a fast setting moves the masks is measured by the ``agreement`` protocol
(`samkit.eval.agreement`): mean mask IoU and score difference against float32 eager.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from typing import TYPE_CHECKING, Any

import numpy as np

from samkit.errors import SamkitError, UnsupportedError

if TYPE_CHECKING:
    import torch

    from samkit.models.base import Segmenter

__all__ = ["CompileError", "AGREEMENT_THRESHOLD", "check_dtype", "compile_encoder", "encoder_module", "setting_label"]

#: a fast setting whose mean mask IoU against float32 eager is below this is flagged, never a default
AGREEMENT_THRESHOLD = 0.99


class CompileError(SamkitError, RuntimeError):
    """``torch.compile`` of the image encoder failed (nothing stays compiled)."""


def check_dtype(dtype: str, device: torch.device) -> None:
    """Raise `UnsupportedError` for a precision ``device`` cannot run at speed."""
    import torch

    if dtype == "float16" and device.type == "cpu":
        raise UnsupportedError(
            "dtype='float16' on a CPU is not supported: PyTorch's CPU kernels emulate float16 "
            "(tens of times slower than float32). Use dtype='bfloat16' on a CPU, or float16 on CUDA."
        )
    if dtype == "bfloat16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise UnsupportedError(
            f"dtype='bfloat16' is not supported by {torch.cuda.get_device_name(device)} "
            "(compute capability < 8.0); use dtype='float16'."
        )


def setting_label(dtype: str, compiled: bool, image_batch: int = 1) -> str:
    """A short name of a setting, e.g. ``"bfloat16 + compile, batch 8"`` or ``"float32"``."""
    label = str(dtype) + (" + compile" if compiled else "")
    return label + (f", batch {int(image_batch)}" if int(image_batch) > 1 else "")


def encoder_module(segmenter: Segmenter) -> torch.nn.Module:
    """The image encoder module of ``segmenter`` (its family's ``encoder_path`` in ``model``)."""
    path = getattr(segmenter, "encoder_path", None)
    if not path:
        raise UnsupportedError(
            f"{segmenter.name}: samkit cannot compile this family's encoder "
            f"({segmenter.family}); load it with compile=False."
        )
    module: Any = segmenter.model
    for part in path.split("."):
        module = getattr(module, part)
    return module


def _missing_compiler(device: torch.device) -> str | None:
    """What torch.compile's default backend (inductor) lacks on ``device``, or None."""
    if device.type == "cuda":
        return None if importlib.util.find_spec("triton") else "Triton (pip install triton)"
    cxx = os.environ.get("CXX") or "g++"
    if shutil.which(cxx) or shutil.which("c++") or shutil.which("clang++"):
        return None
    return "a C++ compiler (g++ or clang++ on PATH, or CXX=...)"


def compile_encoder(segmenter: Segmenter, options: dict[str, Any] | None = None) -> float:
    """Compile ``segmenter``'s image encoder in place and warm it up; returns the warm-up in ms.

    Args:
        options: ``torch.compile`` keyword arguments (``mode="max-autotune"``, ``backend=...``);
            default: inductor, ``dynamic=False`` (the encoders see one fixed input size).

    The warm-up is one `set_image` of a mid-grey square image of the model's input size (the
    compilation happens there), under the model's dtype; the image is then forgotten. Shapes
    other than the warm-up's recompile on first use (FastSAM's letterboxed inputs depend on the
    image's aspect ratio). On failure nothing stays compiled and `CompileError` says why.
    """
    from samkit.metrics.perf import timed

    module = encoder_module(segmenter)
    opts = {"dynamic": False, **(options or {})}
    if opts.get("backend", "inductor") == "inductor":
        missing = _missing_compiler(segmenter.device)
        if missing:
            raise CompileError(
                f"{segmenter.name}: torch.compile needs {missing} on {segmenter.device.type}; load with compile=False."
            )
    side = int(getattr(segmenter.spec, "input_size", None) or 1024)
    image = np.full((side, side, 3), 128, dtype=np.uint8)
    module.compile(**opts)
    try:
        _, elapsed_ms = timed(lambda: segmenter.set_image(image), segmenter.device)
    except Exception as err:
        module._compiled_call_impl = None  # back to eager: nothing half-compiled stays
        raise CompileError(
            f"{segmenter.name}: torch.compile of {segmenter.encoder_path} failed "
            f"({_root_cause(err)}); load with compile=False."
        ) from err
    finally:
        if segmenter.is_image_set:
            segmenter.reset_image()
    return elapsed_ms


def _root_cause(err: BaseException) -> str:
    """``Type: first line`` of the innermost cause of ``err`` (dynamo wraps backend errors)."""
    while getattr(err, "inner_exception", None) is not None or err.__cause__ is not None:
        err = getattr(err, "inner_exception", None) or err.__cause__  # type: ignore[assignment]
    lines = [line for line in str(err).splitlines() if line.strip()]
    return f"{type(err).__name__}: {lines[0] if lines else ''}"

"""Image validation: every model takes HxWx3 uint8 RGB; this module converts or rejects the rest."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from samkit.errors import ImageConversionWarning, ImageError

__all__ = ["to_rgb_uint8"]

_FLOAT_HINT = (
    "samkit does not guess the value range of float images: convert it yourself, e.g. "
    "(image * 255).round().clip(0, 255).astype(np.uint8) for values in [0, 1]."
)


def to_rgb_uint8(image: Any) -> np.ndarray:
    """Return ``image`` as a C-contiguous HxWx3 uint8 RGB array.

    Accepted: numpy arrays or PIL images. Converted, with an `ImageConversionWarning` that says so:
    grayscale (HxW or HxWx1) is replicated to RGB; RGBA (HxWx4) has its alpha channel dropped;
    PIL images in modes L, LA, P, RGBA, CMYK, YCbCr are converted by PIL to RGB.
    Rejected with an `ImageError` that says why: float, 16-bit, bool and other non-uint8 dtypes,
    other channel counts, other dimensions, empty images.
    """
    if _is_pil(image):
        image = _pil_to_array(image)
    if not isinstance(image, np.ndarray):
        raise ImageError(
            f"Expected an image as a numpy array (HxWx3 uint8 RGB) or a PIL image, got {type(image).__name__}."
        )
    if image.ndim not in (2, 3):
        raise ImageError(
            f"Expected an image of shape HxWx3 (or HxW grayscale), got shape {image.shape}. "
            "Batches are not accepted: pass one image at a time."
        )
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ImageError(f"The image is empty (shape {image.shape}).")
    if image.dtype != np.uint8:
        raise ImageError(_dtype_message(image.dtype))
    if image.ndim == 2:
        warnings.warn(
            "Grayscale image (HxW) converted to RGB by replicating the channel.", ImageConversionWarning, stacklevel=3
        )
        image = np.repeat(image[:, :, None], 3, axis=2)
    channels = image.shape[2]
    if channels == 1:
        warnings.warn(
            "Grayscale image (HxWx1) converted to RGB by replicating the channel.", ImageConversionWarning, stacklevel=3
        )
        image = np.repeat(image, 3, axis=2)
    elif channels == 4:
        warnings.warn(
            "RGBA image converted to RGB by dropping the alpha channel (transparent pixels keep their RGB values).",
            ImageConversionWarning,
            stacklevel=3,
        )
        image = image[:, :, :3]
    elif channels != 3:
        raise ImageError(
            f"Expected 3 colour channels (RGB), got {channels} (shape {image.shape}). "
            "Channels-first (3xHxW) arrays must be transposed to HxWx3."
        )
    return np.ascontiguousarray(image)


def _dtype_message(dtype: np.dtype) -> str:
    if np.issubdtype(dtype, np.floating):
        return f"Float images ({dtype}) are rejected. {_FLOAT_HINT}"
    if dtype == np.uint16:
        return (
            "16-bit images (uint16) are rejected: samkit does not guess how to map them to 8 "
            "bits. Rescale to uint8 yourself, e.g. (image // 257).astype(np.uint8) for full-range "
            "16-bit data."
        )
    if dtype == np.bool_:
        return "Boolean arrays are masks, not images: pass an HxWx3 uint8 RGB image."
    return f"Images must be uint8 (HxWx3 RGB), got dtype {dtype}."


def _is_pil(image: Any) -> bool:
    return type(image).__module__.startswith("PIL.")


def _pil_to_array(image: Any) -> np.ndarray:
    mode = image.mode
    if mode == "RGB":
        return np.asarray(image)
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        raise ImageError(
            f"PIL image in mode {mode!r} ({'float' if mode == 'F' else '16/32-bit'}) is rejected: "
            "samkit does not guess how to map it to 8 bits. Convert it to an 8-bit RGB image first."
        )
    if mode == "1":
        raise ImageError("PIL image in mode '1' (1-bit) is a mask, not an image: pass an RGB image.")
    warnings.warn(
        f"PIL image in mode {mode!r} converted to RGB by PIL" + (" (alpha dropped)." if "A" in mode else "."),
        ImageConversionWarning,
        stacklevel=4,
    )
    return np.asarray(image.convert("RGB"))

"""Bytes in and out of the service: uploaded files -> RGB images, masks -> COCO RLE or PNG."""

from __future__ import annotations

import base64
import hashlib
import io
import warnings
from typing import Any

import numpy as np

from samkit.errors import ImageError
from samkit.masks import decode_png, decode_rle, encode_png, encode_rle

__all__ = [
    "image_id_of",
    "decode_image",
    "ImageTooLargeError",
    "mask_to_rle",
    "rle_to_mask",
    "mask_to_png",
    "png_to_mask",
    "MAX_PIXELS",
]

MAX_PIXELS = 50_000_000
"""Largest decoded image (pixels) the service accepts; larger is refused as too large (413)."""


class ImageTooLargeError(ImageError):
    """An upload whose decoded image has more pixels than the service accepts."""


def image_id_of(data: bytes) -> str:
    """The image id of an uploaded file: the SHA-256 (hex) of its bytes (``sha256sum FILE``)."""
    return hashlib.sha256(data).hexdigest()


def decode_image(data: bytes, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """An uploaded image file (PNG, JPEG, WebP, TIFF, ... anything PIL reads) as HxWx3 uint8 RGB.

    Raises `ImageError` when the bytes are not an image PIL can decode or the image cannot be
    used as RGB (16-bit, float, 1-bit), and `ImageTooLargeError` above ``max_pixels`` pixels.
    """
    from PIL import Image, UnidentifiedImageError

    from samkit.images import to_rgb_uint8

    if not data:
        raise ImageError("The upload is empty: send an image file (PNG, JPEG, ...).")
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > max_pixels:
                raise ImageTooLargeError(
                    f"The image is {img.width}x{img.height} (WxH), more than the {max_pixels} "
                    "pixels this server accepts."
                )
            img.load()
            with warnings.catch_warnings():  # mode conversions (L, RGBA, P) are expected uploads
                warnings.simplefilter("ignore")
                return to_rgb_uint8(img)
    except Image.DecompressionBombError as err:
        raise ImageTooLargeError(f"The image is too large to decode: {err}") from None
    except (UnidentifiedImageError, ImportError):
        # ImportError: ultralytics, once imported, patches Image.open to load a HEIF plugin
        # (pi_heif) when PIL cannot identify the bytes; without that plugin they are still no image
        raise ImageError(
            f"The upload ({len(data)} bytes) is not an image PIL can read; send a PNG, JPEG, WebP or TIFF file."
        ) from None
    except (OSError, SyntaxError, ValueError) as err:
        if isinstance(err, ImageError):
            raise
        raise ImageError(f"The upload could not be decoded as an image: {err}") from None


def mask_to_rle(mask: np.ndarray) -> dict[str, Any]:
    """HxW bool mask -> COCO RLE ``{"size": [H, W], "counts": str}`` (`samkit.masks.encode_rle`)."""
    return encode_rle(mask)


def rle_to_mask(rle: dict[str, Any]) -> np.ndarray:
    """COCO RLE (as `mask_to_rle` gives it) -> HxW bool mask (`samkit.masks.decode_rle`)."""
    return decode_rle(rle)


def mask_to_png(mask: np.ndarray) -> str:
    """HxW bool mask -> base64 of a 1-bit PNG (white = mask)."""
    return base64.b64encode(encode_png(mask)).decode("ascii")


def png_to_mask(data: str) -> np.ndarray:
    """base64 PNG (as `mask_to_png` gives it) -> HxW bool mask."""
    return decode_png(base64.b64decode(data))
